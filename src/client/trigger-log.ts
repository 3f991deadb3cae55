/**
 * Reading back what a trigger left: its own log lines (the triggerer's lines for its id, kept in
 * Redis while it runs and for days after) and the program logs its event carries.
 */
import { Queue } from 'bullmq';
import {
  LOG_TAIL_LIMITS,
  programLogs,
  protocolKeys,
  TRIGGER_LOG_LIMITS,
  TRIGGERS_QUEUE,
  type EventLogTail,
  type ProgramLogs,
} from '../protocol/index.js';
import { RedisCall } from './connection.js';
import { TriggerNotFound } from './errors.js';
import { readJob } from './jobs.js';
import type { StatusOptions } from './status.js';
import { eventOfJob } from './wait.js';

/** One of the triggerer's log lines for the trigger, as it wrote it (pino's fields). */
export interface TriggerLogLine {
  /** Unix ms. */
  time?: number;
  /** pino's number: 20 debug, 30 info, 40 warn, 50 error. */
  level?: number;
  msg?: string;
  [field: string]: unknown;
}

/** What {@link readTriggerLogs} finds. */
export interface TriggerLogs {
  /** The trigger's own log lines, oldest first (the latest {@link TRIGGER_LOG_LIMITS}.maxLines). */
  lines: TriggerLogLine[];
  /** The program logs its event carries, per process (empty while it runs, or when it carries none). */
  programs: Record<string, ProgramLogs>;
}

/**
 * A trigger's own log lines and its event's program logs. Throws TriggerNotFound when Redis has
 * neither the trigger nor any line of it.
 */
export async function readTriggerLogs(triggerId: string, options: StatusOptions): Promise<TriggerLogs> {
  return RedisCall.run(options.connection, async (call) => {
    // The prefix as every SDK call resolves it ('{bull}' on a cluster, a hash tag checked).
    const prefix = call.prefix(options.prefix);
    const queue = call.own(new Queue(TRIGGERS_QUEUE, { connection: call.options, prefix }));
    const key = protocolKeys(prefix).triggerLog(triggerId);
    const [raw, state] = await Promise.all([
      call.redis().lrange(key, -TRIGGER_LOG_LIMITS.maxLines, -1),
      queue.getJobState(triggerId),
    ]);
    const job = state === 'unknown' ? undefined : await readJob(queue, triggerId);
    if (job === undefined && raw.length === 0) throw new TriggerNotFound(triggerId);
    const event = job && (state === 'completed' || state === 'failed') ? eventOfJob(job, state) : undefined;
    return { lines: raw.flatMap(parseLine), programs: event ? bounded(programLogs(event)) : {} };
  });
}

function parseLine(text: string): TriggerLogLine[] {
  try {
    const value: unknown = JSON.parse(text.slice(0, TRIGGER_LOG_LIMITS.maxLineChars));
    return value !== null && typeof value === 'object' && !Array.isArray(value)
      ? [value as TriggerLogLine]
      : [];
  } catch {
    return [];
  }
}

/** The logs with every text within the bound a triggerer keeps to (an event from elsewhere may not). */
function bounded(logs: Record<string, ProgramLogs>): Record<string, ProgramLogs> {
  const entries = Object.entries(logs).slice(0, LOG_TAIL_LIMITS.maxPrograms);
  return Object.fromEntries(
    entries.map(([name, { stdout, stderr }]) => [
      name,
      { ...(stdout && { stdout: boundedTail(stdout) }), ...(stderr && { stderr: boundedTail(stderr) }) },
    ]),
  );
}

function boundedTail(tail: EventLogTail): EventLogTail {
  const cut = (text: string) => text.slice(-LOG_TAIL_LIMITS.maxBytes);
  return {
    ...(tail.text !== undefined && { text: cut(tail.text) }),
    ...(tail.truncated !== undefined && { truncated: tail.truncated }),
    ...(tail.error !== undefined && { error: cut(tail.error) }),
  };
}
