/**
 * The worker's config file (YAML or JSON): where Redis is, the TypeScript hook module, and how the
 * steps are run. Every key is optional; CLI flags override them.
 */
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { durationSchema } from '../config/duration.js';
import { LOG_LEVELS } from '../triggerer/logger.js';
import { JobRunError } from './errors.js';
import { MAX_TEARDOWN_RETRY_MS } from './retries.js';
import { formatIssues, issuesFromZod } from '../config/errors.js';

const Duration = (minMs: number, maxMs: number, words: string) =>
  durationSchema().refine((ms) => ms >= minMs && ms <= maxMs, { error: `must be from ${words}` });

export const WorkerConfigSchema = z
  .object({
    redis_url: z
      .string()
      .optional()
      .describe('default: $REDIS_URL, else the embedded redis of a running triggerer'),
    hooks: z.string().optional().describe('module exporting TypeScript hooks by hook point'),
    concurrency: z.number().int().positive().max(1000).default(20).describe('steps run at once'),
    ssh_hosts: z
      .array(z.string().min(1).max(253))
      .default([])
      .describe(
        "remote hosts (as jobs' host.hostname names them) whose job steps this worker runs over SSH, besides this machine's",
      ),
    lock_duration: Duration(500, 600_000, '500ms to 10m')
      .default(10_000)
      .describe("a killed worker's step is retried about this long after"),
    stalled_interval: Duration(100, 600_000, '100ms to 10m')
      .default(2000)
      .describe('BullMQ stalled-check period'),
    heartbeat_interval: Duration(100, 3_600_000, '100ms to 1h')
      .default(5000)
      .describe('period of the heartbeat'),
    teardown_retry: Duration(0, MAX_TEARDOWN_RETRY_MS, '0 to 1h')
      .default(600_000)
      .describe(
        'how long a teardown step that fails for a reason that may pass (host unreachable, a timeout) is tried again before the run ends failed (teardown)',
      ),
    close_grace: Duration(0, 600_000, '0 to 10m')
      .default(10_000)
      .describe('on SIGTERM, how long steps in flight may finish before they are left to another worker'),
    log_level: z.enum(LOG_LEVELS).default('info'),
  })
  .strict();
export type WorkerConfig = z.output<typeof WorkerConfigSchema>;

/** Parses and validates worker config text. */
export function parseWorkerConfig(text: string, source = 'worker config'): WorkerConfig {
  let raw: unknown;
  try {
    raw = parseYaml(text) ?? {};
  } catch (error) {
    throw new JobRunError(`${source}: not YAML/JSON: ${(error as Error).message.split('\n')[0]}`);
  }
  const parsed = WorkerConfigSchema.safeParse(raw);
  if (!parsed.success) {
    const issues = issuesFromZod(parsed.error, { schema: WorkerConfigSchema });
    throw new JobRunError(`${source}: ${formatIssues(issues, '; ')}`);
  }
  return parsed.data;
}

/** Reads a worker config file; a relative `hooks` path is taken from the file's directory. */
export async function loadWorkerConfig(path: string): Promise<WorkerConfig> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new JobRunError(`cannot read ${path}: ${(error as NodeJS.ErrnoException).code}`);
  }
  const config = parseWorkerConfig(text, path);
  return config.hooks === undefined
    ? config
    : { ...config, hooks: resolve(dirname(resolve(path)), config.hooks) };
}
