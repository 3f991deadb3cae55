/**
 * `supervisor-triggerer supervisor <step> JOBFILE…`: drive a job's supervisord one step at a time, on
 * this machine or, for a job with a `host:` section, over SSH.
 */
import { parseArgs } from 'node:util';
import { hostOptions, loadJobFiles, resolveJob, type ResolvedJob } from '../config/index.js';
import { closeSshHosts, hostFor } from '../supervisor/host/index.js';
import {
  check,
  configure,
  forceKill,
  formatCheckTable,
  restartPrograms,
  start,
  startPrograms,
  stop,
  stopPrograms,
  unconfigure,
  type LifecycleOptions,
  type ProgramsResult,
  type StopResult,
} from '../supervisor/lifecycle/index.js';
import { qualifiedName } from '../supervisor/states.js';
import { EXIT_FAILED, EXIT_OK, UsageError, type CliIO } from './io.js';

const USAGE = `usage: supervisor-triggerer supervisor <step> JOBFILE... [--set key.path=value]...

steps:
  configure                    write supervisord.conf (0600), the working dir and the program dirs
  start                        start supervisord unless it runs; apply a changed config if it does
  start-programs [--restart]   start every program, wait until all are RUNNING; fail fast on FATAL
  check [--running|--done] [--json]
                               one snapshot; exit 0 when every program is ok (or running, or done)
  restart-programs             stop every program, then start-programs
  stop-programs                stop every program
  stop                         shut supervisord down (XML-RPC, then SIGTERM, then SIGKILL)
  unconfigure                  remove the config and the working dir (supervisord must be down)
  force-kill                   SIGKILL supervisord and its programs, remove the pidfile

A job with a host: section runs every step on that host over one SSH connection (docs/ssh.md).

environment: SUPERVISORD_BIN  the local supervisord executable (default: supervisord on PATH)
exit codes: 0 ok, 1 failed, 2 usage
`;

/** The flags each step accepts besides --set and --help. */
const STEP_FLAGS: Record<string, string[]> = {
  configure: [],
  start: [],
  'start-programs': ['restart'],
  check: ['running', 'done', 'json'],
  'restart-programs': [],
  'stop-programs': [],
  stop: [],
  unconfigure: [],
  'force-kill': [],
};

interface Invocation {
  step: string;
  files: string[];
  overrides: string[];
  flags: Set<string>;
}

function parse(args: string[]): Invocation | 'help' {
  const [step, ...rest] = args;
  if (step === undefined) throw new UsageError(`no step given\n${USAGE}`);
  if (step === '--help' || step === '-h' || step === 'help') return 'help';
  const allowed = STEP_FLAGS[step];
  if (allowed === undefined) throw new UsageError(`unknown step '${step}'\n${USAGE}`);
  let parsed;
  try {
    parsed = parseArgs({
      args: rest,
      allowPositionals: true,
      options: {
        help: { type: 'boolean', short: 'h' },
        set: { type: 'string', multiple: true },
        ...Object.fromEntries(allowed.map((flag) => [flag, { type: 'boolean' as const }])),
      },
    });
  } catch (error) {
    throw new UsageError(`${step}: ${(error as Error).message}`);
  }
  if (parsed.values.help) return 'help';
  const flags = new Set(allowed.filter((flag) => (parsed.values as Record<string, unknown>)[flag] === true));
  if (flags.has('running') && flags.has('done'))
    throw new UsageError('check: --running and --done exclude each other');
  if (parsed.positionals.length === 0) throw new UsageError(`${step}: give at least one job file`);
  return {
    step,
    files: parsed.positionals,
    overrides: (parsed.values.set as string[] | undefined) ?? [],
    flags,
  };
}

/** Runs one lifecycle step; prints what it did, notes to stderr, and exits by its outcome. */
export async function run(args: string[], io: CliIO): Promise<number> {
  const invocation = parse(args);
  if (invocation === 'help') {
    io.stdout(USAGE);
    return EXIT_OK;
  }
  const config = await loadJobFiles(invocation.files, { overrides: invocation.overrides, env: io.env });
  const host = hostFor({ host: config.host && hostOptions(config.host) }, io.env);
  try {
    const job = await resolveJob(config, { env: io.env, files: host });
    return await runStep(invocation, job, { env: io.env, host }, io);
  } finally {
    closeSshHosts();
  }
}

async function runStep(
  { step, flags }: Invocation,
  job: ResolvedJob,
  options: LifecycleOptions,
  io: CliIO,
): Promise<number> {
  const notes = (list: string[]) => list.forEach((note) => io.stderr(`${note}\n`));
  switch (step) {
    case 'configure': {
      const result = await configure(job, options);
      io.stdout(`configured ${result.configPath}${result.changed ? '' : ' (unchanged)'}\n`);
      return EXIT_OK;
    }
    case 'start': {
      const result = await start(job, options);
      notes(result.notes);
      const what =
        result.action === 'started'
          ? 'started'
          : result.action === 'applied'
            ? `applied the changed config (${describeChanges(result.changes)}) to the running`
            : 'already running:';
      io.stdout(`${what} supervisord (pid ${result.pid})\n`);
      return EXIT_OK;
    }
    case 'start-programs':
    case 'restart-programs': {
      const restart = step === 'restart-programs' || flags.has('restart');
      const result = restart ? await restartPrograms(job, options) : await startPrograms(job, options);
      return printPrograms(io, job, result, 'running');
    }
    case 'stop-programs':
      return printPrograms(io, job, await stopPrograms(job, options), 'stopped');
    case 'check': {
      const mode = flags.has('running') ? 'running' : flags.has('done') ? 'done' : 'ok';
      const result = await check(job, { ...options, mode });
      io.stdout(flags.has('json') ? `${JSON.stringify(result, null, 2)}\n` : formatCheckTable(result));
      return result.ok ? EXIT_OK : EXIT_FAILED;
    }
    case 'stop':
    case 'force-kill': {
      const result = step === 'stop' ? await stop(job, options) : await forceKill(job, options);
      notes(result.notes);
      io.stdout(describeStop(result));
      return EXIT_OK;
    }
    case 'unconfigure': {
      const result = await unconfigure(job, options);
      io.stdout(result.removed.length ? `removed ${result.removed.join(', ')}\n` : 'nothing to remove\n');
      return EXIT_OK;
    }
  }
  throw new UsageError(`unknown step '${step}'`);
}

function printPrograms(io: CliIO, job: ResolvedJob, result: ProgramsResult, done: string): number {
  for (const note of result.notes) io.stderr(`${note}\n`);
  const names = result.processes.map((info) => `${qualifiedName(info)} ${info.statename}`);
  io.stdout(names.length ? `${names.join('\n')}\n` : `no program ${done} in ${job.configPath}\n`);
  return EXIT_OK;
}

function describeChanges(
  changes: { added: string[]; changed: string[]; removed: string[] } | undefined,
): string {
  if (!changes) return 'no changes';
  const parts = (['added', 'changed', 'removed'] as const)
    .filter((kind) => changes[kind].length > 0)
    .map((kind) => `${kind} ${changes[kind].join(', ')}`);
  return parts.length ? parts.join('; ') : 'no program changes';
}

function describeStop(result: StopResult): string {
  switch (result.action) {
    case 'not-running':
      return 'supervisord is not running\n';
    case 'shutdown':
      return `supervisord (pid ${result.pid}) shut down\n`;
    case 'terminated':
      return `supervisord (pid ${result.pid}) terminated by SIGTERM\n`;
    case 'killed':
      return `supervisord (pid ${result.pid}) and its programs killed\n`;
  }
}
