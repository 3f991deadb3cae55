/**
 * `supervisor-triggerer supervisor <step> JOBFILE… [PROGRAM…]`: drive a job's supervisord one step at
 * a time, on this machine or, for a job with a `host:` section, over SSH.
 */
import { parseArgs } from 'node:util';
import { hostOptions, loadJobFiles, resolveJob, type ResolvedJob } from '../config/index.js';
import { closeSshHosts, hostFor } from '../supervisor/host/index.js';
import { didYouMean } from '../config/suggest.js';
import {
  AmbiguousProgram,
  check,
  configure,
  followProgramLog,
  forceKill,
  formatCheckTable,
  restartPrograms,
  start,
  startPrograms,
  stop,
  stopPrograms,
  tailProgramLog,
  unconfigure,
  UnknownProgram,
  type CheckVerdict,
  type LifecycleOptions,
  type ProgramsResult,
  type StartProgress,
  type StopResult,
} from '../supervisor/lifecycle/index.js';
import { qualifiedName } from '../supervisor/states.js';
import { EXIT_FAILED, EXIT_OK, UsageError, type CliIO } from './io.js';

/** Exit code of `check` when no program failed but some is still starting. */
export const EXIT_STARTING = 3;

const EXIT_BY_VERDICT: Record<CheckVerdict, number> = {
  ok: EXIT_OK,
  failed: EXIT_FAILED,
  starting: EXIT_STARTING,
};

type Flag = { type: 'boolean' | 'string'; short?: string };

/** One step: how it is called, what it does, its flags besides --set and --help, what its programs are. */
interface Step {
  args: string;
  /** One line for the list of steps. */
  summary: string;
  /** The step's own --help, when it says more than the summary. */
  about?: string;
  flags: Record<string, Flag>;
  programs: 'none' | 'any' | 'one';
}

const STEPS: Record<string, Step> = {
  configure: {
    args: 'JOBFILE...',
    summary: 'write supervisord.conf (0600), the working dir, the program dirs',
    flags: {},
    programs: 'none',
  },
  start: {
    args: 'JOBFILE...',
    summary: 'start supervisord unless it runs; apply a changed config',
    flags: {},
    programs: 'none',
  },
  'start-programs': {
    args: 'JOBFILE... [PROGRAM...] [--restart]',
    summary: 'start programs, wait until each runs or is done',
    about:
      'start the programs (all, or the ones named) and wait until each is RUNNING or has exited with an\n' +
      'accepted code; exit 1 naming every program that failed (refused, FATAL, unexpected exit code).\n' +
      '--restart stops them first. On a terminal, prints each state change while it waits.',
    flags: { restart: { type: 'boolean' } },
    programs: 'any',
  },
  check: {
    args: 'JOBFILE... [PROGRAM...] [--running|--done] [--json]',
    summary: 'one snapshot; exit 0 ok, 1 failed, 3 still starting',
    about:
      'one snapshot, as a table or JSON. Each program passes, FAILs or is starting (STARTING, or\n' +
      'BACKOFF while supervisord retries). By default a program passes when ok (RUNNING, STOPPING,\n' +
      'STOPPED, or EXITED with an accepted code); --running: RUNNING or STOPPING; --done: STOPPED or\n' +
      'EXITED with an accepted code. Exit 0 all pass, 1 some program fails, 3 none fails but some\n' +
      'is still starting (check again).',
    flags: { running: { type: 'boolean' }, done: { type: 'boolean' }, json: { type: 'boolean' } },
    programs: 'any',
  },
  'restart-programs': {
    args: 'JOBFILE... [PROGRAM...]',
    summary: 'stop programs, then start-programs',
    flags: {},
    programs: 'any',
  },
  'stop-programs': {
    args: 'JOBFILE... [PROGRAM...]',
    summary: 'stop programs and wait until they are stopped',
    flags: {},
    programs: 'any',
  },
  tail: {
    args: 'JOBFILE... PROGRAM [-f] [--stderr] [-n LINES]',
    summary: "print the end of a program's log; -f follows it",
    about:
      "print the last LINES lines (default 10) of the program's stdout log (--stderr: its stderr\n" +
      'log); -f then prints what it writes until Ctrl-C.',
    flags: {
      follow: { type: 'boolean', short: 'f' },
      stderr: { type: 'boolean' },
      lines: { type: 'string', short: 'n' },
    },
    programs: 'one',
  },
  stop: {
    args: 'JOBFILE...',
    summary: 'shut supervisord down (XML-RPC, SIGTERM, SIGKILL)',
    flags: {},
    programs: 'none',
  },
  unconfigure: {
    args: 'JOBFILE...',
    summary: 'remove the config and the working dir',
    flags: {},
    programs: 'none',
  },
  'force-kill': {
    args: 'JOBFILE...',
    summary: 'SIGKILL supervisord and its programs, remove the pidfile',
    flags: {},
    programs: 'none',
  },
};

const FOOTER = `
Job files are the first argument and every later one ending in .yaml, .yml or .json; they are layered,
later ones win (--set key.path=value overrides come last). Other arguments, and every argument after
--, name programs: name, group:name or group:*.
A job with a host: section runs every step on that host over one SSH connection (docs/ssh.md).

environment: SUPERVISORD_BIN  the local supervisord executable (default: supervisord on PATH)
`;

function overview(): string {
  const calls = Object.entries(STEPS).map(([name, step]) =>
    `${name} ${step.args.replace(/^JOBFILE\.\.\. ?/, '')}`.trimEnd(),
  );
  const width = Math.max(...calls.map((call) => call.length));
  const lines = Object.values(STEPS).map((step, i) => {
    const call = calls[i]!;
    return call.length > 30
      ? `  ${call}\n  ${''.padEnd(32)}${step.summary}`
      : `  ${call.padEnd(Math.min(width, 30))}  ${step.summary}`;
  });
  return `usage: supervisor-triggerer supervisor <step> JOBFILE... [PROGRAM...] [--set key.path=value]...

steps:
${lines.join('\n')}

Run 'supervisor-triggerer supervisor <step> --help' for a step's details.
exit codes: 0 ok, 1 failed, 2 usage; check: 3 still starting
${FOOTER}`;
}

const USAGE = overview();

function stepUsage(name: string, step: Step): string {
  const usage = `usage: supervisor-triggerer supervisor ${name} ${step.args} [--set key.path=value]...`;
  return `${usage}\n\n${step.about ?? step.summary}\n${FOOTER}`;
}

/** A positional that names a job file rather than a program. */
const JOB_FILE = /\.(ya?ml|json)$/i;

interface Invocation {
  step: string;
  files: string[];
  programs: string[];
  overrides: string[];
  values: Record<string, string | boolean | string[] | undefined>;
}

function parse(args: string[]): Invocation | { help: string } {
  const [name, ...rest] = args;
  if (name === undefined) throw new UsageError(`no step given\n${USAGE}`);
  if (name === '--help' || name === '-h' || name === 'help') return { help: USAGE };
  const step = STEPS[name];
  if (step === undefined) {
    throw new UsageError(`unknown step '${name}'${didYouMean(name, Object.keys(STEPS))}\n${USAGE}`);
  }
  let parsed;
  try {
    parsed = parseArgs({
      args: rest,
      allowPositionals: true,
      tokens: true,
      options: {
        help: { type: 'boolean', short: 'h' },
        set: { type: 'string', multiple: true },
        ...step.flags,
      },
    });
  } catch (error) {
    throw new UsageError(`${name}: ${(error as Error).message}`);
  }
  const values = parsed.values as Invocation['values'];
  if (values.help) return { help: stepUsage(name, step) };
  const files: string[] = [];
  const programs: string[] = [];
  let afterTerminator = false;
  for (const token of parsed.tokens) {
    if (token.kind === 'option-terminator') afterTerminator = true;
    if (token.kind !== 'positional') continue;
    const isFile =
      !afterTerminator && (files.length === 0 || step.programs === 'none' || JOB_FILE.test(token.value));
    (isFile ? files : programs).push(token.value);
  }
  if (files.length === 0) throw new UsageError(`${name}: give at least one job file`);
  if (step.programs === 'none' && programs.length > 0) {
    throw new UsageError(`${name} takes no program names (got '${programs[0] ?? ''}')`);
  }
  if (step.programs === 'one' && programs.length !== 1) {
    throw new UsageError(`${name}: name exactly one program (got ${programs.length})`);
  }
  if (values.running && values.done) throw new UsageError('check: --running and --done exclude each other');
  return { step: name, files, programs, overrides: (values.set as string[] | undefined) ?? [], values };
}

/** Runs one lifecycle step; prints what it did, notes to stderr, and exits by its outcome. */
export async function run(args: string[], io: CliIO): Promise<number> {
  const invocation = parse(args);
  if ('help' in invocation) {
    io.stdout(invocation.help);
    return EXIT_OK;
  }
  const { step, files, overrides, programs, values } = invocation;
  const lines = values.lines === undefined ? undefined : lineCount(values.lines as string);
  const config = await loadJobFiles(files, { overrides, env: io.env });
  const host = hostFor({ host: config.host && hostOptions(config.host) }, io.env);
  try {
    const job = await resolveJob(config, { env: io.env, files: host });
    return await runStep(step, job, programs, values, lines, { env: io.env, host }, io);
  } catch (error) {
    // a program name that does not fit the supervisord's programs is a usage problem, like a bad flag
    if (error instanceof UnknownProgram || error instanceof AmbiguousProgram)
      throw new UsageError(error.message);
    throw error;
  } finally {
    closeSshHosts();
  }
}

async function runStep(
  step: string,
  job: ResolvedJob,
  programs: string[],
  values: Invocation['values'],
  lines: number | undefined,
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
      const restart = step === 'restart-programs' || values.restart === true;
      const onProgress = io.stderrIsTTY
        ? (progress: StartProgress) => io.stderr(formatProgress(progress))
        : undefined;
      const result = await (restart ? restartPrograms : startPrograms)(job, {
        ...options,
        programs,
        onProgress,
      });
      return printPrograms(io, job, result, 'running');
    }
    case 'stop-programs':
      return printPrograms(io, job, await stopPrograms(job, { ...options, programs }), 'stopped');
    case 'check': {
      const mode = values.running ? 'running' : values.done ? 'done' : 'ok';
      const result = await check(job, { ...options, mode, programs });
      io.stdout(values.json ? `${JSON.stringify(result, null, 2)}\n` : formatCheckTable(result));
      return EXIT_BY_VERDICT[result.verdict];
    }
    case 'tail': {
      const channel = values.stderr ? 'stderr' : 'stdout';
      const program = programs[0]!;
      const end = await tailProgramLog(job, program, { ...options, channel, lines });
      io.stdout(end.text);
      if (values.follow) await follow(job, program, channel, end.offset, io);
      return EXIT_OK;
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

/** `tail -f`: prints what the log gains until SIGINT (Ctrl-C) or SIGTERM. */
async function follow(
  job: ResolvedJob,
  program: string,
  channel: 'stdout' | 'stderr',
  offset: number,
  io: CliIO,
): Promise<void> {
  const stopped = new AbortController();
  const stop = () => stopped.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    await followProgramLog(job, program, {
      env: io.env,
      channel,
      offset,
      onText: io.stdout,
      onNote: (note) => io.stderr(`${note}\n`),
      signal: stopped.signal,
    });
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }
}

function lineCount(text: string): number {
  const count = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(count)) {
    throw new UsageError(`tail: -n expects a number of lines, got '${text}'`);
  }
  return count;
}

/** The lines `start-programs` prints on a terminal after a look in which programs changed state. */
export function formatProgress(progress: StartProgress): string {
  const lines = progress.changes.map((change) => `${change.name}: ${change.from} -> ${change.to}`);
  const count = progress.waiting.length;
  if (count > 0) {
    lines.push(`waiting for ${count} program${count === 1 ? '' : 's'}: ${progress.waiting.join(', ')}`);
  }
  return `${lines.join('\n')}\n`;
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
