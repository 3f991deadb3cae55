/**
 * The state of a run, carried in the data of every step job: any worker can take the next step, and
 * no process holds the run while it waits. It holds the job's files and overrides, never a secret.
 */
import { z } from 'zod';
import { formatIssues, issuesFromZod } from '../config/errors.js';
import type { SshHostOptions } from '../supervisor/host/ssh-options.js';
import { STEPS } from './points.js';
import { InvalidRunData } from './errors.js';

/** How a run ended (set when its teardown begins). */
export const OutcomeSchema = z.object({
  /**
   * `succeeded`: done, or an end condition reached; `failed`: with the reason; `stopped`: by
   * `job stop`; `skipped`: started after its end, nothing done.
   */
  status: z.enum(['succeeded', 'failed', 'stopped', 'skipped']),
  /** A short code: done, runtime, endtime, maxretrigger, unhealthy, hook, error, stop, late, teardown. */
  reason: z.string(),
  message: z.string(),
});
export type Outcome = z.infer<typeof OutcomeSchema>;

/** What the last watch ended with, for hooks and status. */
export const LastEventSchema = z.object({
  status: z.enum(['fired', 'timeout', 'failed', 'cancelled']),
  decision: z.string().optional(),
  reason: z.string().optional(),
  message: z.string().optional(),
  at: z.string(),
});
export type LastEvent = z.infer<typeof LastEventSchema>;

/**
 * What teardown acts on, fixed when `configure` succeeded: the supervisord that was configured, found
 * without loading the job files again (they may have changed or broken since). No credential: the
 * password is read from the job's state file on its host when teardown needs it.
 */
export const TeardownTargetSchema = z.object({
  workingDir: z.string(),
  configPath: z.string(),
  statePath: z.string(),
  pidfile: z.string(),
  /** Where supervisord's XML-RPC listens and its username. */
  endpoint: z.object({ url: z.string(), username: z.string().optional() }),
  /** The SSH host it runs on (local paths pinned); absent: the worker's machine. */
  host: z
    .custom<SshHostOptions>(
      (value) =>
        typeof value === 'object' && value !== null && typeof (value as SshHostOptions).hostname === 'string',
    )
    .optional(),
  /** Each program's stopwaitsecs (bounds the waits of the stops). */
  programs: z.record(z.string(), z.object({ stopwaitsecs: z.number().optional() })),
  stopOnExit: z.boolean(),
  cleanup: z.boolean(),
});
export type TeardownTarget = z.infer<typeof TeardownTargetSchema>;

export const RunDataSchema = z.object({
  v: z.literal(1),
  /** How to load the job: its files (absolute paths on the worker's machine) and `--set` overrides. */
  job: z.object({
    name: z.string(),
    files: z.array(z.string()).min(1),
    overrides: z.array(z.string()).default([]),
  }),
  runId: z.string(),
  /** The step this job runs. */
  step: z.enum(STEPS),
  /** The watch cycle, from 1; each new watch after the first starts a new cycle. */
  cycle: z.number().int().min(1),
  /** Retriggers so far: restarts after an unhealthy watch, and check_timeout cycles. */
  retriggers: z.number().int().min(0),
  /** When the run started (or its schedule fired): the runtime counts from here. */
  referenceTime: z.string(),
  limits: z.object({ runtimeEndsAt: z.string().optional(), endtimeAt: z.string().optional() }),
  /** Programs `restart-programs` restarts: every one, or these (`group:name`). */
  restart: z.union([z.literal('all'), z.array(z.string())]).optional(),
  /** Watches in a row that ended `failed` (endpoint gone): bounded. */
  watchFailures: z.number().int().min(0).default(0),
  lastEvent: LastEventSchema.optional(),
  /** Set once the run tears down. */
  outcome: OutcomeSchema.optional(),
  /** Set by `configure`: what teardown stops and removes. */
  teardown: TeardownTargetSchema.optional(),
});
export type RunData = z.infer<typeof RunDataSchema>;
export type RunDataInput = z.input<typeof RunDataSchema>;

/** Reads a step job's data; throws InvalidRunData naming the problem. */
export function parseRunData(data: unknown): RunData {
  const parsed = RunDataSchema.safeParse(data);
  if (!parsed.success) {
    throw new InvalidRunData(`not a job run step: ${formatIssues(issuesFromZod(parsed.error), '; ')}`);
  }
  return parsed.data;
}
