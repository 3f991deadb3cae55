/**
 * What a trigger left, as text for people: its own log lines, and the program logs its event carries
 * (a header per log, its lines indented under it). `status ID --logs` prints it, the status page shows
 * it, and an always-on run notes the program logs when its watch ends.
 */
import type { EventLogTail, ProgramLogs } from '../protocol/index.js';
import type { TriggerLogLine, TriggerLogs } from './trigger-log.js';

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

const LEVELS: Record<number, string> = {
  10: 'TRACE',
  20: 'DEBUG',
  30: 'INFO',
  40: 'WARN',
  50: 'ERROR',
  60: 'FATAL',
};
/** Fields every line has, shown in its own columns rather than among the rest. */
const OWN_FIELDS = new Set([
  'time',
  'level',
  'msg',
  'pid',
  'hostname',
  'name',
  'triggerId',
  'classpath',
  'endpoint',
]);

/** The trigger's log lines, then its event's program logs; `(none)` where there are none. */
export function triggerLogsText(triggerId: string, logs: TriggerLogs): string {
  const out = [`trigger ${triggerId}: its log (${logs.lines.length} lines)`];
  out.push(...(logs.lines.length === 0 ? ['  (none)'] : logs.lines.map((line) => `  ${logLineText(line)}`)));
  out.push('program logs of its event');
  const programs = Object.entries(logs.programs);
  if (programs.length === 0) out.push('  (none)');
  for (const [name, program] of programs) out.push(...programLogsText(name, program, '  '));
  return `${out.join('\n')}\n`;
}

/** One line: time, level, message, the other fields as JSON. */
export function logLineText(line: TriggerLogLine): string {
  const time = typeof line.time === 'number' ? new Date(line.time).toISOString() : '-';
  const level = typeof line.level === 'number' ? (LEVELS[line.level] ?? String(line.level)) : '-';
  const rest = Object.fromEntries(Object.entries(line).filter(([key]) => !OWN_FIELDS.has(key)));
  const extra = Object.keys(rest).length > 0 ? ` ${JSON.stringify(rest)}` : '';
  return `${time} ${level} ${typeof line.msg === 'string' ? line.msg : ''}${extra}`;
}
