/** `check`: one snapshot of every program, judged by a predicate. */
import { isDone, isOk, isRunning, qualifiedName, type ProcessInfo } from '../states.js';
import { contextOf, jobPidfile, withClient, type LifecycleOptions } from './context.js';
import { SupervisordNotRunning } from './errors.js';
import { exitCodesOf, type LifecycleJob } from './job.js';

/** What the snapshot must show: every program ok (default), running, or done. */
export type CheckMode = 'ok' | 'running' | 'done';

/** One program in a check, in the shape the CLI prints. */
export interface ProgramRow {
  /** `group:name`. */
  name: string;
  state: string;
  /** 0 when not running. */
  pid: number;
  /** Seconds since it started while it runs, else null. */
  uptime: number | null;
  /** The last exit status once it has exited, else null. */
  exitstatus: number | null;
  spawnerr: string;
  /** Whether this program passes the check's predicate. */
  pass: boolean;
}

export interface CheckResult {
  mode: CheckMode;
  /** Every program passes (an empty supervisord passes). */
  ok: boolean;
  programs: ProgramRow[];
}

/** Options of `check`. */
export interface CheckOptions extends LifecycleOptions {
  /** @default 'ok' */
  mode?: CheckMode;
}

/** Takes one getAllProcessInfo snapshot and judges each program by `mode`. */
export async function check(job: LifecycleJob, options: CheckOptions = {}): Promise<CheckResult> {
  const ctx = contextOf(options, job);
  const mode = options.mode ?? 'ok';
  if ((await jobPidfile(ctx, job)).kind !== 'running') {
    throw new SupervisordNotRunning(`supervisord of ${job.configPath} is not running: nothing to check`);
  }
  const infos = await withClient(ctx, job, (client) => client.getAllProcessInfo());
  const programs = infos.map((info) =>
    toRow(info, passes(mode, info, exitCodesOf(job, info.group, info.name))),
  );
  return { mode, ok: programs.every((row) => row.pass), programs };
}

function passes(mode: CheckMode, info: ProcessInfo, exitCodes: readonly number[]): boolean {
  if (mode === 'running') return isRunning(info);
  if (mode === 'done') return isDone(info, exitCodes);
  return isOk(info, exitCodes);
}

function toRow(info: ProcessInfo, pass: boolean): ProgramRow {
  const running = info.pid !== 0 && info.start > 0;
  const exited = info.statename === 'EXITED' || (info.stop > 0 && !running);
  return {
    name: qualifiedName(info),
    state: info.statename,
    pid: info.pid,
    uptime: running ? Math.max(0, info.now - info.start) : null,
    exitstatus: exited ? info.exitstatus : null,
    spawnerr: info.spawnerr,
    pass,
  };
}

/** The rows as an aligned text table. */
export function formatCheckTable(result: CheckResult): string {
  const header = ['NAME', 'STATE', 'PID', 'UPTIME', 'EXIT', 'CHECK'];
  const rows = result.programs.map((p) => [
    p.name,
    p.state,
    p.pid === 0 ? '-' : String(p.pid),
    p.uptime === null ? '-' : formatUptime(p.uptime),
    p.exitstatus === null ? '-' : String(p.exitstatus),
    (p.pass ? 'pass' : 'FAIL') + (p.spawnerr ? ` (${p.spawnerr})` : ''),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  const verdict = `${result.ok ? 'ok' : 'failed'}: ${result.programs.filter((p) => p.pass).length}/${result.programs.length} programs ${result.mode}`;
  return [line(header), ...rows.map(line), verdict].join('\n') + '\n';
}

/** `1d 02:03:04` / `02:03:04`, like supervisorctl. */
export function formatUptime(seconds: number): string {
  const days = Math.floor(seconds / 86_400);
  const rest = seconds % 86_400;
  const hms = [Math.floor(rest / 3600), Math.floor((rest % 3600) / 60), rest % 60]
    .map((n) => String(n).padStart(2, '0'))
    .join(':');
  return days > 0 ? `${days}d ${hms}` : hms;
}
