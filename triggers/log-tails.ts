/**
 * The program logs a trigger's event carries (`payload.logs`, src/protocol/logs.ts): the tail of
 * each affected program's stdout and stderr, read when the event is built, bounded in lines and
 * bytes however large the log, with the credentials the redaction knows of replaced. A log that
 * cannot be read is said so in the event; it never fails the event.
 */
import {
  LOG_TAIL_LIMITS,
  type EventLogTail,
  type ProgramLogs,
  type TriggerOutcome,
} from '../src/protocol/index.js';
import type { SupervisorClient } from '../src/supervisor/client.js';
import { readBoundedTail } from '../src/supervisor/log-tail.js';
import { qualifiedName, type ProcessInfo } from '../src/supervisor/states.js';
import { redactText } from '../src/util/redact-text.js';

/** How much of each log: the `log_tail` kwarg. */
export type LogTailBounds = false | { lines: number; bytes: number };

/** `outcome` with the logs of `infos` in its payload (`logs`, and `logs_omitted` past the limit). */
export async function withProgramLogs(
  outcome: TriggerOutcome,
  client: SupervisorClient,
  infos: readonly ProcessInfo[],
  bounds: LogTailBounds,
): Promise<TriggerOutcome> {
  if (bounds === false || infos.length === 0) return outcome;
  const shown = infos.slice(0, LOG_TAIL_LIMITS.maxPrograms);
  const secrets = [client.endpoint.password];
  const entries = await Promise.all(
    shown.map(async (info): Promise<[string, ProgramLogs]> => {
      const logs: ProgramLogs = {};
      for (const channel of ['stdout', 'stderr'] as const) {
        // No log file (stderr redirected to stdout, or logging turned off): nothing to say.
        if ((channel === 'stdout' ? info.stdout_logfile : info.stderr_logfile) === '') continue;
        logs[channel] = await tailOf(client, qualifiedName(info), channel, bounds, secrets);
      }
      return [qualifiedName(info), logs];
    }),
  );
  const omitted = infos.length - shown.length;
  return {
    ...outcome,
    payload: {
      ...outcome.payload,
      logs: Object.fromEntries(entries),
      ...(omitted > 0 && { logs_omitted: omitted }),
    },
  };
}

async function tailOf(
  client: SupervisorClient,
  name: string,
  channel: 'stdout' | 'stderr',
  bounds: { lines: number; bytes: number },
  secrets: (string | undefined)[],
): Promise<EventLogTail> {
  try {
    const tail = await readBoundedTail(client, name, channel, bounds);
    // A redacted value may be longer than the secret it replaces: bound again after.
    const kept = lastBytes(redactText(tail.text, secrets), bounds.bytes);
    return { text: kept.text, ...((tail.truncated || kept.cut) && { truncated: true }) };
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    return { error: redactText(`could not read the ${channel} log: ${reason}`, secrets).slice(0, 500) };
  }
}

/** The last at most `bytes` bytes of `text` (UTF-8), whole characters only. */
export function lastBytes(text: string, bytes: number): { text: string; cut: boolean } {
  const encoded = Buffer.from(text, 'utf8');
  if (encoded.length <= bytes) return { text, cut: false };
  let start = encoded.length - bytes;
  // Skip continuation bytes (10xxxxxx): a character is never split.
  while (start < encoded.length && ((encoded[start] ?? 0) & 0xc0) === 0x80) start++;
  return { text: encoded.subarray(start).toString('utf8'), cut: true };
}
