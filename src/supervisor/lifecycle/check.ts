/**
 * `check`: one snapshot of the programs, each judged by a predicate. A program supervisord is still
 * starting (STARTING, or BACKOFF between retries) is neither passed nor failed but `starting`: the
 * next snapshot decides.
 */
import { isDone, isOk, isRunning, qualifiedName, type ProcessInfo } from '../states.js';
import { contextOf, jobPidfile, withClient } from './context.js';
import { SupervisordNotRunning } from './errors.js';
import { exitCodesOf, type LifecycleJob } from './job.js';
import type { ProgramsOptions } from './programs.js';
import { selectProcesses } from './select.js';

/** What the snapshot must show: every program ok (default), running, or done. */
export type CheckMode = 'ok' | 'running' | 'done';

/** How one program fares: passes the predicate, fails it, or is still starting. */
export type ProgramVerdict = 'pass' | 'fail' | 'starting';

/** The whole check: every program passes; some program fails; none fails but some is starting. */
export type CheckVerdict = 'ok' | 'failed' | 'starting';

/** One program in a check, in the shape the CLI prints. */
export interface ProgramRow {
  /** `group:name`. */
  name: string;
  state: string;
  /** 0 when not running. */
  pid: number;
  /** Seconds since it started while it runs, else null. */
  uptime: number | null;
  /** The exit status once it has EXITED, else null. */
  exitstatus: number | null;
  /** supervisord's reason of the last failure (`Bad exit code 3`, `Exited too quickly …`), else ''. */
  spawnerr: string;
  /** Whether supervisord has never started it (STOPPED since supervisord started). */
  neverStarted: boolean;
  verdict: ProgramVerdict;
  /** `verdict === 'pass'`. */
  pass: boolean;
}

export interface CheckResult {
  mode: CheckMode;
  verdict: CheckVerdict;
  /** Every program passes (an empty supervisord passes). */
  ok: boolean;
  programs: ProgramRow[];
}

/** Options of `check`. */
export interface CheckOptions extends ProgramsOptions {
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
  const programs = selectProcesses(infos, options.programs ?? []).map((info) =>
    toRow(info, judge(mode, info, exitCodesOf(job, info.group, info.name))),
  );
  const verdict: CheckVerdict = programs.some((row) => row.verdict === 'fail')
    ? 'failed'
    : programs.some((row) => row.verdict === 'starting')
      ? 'starting'
      : 'ok';
  return { mode, verdict, ok: verdict === 'ok', programs };
}

function judge(mode: CheckMode, info: ProcessInfo, exitCodes: readonly number[]): ProgramVerdict {
  if (info.statename === 'STARTING' || info.statename === 'BACKOFF') return 'starting';
  if (mode === 'running') return isRunning(info) ? 'pass' : 'fail';
  if (mode === 'done') return isDone(info, exitCodes) ? 'pass' : 'fail';
  return isOk(info, exitCodes) ? 'pass' : 'fail';
}

function toRow(info: ProcessInfo, verdict: ProgramVerdict): ProgramRow {
  const running = info.pid !== 0 && info.start > 0;
  return {
    name: qualifiedName(info),
    state: info.statename,
    pid: info.pid,
    uptime: running ? Math.max(0, info.now - info.start) : null,
    // supervisord reports 0 where it knows no status (BACKOFF, FATAL): only an exit has one
    exitstatus: info.statename === 'EXITED' ? info.exitstatus : null,
    spawnerr: info.spawnerr,
    neverStarted: info.statename === 'STOPPED' && info.start === 0,
    verdict,
    pass: verdict === 'pass',
  };
}

const VERDICT_TEXT: Record<ProgramVerdict, string> = { pass: 'pass', fail: 'FAIL', starting: 'starting' };

/** The rows as an aligned text table, then one line with the verdict and the counts. */
export function formatCheckTable(result: CheckResult): string {
  const header = ['NAME', 'STATE', 'PID', 'UPTIME', 'EXIT', 'CHECK', 'DETAIL'];
  const rows = result.programs.map((p) => [
    p.name,
    p.state,
    p.pid === 0 ? '-' : String(p.pid),
    p.uptime === null ? '-' : formatUptime(p.uptime),
    p.exitstatus === null ? '-' : String(p.exitstatus),
    VERDICT_TEXT[p.verdict],
    p.spawnerr || (p.neverStarted ? 'not started' : ''),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  const count = (verdict: ProgramVerdict) => result.programs.filter((p) => p.verdict === verdict).length;
  const others = [
    count('fail') > 0 ? `, ${count('fail')} failed` : '',
    count('starting') > 0 ? `, ${count('starting')} starting` : '',
  ].join('');
  const summary = `${result.verdict}: ${count('pass')}/${result.programs.length} programs ${result.mode}${others}`;
  return [line(header), ...rows.map(line), summary].join('\n') + '\n';
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
