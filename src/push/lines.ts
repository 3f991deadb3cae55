/** The lines the push listener writes to its log, as the triggerer reads them. */
import { StringDecoder } from 'node:string_decoder';

/** One state change the listener reported (or its own start, `LISTENER_STARTED`). */
export interface PushedChange {
  /** `PROCESS_STATE_EXITED`, …, or `LISTENER_STARTED`. */
  event: string;
  /** The process and its group (absent for `LISTENER_STARTED`). */
  process?: string;
  group?: string;
  /** The state it left. */
  from?: string;
  /** supervisord's event serial and the listener pool's: a gap in `poolserial` is a lost event. */
  serial?: number;
  poolserial?: number;
  /** When the listener wrote the line (unix ms, the host's clock). */
  at?: number;
}

/** Longest line read; a longer one is not the listener's. */
export const MAX_LINE_CHARS = 4096;

/**
 * The change a listener line reports, or undefined for anything else: its wake lines (`.`), the
 * note supervisord writes when the log was truncated, a line cut by a rotation.
 */
export function parseListenerLine(line: string): PushedChange | undefined {
  if (line.length > MAX_LINE_CHARS || !line.startsWith('{')) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (value === null || typeof value !== 'object') return undefined;
  const fields = value as Record<string, unknown>;
  if (fields.v !== 1 || typeof fields.event !== 'string') return undefined;
  const change: PushedChange = { event: fields.event };
  for (const key of ['process', 'group', 'from'] as const) {
    if (typeof fields[key] === 'string') change[key] = fields[key];
  }
  for (const key of ['serial', 'poolserial', 'at'] as const) {
    if (typeof fields[key] === 'number') change[key] = fields[key];
  }
  return change;
}

/** Splits a byte stream into lines: feed it chunks, it calls `onLine` for each complete line. */
export function lineSplitter(onLine: (line: string) => void): (chunk: Buffer) => void {
  let rest = '';
  // A character split between two chunks is decoded whole.
  const decoder = new StringDecoder('utf8');
  return (chunk) => {
    rest += decoder.write(chunk);
    let at;
    while ((at = rest.indexOf('\n')) >= 0) {
      onLine(rest.slice(0, at));
      rest = rest.slice(at + 1);
    }
    // A line longer than any the listener writes is dropped rather than kept growing.
    if (rest.length > MAX_LINE_CHARS) rest = '';
  };
}
