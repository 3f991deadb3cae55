/**
 * The bounded end of a process's log, read for an event: at most `lines` lines and `bytes` bytes
 * however large the log, read with one `tailProcess…Log` call (supervisord reads only the end of the
 * file). supervisord answers HTTP 500 when the first byte falls inside a UTF-8 character: the read
 * is retried up to three bytes shorter.
 */
import type { SupervisorClient } from './client.js';
import { SupervisorServerError } from './errors.js';

/** The end of a log. */
export interface BoundedTail {
  text: string;
  /** Earlier bytes of the log were left out. */
  truncated: boolean;
}

/** The last `lines` lines, at most `bytes` bytes, of `name`'s `channel` log. */
export async function readBoundedTail(
  client: SupervisorClient,
  name: string,
  channel: 'stdout' | 'stderr',
  { lines, bytes }: { lines: number; bytes: number },
): Promise<BoundedTail> {
  for (let shorter = 0; ; shorter++) {
    const length = Math.max(1, bytes - shorter);
    try {
      const end =
        channel === 'stdout'
          ? await client.tailProcessStdoutLog(name, 0, length)
          : await client.tailProcessStderrLog(name, 0, length);
      return lastLinesOf(end.text, lines, end.overflow);
    } catch (error) {
      if (!(error instanceof SupervisorServerError) || shorter === 3) throw error;
    }
  }
}

/**
 * The last `count` lines of `text` (a final line break ends the last line); `truncated` when lines
 * were left out, or `cut` says the text itself began inside the log (its first line is then partial
 * and left out, unless it is the only one).
 */
export function lastLinesOf(text: string, count: number, cut: boolean): BoundedTail {
  const body = text.endsWith('\n') ? text.slice(0, -1) : text;
  const all = body === '' ? [] : body.split('\n');
  const whole = cut && all.length > 1 ? all.slice(1) : all;
  const kept = whole.slice(Math.max(0, whole.length - count));
  return {
    text: kept.length === 0 ? '' : `${kept.join('\n')}${text.endsWith('\n') ? '\n' : ''}`,
    truncated: cut || kept.length < all.length,
  };
}
