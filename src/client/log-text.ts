/**
 * The program logs an event carries, as text for people: a header per log, its lines indented under
 * it (what `status ID --logs` prints, and what an always-on run notes when its watch ends).
 */
import type { EventLogTail, ProgramLogs } from '../protocol/index.js';

/** A program's two logs, each as a header and its lines indented under it. */
export function programLogsText(name: string, logs: ProgramLogs, indent = ''): string[] {
  const out: string[] = [];
  for (const channel of ['stdout', 'stderr'] as const) {
    const tail: EventLogTail | undefined = logs[channel];
    if (tail === undefined) continue;
    if (tail.error !== undefined) {
      out.push(`${indent}${name} ${channel}: ${tail.error}`);
      continue;
    }
    const text = tail.text ?? '';
    out.push(
      `${indent}${name} ${channel}${tail.truncated ? ' (earlier lines left out)' : ''}${text === '' ? ': (empty)' : ''}`,
    );
    if (text !== '')
      out.push(
        ...text
          .replace(/\n$/, '')
          .split('\n')
          .map((l) => `${indent}  | ${l}`),
      );
  }
  return out;
}
