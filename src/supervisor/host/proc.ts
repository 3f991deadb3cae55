/** Reading Linux's /proc, the same way on every host. */

/** The fields of /proc/PID/stat the hosts use. */
export interface ProcStat {
  pid: number;
  /** R, S, D, Z (zombie), X (dead), ... */
  state: string;
  ppid: number;
  pgid: number;
}

/**
 * Parses one /proc/PID/stat line; the command name may contain spaces and parentheses, so the
 * fields are split after the last `)`. Undefined for text that is not such a line.
 */
export function parseProcStat(text: string): ProcStat | undefined {
  const close = text.lastIndexOf(')');
  const pid = Number(text.slice(0, text.indexOf(' ')));
  if (close === -1 || !Number.isSafeInteger(pid)) return undefined;
  const [state, ppid, pgid] = text.slice(close + 2).split(' ');
  if (state === undefined || ppid === undefined || pgid === undefined) return undefined;
  return { pid, state, ppid: Number(ppid), pgid: Number(pgid) };
}

/** Whether a process in `state` is gone for our purposes (a zombie may never be reaped here). */
export function isGone(state: string): boolean {
  return state === 'Z' || state === 'X';
}

/** /proc/PID/cmdline (NUL-separated) as one line. */
export function commandLine(cmdline: string): string {
  return cmdline.split('\0').join(' ').trim();
}
