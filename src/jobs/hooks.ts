/**
 * Hooks: the user's own action at any point of a run. A job file names a shell command per point
 * (`hooks: { before_start_programs: "...", on_unhealthy: "..." }`), run on the worker with the run's
 * context in `ST_*` environment variables; a TypeScript module named in the worker's config exports
 * functions for the same points, typed by {@link JobHookMap} (Graphile Worker's event map is the
 * model). Both are bounded by the job's `hook_timeout`.
 */
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { within } from '../util/within.js';
import { InvalidHookModule } from './errors.js';
import { HOOK_POINTS, type HookPoint, type Step } from './points.js';
import type { LastEvent, Outcome } from './run-data.js';

/** One program as a hook sees it. */
export interface HookProgram {
  /** `group:name`. */
  name: string;
  state: string;
  /** 0 when not running. */
  pid: number;
  exitstatus: number;
}

/** What every hook receives. */
export interface HookContext {
  point: HookPoint;
  job: string;
  runId: string;
  cycle: number;
  step: Step;
  retriggers: number;
  /** ISO 8601. */
  referenceTime: string;
  workingDir: string;
  /** The programs as supervisord reports them now (empty while it is down). */
  programs: HookProgram[];
  /** How the last watch ended. */
  event?: LastEvent;
}

/** `on_unhealthy` also gets the programs that made the watch fire. */
export interface UnhealthyContext extends HookContext {
  /** `group:name` of each unhealthy program. */
  bad: string[];
  message: string;
}

/** `on_end` also gets how the run ended. */
export interface EndContext extends HookContext {
  outcome: Outcome;
}

/** Every hook point and the context its hook receives. */
export type JobHookMap = { [P in HookPoint]: HookContext } & {
  on_unhealthy: UnhealthyContext;
  on_end: EndContext;
};

/** TypeScript hooks: a function per point; resolving counts as exit 0, throwing as failure. */
export type JobHooks = { [P in HookPoint]?: (context: JobHookMap[P]) => unknown };

/** What running the hooks of one point came to. */
export interface HookResult {
  /** Every hook of the point succeeded (true when there was none). */
  ok: boolean;
  /** Whether any hook ran. */
  ran: boolean;
  /** One line per hook: how it ended, and the tail of its output. */
  summary: string;
}

/** Characters of a shell hook's output kept. */
const OUTPUT_KEPT = 2000;
/** Grace between the timeout's SIGTERM and its SIGKILL. */
const KILL_AFTER_S = 5;

/** Variables of the worker's environment every shell hook gets: what a shell needs, no secret. */
const SAFE_ENV = new Set(['PATH', 'HOME', 'USER', 'LOGNAME', 'LANG', 'TZ', 'TMPDIR', 'SHELL']);

/**
 * The part of the worker's environment a shell hook gets: the safe base (SAFE_ENV, LC_*), ST_*, and
 * the names the job passes through (`hook_env`). Never the rest: the worker's environment holds the
 * Redis URL with its password, SSH passphrases and other jobs' secrets, and a hook's output is kept.
 */
export function hookBaseEnvironment(
  env: NodeJS.ProcessEnv,
  passEnv: readonly string[],
): Record<string, string> {
  const pass = new Set(passEnv);
  return Object.fromEntries(
    Object.entries(env).filter(
      (entry): entry is [string, string] =>
        entry[1] !== undefined &&
        (SAFE_ENV.has(entry[0]) || /^(LC_|ST_)/.test(entry[0]) || pass.has(entry[0])),
    ),
  );
}

/** The `ST_*` variables of a hook's environment. */
export function hookEnvironment(context: HookContext): Record<string, string> {
  const env: Record<string, string> = {
    ST_HOOK: context.point,
    ST_JOB_NAME: context.job,
    ST_RUN_ID: context.runId,
    ST_CYCLE: String(context.cycle),
    ST_STEP: context.step,
    ST_RETRIGGERS: String(context.retriggers),
    ST_REFERENCE_TIME: context.referenceTime,
    ST_WORKING_DIR: context.workingDir,
    ST_PROGRAMS: JSON.stringify(context.programs),
  };
  if (context.event) env.ST_EVENT = JSON.stringify(context.event);
  const { bad, message } = context as Partial<UnhealthyContext>;
  if (bad) env.ST_BAD_PROGRAMS = JSON.stringify(bad);
  if (message !== undefined) env.ST_MESSAGE = message;
  const { outcome } = context as Partial<EndContext>;
  if (outcome) {
    env.ST_OUTCOME = outcome.status;
    env.ST_REASON = outcome.reason;
    env.ST_MESSAGE = outcome.message;
  }
  return env;
}

/** Options for {@link runHooks}. */
export interface RunHooksOptions {
  /** The job file's shell command for the point. */
  shell?: string;
  /** The worker's TypeScript hooks. */
  hooks?: JobHooks;
  timeoutMs: number;
  /** Where the shell hook runs. */
  cwd: string;
  /** The worker's environment, which the shell hook gets only part of (see hookBaseEnvironment). @default process.env */
  env?: NodeJS.ProcessEnv;
  /** Names of `env` passed through besides the safe base (the job's `hook_env`). @default [] */
  passEnv?: readonly string[];
  /** Called with the pid of a shell hook while it runs (the worker kills it on close). */
  onSpawn?: (pid: number, done: Promise<void>) => void;
}

/** Runs the point's shell hook, then its TypeScript hook; a failure of either fails the point. */
export async function runHooks<P extends HookPoint>(
  context: JobHookMap[P],
  options: RunHooksOptions,
): Promise<HookResult> {
  const lines: string[] = [];
  let ok = true;
  if (options.shell !== undefined) {
    const shell = await runShellHook(options.shell, hookEnvironment(context), options);
    ok &&= shell.ok;
    lines.push(`${context.point} (shell) ${shell.how}${shell.output ? `: ${shell.output}` : ''}`);
  }
  const fn = options.hooks?.[context.point] as ((context: JobHookMap[P]) => unknown) | undefined;
  if (fn) {
    const ts = await runFunctionHook(() => fn(context), options.timeoutMs);
    ok &&= ts.ok;
    lines.push(`${context.point} (module) ${ts.how}`);
  }
  return { ok, ran: lines.length > 0, summary: lines.join('\n') };
}

/** Runs `sh -c command` in its own process group under coreutils `timeout`, which bounds it even if the worker dies. */
function runShellHook(
  command: string,
  env: Record<string, string>,
  options: RunHooksOptions,
): Promise<{ ok: boolean; how: string; output: string }> {
  const seconds = Math.max(1, Math.ceil(options.timeoutMs / 1000));
  return new Promise((done) => {
    let output = '';
    const keep = (chunk: Buffer) => (output = (output + chunk.toString()).slice(-OUTPUT_KEPT));
    const child = spawn('timeout', ['-k', `${KILL_AFTER_S}s`, `${seconds}s`, 'sh', '-c', command], {
      cwd: options.cwd,
      env: { ...hookBaseEnvironment(options.env ?? process.env, options.passEnv ?? []), ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    const started = Date.now();
    // A backstop in case `timeout` itself hangs: the whole group goes.
    const backstop = setTimeout(
      () => child.pid !== undefined && killGroup(child.pid),
      (seconds + KILL_AFTER_S + 2) * 1000,
    );
    let finish: () => void = () => {};
    const closed = new Promise<void>((resolve) => (finish = resolve));
    if (child.pid !== undefined) options.onSpawn?.(child.pid, closed);
    child.once('error', (error) => {
      clearTimeout(backstop);
      finish();
      done({ ok: false, how: `could not run (${error.message})`, output: '' });
    });
    child.once('close', (code, signal) => {
      clearTimeout(backstop);
      finish();
      const tail = output.trim();
      if (code === 0) return done({ ok: true, how: 'exited 0', output: tail });
      const timedOut = (code === 124 || code === 137) && Date.now() - started >= seconds * 1000 - 100;
      const how = timedOut
        ? `timed out after ${seconds}s`
        : code === null
          ? `was killed (${signal})`
          : `exited ${code}`;
      done({ ok: false, how, output: tail });
    });
  });
}

/** SIGKILL a hook's process group. */
export function killGroup(pid: number): void {
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

async function runFunctionHook(
  call: () => unknown,
  timeoutMs: number,
): Promise<{ ok: boolean; how: string }> {
  let failure: { error: unknown } | undefined;
  const run = Promise.resolve()
    .then(call)
    .catch((error: unknown) => void (failure = { error }));
  if (!(await within(run, timeoutMs))) return { ok: false, how: `timed out after ${timeoutMs} ms` };
  if (failure === undefined) return { ok: true, how: 'returned' };
  const { error } = failure;
  return { ok: false, how: `threw: ${error instanceof Error ? error.message : String(error)}` };
}

/**
 * Loads a TypeScript/JavaScript hook module: its default export, or its named exports, keyed by hook
 * point. A key that is not a hook point, or a point that is not a function, is an error.
 */
export async function loadHookModule(path: string): Promise<JobHooks> {
  let mod: Record<string, unknown>;
  try {
    mod = (await import(pathToFileURL(resolve(path)).href)) as Record<string, unknown>;
  } catch (error) {
    throw new InvalidHookModule(
      `hook module ${path}: cannot load (${(error as Error).message.split('\n')[0]})`,
    );
  }
  const hooks = (mod.default && typeof mod.default === 'object' ? mod.default : mod) as Record<
    string,
    unknown
  >;
  const points = new Set<string>(HOOK_POINTS);
  for (const [key, value] of Object.entries(hooks)) {
    if (key === 'default') continue;
    if (!points.has(key)) {
      throw new InvalidHookModule(
        `hook module ${path}: '${key}' is not a hook point (${HOOK_POINTS.join(', ')})`,
      );
    }
    if (typeof value !== 'function') {
      throw new InvalidHookModule(`hook module ${path}: '${key}' is not a function`);
    }
  }
  return hooks as JobHooks;
}
