/**
 * `tail`: the last lines of one program's stdout or stderr log, and following it as it grows.
 *
 * supervisord's `tailProcess…Log(name, offset, length)` answers the last `length` bytes of the file
 * and its size (not the bytes after `offset`), so following keeps its own byte offset: the new bytes
 * are the last `size - offset` of the answer, a size below the offset means the log started over
 * (rotated or cleared) and is read again from its start, and more new bytes than one answer holds are
 * read exactly with `readProcess…Log`. supervisord decodes what it sends as UTF-8 and answers HTTP 500
 * when a read starts inside a character: such a read is retried up to three bytes shorter.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { LogTail, SupervisorClient } from '../client.js';
import { SupervisorServerError } from '../errors.js';
import { qualifiedName, type ProcessInfo } from '../states.js';
import { contextOf, jobPidfile, withClient, type LifecycleOptions } from './context.js';
import { AmbiguousProgram, NoProgramLog, SupervisordNotRunning } from './errors.js';
import type { LifecycleJob } from './job.js';
import { selectProcesses } from './select.js';

/** Which of a program's logs. */
export type LogChannel = 'stdout' | 'stderr';

/** Options of `tailProgramLog`. */
export interface TailOptions extends LifecycleOptions {
  /** @default 'stdout' */
  channel?: LogChannel;
  /** How many lines from the end. @default 10 */
  lines?: number;
}

/** The end of a log. */
export interface LogEnd {
  /** The process, `group:name`. */
  name: string;
  text: string;
  /** The log's size in bytes: where `followProgramLog` goes on from. */
  offset: number;
}

/** Options of `followProgramLog`. */
export interface FollowOptions extends LifecycleOptions {
  /** @default 'stdout' */
  channel?: LogChannel;
  /** Byte offset to go on from, e.g. a `tailProgramLog` result's `offset`. @default 0 */
  offset?: number;
  /** Receives each new piece of the log, as written. */
  onText: (text: string) => void;
  /** Receives a note when the log started over or bytes were skipped. @default none */
  onNote?: (note: string) => void;
  /** Ends the following (and the returned promise). */
  signal: AbortSignal;
}

/** The longest end read while looking for enough lines. */
const MAX_TAIL_BYTES = 1 << 20;
/** How much one look while following asks for; more new bytes are read exactly. */
const PROBE_BYTES = 4096;
/** The most new bytes read in one look; beyond that the middle is skipped, with a note. */
const MAX_READ_BYTES = 1 << 20;

/** The last `lines` lines of a program's log (`program`: `name` or `group:name`). */
export async function tailProgramLog(
  job: LifecycleJob,
  program: string,
  options: TailOptions = {},
): Promise<LogEnd> {
  const ctx = contextOf(options);
  const channel = options.channel ?? 'stdout';
  const lines = options.lines ?? 10;
  await requireRunning(ctx, job);
  return withClient(ctx, job, async (client) => {
    const name = await logOf(client, program, channel);
    for (let length = 64 * 1024; ; length *= 4) {
      const end = await tail(client, channel, name, 0, length);
      const found = lastLines(end.text, lines);
      if (found !== undefined || !end.overflow || length >= MAX_TAIL_BYTES) {
        return { name, text: found ?? end.text, offset: end.offset };
      }
    }
  });
}

/** Writes what a program's log gains to `onText` until `signal` aborts, looking every `pollIntervalMs`. */
export async function followProgramLog(
  job: LifecycleJob,
  program: string,
  options: FollowOptions,
): Promise<void> {
  const ctx = contextOf(options);
  const channel = options.channel ?? 'stdout';
  const { signal, onText, onNote = () => {} } = options;
  await requireRunning(ctx, job);
  await withClient(ctx, job, async (client) => {
    const name = await logOf(client, program, channel);
    let offset = options.offset ?? 0;
    while (!signal.aborted) {
      const end = await tail(client, channel, name, offset, PROBE_BYTES).catch((error: unknown) => {
        // a character still being written at the end: look again next time
        if (error instanceof SupervisorServerError) return undefined;
        throw error;
      });
      if (end !== undefined && end.offset < offset) {
        onNote(`${name}: the ${channel} log started over (rotated or cleared)`);
        offset = 0;
        continue;
      }
      if (end !== undefined && end.offset > offset) {
        const answer = Buffer.from(end.text, 'utf8');
        const fresh = end.offset - offset;
        if (fresh <= answer.length) {
          onText(answer.subarray(answer.length - fresh).toString('utf8'));
        } else {
          const gap = fresh - answer.length;
          if (gap <= MAX_READ_BYTES) onText(await read(client, channel, name, offset, gap));
          else onNote(`${name}: skipped ${gap} bytes of the ${channel} log written since the last look`);
          onText(end.text);
        }
        offset = end.offset;
      }
      await sleep(ctx.pollIntervalMs, undefined, { signal }).catch(() => {});
    }
  });
}

/**
 * The text after the `count`-th line break from the end (a final line break ends the last line), or
 * undefined when `text` holds fewer lines.
 */
export function lastLines(text: string, count: number): string | undefined {
  if (count <= 0) return '';
  let at = text.endsWith('\n') ? text.length - 1 : text.length;
  for (let found = 0; found < count; found++) {
    at = text.lastIndexOf('\n', at - 1);
    if (at === -1) return undefined;
  }
  return text.slice(at + 1);
}

/** The one process `program` names, which must have a log on `channel`. */
async function logOf(client: SupervisorClient, program: string, channel: LogChannel): Promise<string> {
  const found = selectProcesses(await client.getAllProcessInfo(), [program]);
  if (found.length > 1) throw new AmbiguousProgram(program, found.map(qualifiedName));
  const info = found[0] as ProcessInfo;
  if ((channel === 'stdout' ? info.stdout_logfile : info.stderr_logfile) === '') {
    throw new NoProgramLog(qualifiedName(info), channel);
  }
  return qualifiedName(info);
}

/** `tailProcess…Log`, up to three bytes shorter when the first byte falls inside a character. */
async function tail(
  client: SupervisorClient,
  channel: LogChannel,
  name: string,
  offset: number,
  length: number,
): Promise<LogTail> {
  for (let shorter = 0; ; shorter++) {
    try {
      return channel === 'stdout'
        ? await client.tailProcessStdoutLog(name, offset, length - shorter)
        : await client.tailProcessStderrLog(name, offset, length - shorter);
    } catch (error) {
      if (!(error instanceof SupervisorServerError) || shorter === 3) throw error;
    }
  }
}

function read(
  client: SupervisorClient,
  channel: LogChannel,
  name: string,
  offset: number,
  length: number,
): Promise<string> {
  return channel === 'stdout'
    ? client.readProcessStdoutLog(name, offset, length)
    : client.readProcessStderrLog(name, offset, length);
}

async function requireRunning(ctx: ReturnType<typeof contextOf>, job: LifecycleJob): Promise<void> {
  if ((await jobPidfile(ctx, job)).kind !== 'running') {
    throw new SupervisordNotRunning(`supervisord of ${job.configPath} is not running: no log to read`);
  }
}
