/**
 * The job file: supervisord sections plus where the job lives and how it is watched. Only
 * `working_dir` and `program` are needed; the convenience layer (convenience.ts) fills the rest.
 */
import { z } from 'zod';
import { parseDuration } from './duration.js';
import { hostSection } from './host.js';
import { HOOK_POINTS, type HookPoint } from '../jobs/points.js';
import { inetHttpServerSection, supervisorSections, unixHttpServerSection } from './sections.js';
import { expected, inetPort, int, text } from './values.js';

/**
 * A duration as written in a job file: `30s`, `5m`, `1h30m`, `PT5M`, or a number of seconds; at most
 * `max` when given (`words` says it in the message).
 */
const duration = (max?: { ms: number; words: string }) =>
  z
    .union([z.number(), z.string()], { error: expected('expected a duration like 30s, 5m, 8h or PT5M') })
    .superRefine((value, ctx) => {
      let ms: number;
      try {
        ms = parseDuration(value);
      } catch (error) {
        ctx.addIssue({ code: 'custom', message: (error as Error).message });
        return;
      }
      if (max !== undefined && ms > max.ms)
        ctx.addIssue({ code: 'custom', message: `must be at most ${max.words}` });
    });

/** Longest `hook_timeout`: a timer past 2^31 ms would fire at once, and a hook is not a service. */
export const MAX_HOOK_TIMEOUT_MS = 86_400_000;

const bool = () => z.boolean({ error: expected('expected true or false') });

function validTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

/** `[inet_http_server]` in a job: `port` may be `auto` (a free loopback port is chosen). */
export const jobInetHttpServerSection = z.strictObject({
  ...inetHttpServerSection.shape,
  port: z.union([z.literal('auto'), inetPort()], {
    error: expected('expected auto, host:port or a port number'),
  }),
});

/** `[unix_http_server]` in a job: `file` defaults to `<working_dir>/supervisor.sock`. */
export const jobUnixHttpServerSection = z.strictObject({
  ...unixHttpServerSection.shape,
  file: text().optional(),
});

/** A job's name: it names its runs, Redis keys and step job ids, so it holds no `:` or space. */
export const JOB_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$/;

/** A cron pattern as BullMQ's job schedulers read it: 5 fields, or 6 with seconds first. */
const cron = () =>
  z
    .string({ error: expected('expected a cron pattern like "0 8 * * 1-5"') })
    .max(200, { error: 'expected a cron pattern of at most 200 characters' })
    .refine((text) => /^\S+(\s+\S+){4,5}$/.test(text.trim()) && /^[\d\s*/,?LW#A-Za-z-]+$/.test(text), {
      error: 'expected a cron pattern like "0 8 * * 1-5" (minute hour day-of-month month day-of-week)',
    });

/** `push:` as a map of settings. */
const pushSettings = () =>
  z.strictObject({
    /** How often the listener wakes supervisord while it waits (10ms to 1s). @default 100ms */
    wake: duration()
      .refine((value) => inRange(durationOrNaN(value), 10, 1000, true), {
        error: 'expected a wake interval from 10ms to 1s',
      })
      .optional(),
    /** How often watchers still poll, to catch what a lost push missed (at least 1s). @default 30s */
    reconcile: duration()
      .refine((value) => inRange(durationOrNaN(value), 1000, Infinity, true), {
        error: 'expected a reconcile interval of at least 1s',
      })
      .optional(),
    /** The Python the listener runs with, on the job's host. @default python3 */
    python: text().optional(),
  });

/** Whether `value` is within [min, max]; NaN (not a duration: its own issue says so) passes when `nan`. */
function inRange(value: number, min: number, max: number, nan: boolean): boolean {
  return Number.isNaN(value) ? nan : value >= min && value <= max;
}

/** The duration in ms, NaN when it is not one (its own issue says so). */
function durationOrNaN(value: string | number): number {
  try {
    return parseDuration(value);
  } catch {
    return NaN;
  }
}

/** One shell command per hook point. */
const hooks = () =>
  z.strictObject(
    Object.fromEntries(HOOK_POINTS.map((point) => [point, text().optional()])) as Record<
      HookPoint,
      z.ZodOptional<ReturnType<typeof text>>
    >,
  );

/** The job options, as written. */
export const jobOptionFields = {
  /** The job's name (its runs, `job status NAME`). @default the job file's base name */
  name: z
    .string({ error: expected('expected a name like web-1') })
    .regex(JOB_NAME_PATTERN, {
      error: 'expected a name of letters, digits, _ . - (at most 100, no spaces or colons)',
    })
    .optional(),
  /** Start a run on this cron schedule (in `timezone`), once `job schedule` registered it. */
  schedule: cron().optional(),
  /** Shell commands run on the worker at the run's hook points. */
  hooks: hooks().optional(),
  /**
   * Names of the worker's environment variables a shell hook gets besides the safe base (PATH, HOME,
   * USER, LOGNAME, LANG, LC_*, TZ, TMPDIR, SHELL) and the ST_* context. @default none
   */
  hook_env: z
    .array(
      z
        .string({ error: expected('expected an environment variable name') })
        .regex(/^[A-Za-z_][A-Za-z0-9_]{0,127}$/, {
          error: 'expected an environment variable name (letters, digits, _; not starting with a digit)',
        }),
      { error: expected('expected a list of environment variable names') },
    )
    .max(100, { error: 'expected at most 100 names' })
    .optional(),
  /** Longest a hook may run before it is killed, at most 24h. @default 5m */
  hook_timeout: duration({ ms: MAX_HOOK_TIMEOUT_MS, words: '24h' }).optional(),
  /** How often the programs are checked. @default 5s */
  check_interval: duration().optional(),
  /** How long a check may go on before it fails. @default 8h */
  check_timeout: duration().optional(),
  /** Stop the job once it has run this long since its reference time. */
  runtime: duration().optional(),
  /** Stop the job at this wall-clock time of day (`17:30`, `17:30:00`), in `timezone`. */
  endtime: z
    .string({ error: expected('expected a time of day like 17:30') })
    .regex(/^([01]\d|2[0-3]):[0-5]\d(:[0-5]\d)?$/, {
      error: expected('expected a time of day like 17:30 or 17:30:00'),
    })
    .optional(),
  /** IANA time zone for `endtime`. @default the local time zone */
  timezone: z
    .string()
    .refine(validTimeZone, { error: expected('expected an IANA time zone like Europe/Berlin or UTC') })
    .optional(),
  /** Stop after this many retriggers. */
  maxretrigger: int(0).optional(),
  /** Stop programs and supervisord when the job ends. @default true */
  stop_on_exit: bool().optional(),
  /** Remove the working directory when the job ends. @default true */
  cleanup: bool().optional(),
  /** Restart programs on the first run even if they are running. @default false */
  restart_on_initial: bool().optional(),
  /** Restart programs on every retrigger. @default false */
  restart_on_retrigger: bool().optional(),
  /**
   * Push mode (docs/push.md): supervisord runs a push listener and the triggerer learns of a state
   * change from it at once, polling only to reconcile. `true`, or its settings. @default false
   */
  push: z
    .union([bool(), pushSettings()], { error: expected('expected true, false or push settings') })
    .optional(),
};

/** The job file format (username and password may each be left out: the convenience layer fills them). */
export const jobSchema = z
  .strictObject({
    /** Directory for the config, logs, socket and state. Relative paths resolve against the process cwd. */
    working_dir: text(),
    /** Where supervisord.conf is written. @default <working_dir>/supervisord.conf */
    config_path: text().optional(),
    /** Defaults for what a program leaves unset: ours, or supervisord's own. @default convenience */
    program_defaults: z
      .enum(['convenience', 'supervisord'], { error: expected('expected convenience or supervisord') })
      .optional(),
    /** Whether `configure` may create missing directories outside working_dir. @default require */
    outside_dirs: z.enum(['require', 'create'], { error: expected('expected require or create') }).optional(),
    /** The machine supervisord runs on, over SSH. @default this machine */
    host: hostSection.optional(),
    ...jobOptionFields,
    ...supervisorSections(jobInetHttpServerSection),
    unix_http_server: jobUnixHttpServerSection.optional(),
  })
  .superRefine((job, ctx) => {
    const programs = Object.keys(job.program ?? {}).length + Object.keys(job['fcgi-program'] ?? {}).length;
    if (programs === 0 && Object.keys(job.eventlistener ?? {}).length === 0) {
      ctx.addIssue({ code: 'custom', path: ['program'], message: 'a job needs at least one program' });
    }
    if (job.host === undefined) return;
    // Paths of a remote job are paths on that host: nothing here can resolve a relative one.
    if (!job.working_dir.startsWith('/')) {
      ctx.addIssue({
        code: 'custom',
        path: ['working_dir'],
        message: 'a job with a host needs an absolute working_dir',
      });
    }
    if (job.inet_http_server?.port === 'auto') {
      ctx.addIssue({
        code: 'custom',
        path: ['inet_http_server', 'port'],
        message:
          'auto picks a port free on this machine, not on the host: give a port, or use the unix socket (the default)',
      });
    }
  });

export type JobConfig = z.output<typeof jobSchema>;
export type JobConfigInput = z.input<typeof jobSchema>;

/** The job options with defaults applied and durations in milliseconds. */
export interface JobOptions {
  /** @default 5000 */
  checkIntervalMs: number;
  /** @default 28800000 (8h) */
  checkTimeoutMs: number;
  runtimeMs?: number;
  /** Time of day `HH:MM` or `HH:MM:SS`. */
  endtime?: string;
  /** IANA zone for `endtime`; undefined means local time. */
  timezone?: string;
  maxretrigger?: number;
  /** @default true */
  stopOnExit: boolean;
  /** @default true */
  cleanup: boolean;
  /** @default false */
  restartOnInitial: boolean;
  /** @default false */
  restartOnRetrigger: boolean;
  /** The job's own name, when the file gives one. */
  name?: string;
  /** Cron pattern of the job's schedule. */
  schedule?: string;
  /** Shell command per hook point. @default none */
  hooks: Partial<Record<HookPoint, string>>;
  /** @default 300000 (5m) */
  hookTimeoutMs: number;
  /** Worker environment variables passed to shell hooks besides the safe base. @default [] */
  hookEnv: string[];
  /** Push mode's settings; undefined when the job does not push. */
  push?: PushOptions;
}

/** Push mode's settings with their defaults applied. */
export interface PushOptions {
  /** @default 100 */
  wakeMs: number;
  /** @default 30000 */
  reconcileMs: number;
  /** @default 'python3' */
  python: string;
}

/** Applies the defaults to a job's options and converts durations to ms. */
export function jobOptions(job: JobConfig): JobOptions {
  return {
    checkIntervalMs: parseDuration(job.check_interval ?? '5s'),
    checkTimeoutMs: parseDuration(job.check_timeout ?? '8h'),
    runtimeMs: job.runtime === undefined ? undefined : parseDuration(job.runtime),
    endtime: job.endtime,
    timezone: job.timezone,
    maxretrigger: job.maxretrigger,
    stopOnExit: job.stop_on_exit ?? true,
    cleanup: job.cleanup ?? true,
    restartOnInitial: job.restart_on_initial ?? false,
    restartOnRetrigger: job.restart_on_retrigger ?? false,
    name: job.name,
    schedule: job.schedule,
    hooks: { ...job.hooks },
    hookTimeoutMs: parseDuration(job.hook_timeout ?? '5m'),
    hookEnv: [...(job.hook_env ?? [])],
    ...optional('push', pushOptions(job.push)),
  };
}

/** `{ [key]: value }`, or nothing when the value is undefined (no key that says undefined). */
function optional<K extends string, V>(key: K, value: V | undefined): Partial<Record<K, V>> {
  return value === undefined ? {} : ({ [key]: value } as Record<K, V>);
}

/** Push mode's settings from `push:` (true: every default). */
function pushOptions(push: JobConfig['push']): PushOptions | undefined {
  if (push === undefined || push === false) return undefined;
  const settings = push === true ? {} : push;
  return {
    wakeMs: parseDuration(settings.wake ?? '100ms'),
    reconcileMs: parseDuration(settings.reconcile ?? '30s'),
    python: settings.python ?? 'python3',
  };
}
