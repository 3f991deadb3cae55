/**
 * The triggerer's own configuration file (YAML or JSON), validated with zod. Keys are snake_case as
 * in every other file of this project; `loadTriggererConfig` returns them as written, with defaults.
 */
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { durationSchema } from '../config/duration.js';
import { formatIssues, issuesFromZod } from '../config/errors.js';
import { ConnectionSchema } from './connections.js';
import { DEFAULT_HEARTBEAT_INTERVAL_MS } from './heartbeat.js';

/** Default number of triggers one process watches at once (Airflow's default, too). */
export const DEFAULT_CAPACITY = 1000;
/**
 * Default BullMQ lock duration: a crashed triggerer's triggers are adopted at most
 * `lockDuration + stalledInterval` after the crash (8 s + 2 s = 10 s with the defaults). Locks are
 * renewed every 2-4 s, so an event loop or Redis stalled for up to ~4 s loses no lock.
 */
export const DEFAULT_LOCK_DURATION_MS = 8000;
/** Default period of BullMQ's stalled-job check (see DEFAULT_LOCK_DURATION_MS). */
export const DEFAULT_STALLED_INTERVAL_MS = 2000;
/** Default poll interval of an endpoint when a trigger names none. */
export const DEFAULT_INTERVAL_MS = 5000;

const Duration = durationSchema();

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;

/** The triggerer config file. Every key is optional; CLI flags override them. Durations: `8s`, `500ms`, or seconds. */
export const TriggererConfigSchema = z
  .object({
    redis_url: z
      .string()
      .optional()
      .describe('redis://, rediss:// or unix:// URL; default: $REDIS_URL, else an embedded redis-server'),
    capacity: z.number().int().positive().default(DEFAULT_CAPACITY).describe('triggers watched at once'),
    plugins: z
      .array(z.string())
      .default([])
      .describe('module paths of extra trigger definitions, loaded at start-up'),
    connections: z.record(z.string(), ConnectionSchema).default({}).describe('named supervisor endpoints'),
    state_dir: z.string().optional().describe('where the embedded redis lives'),
    default_interval: Duration.default(DEFAULT_INTERVAL_MS).describe(
      'poll interval when a trigger names none',
    ),
    lock_duration: Duration.default(DEFAULT_LOCK_DURATION_MS).describe('BullMQ job lock duration'),
    stalled_interval: Duration.default(DEFAULT_STALLED_INTERVAL_MS).describe('BullMQ stalled-check period'),
    log_level: z.enum(LOG_LEVELS).default('info'),
    metrics_port: z
      .union([z.int().min(0).max(65_535), z.literal('none')], {
        error: 'expected a port number 0-65535 or "none"',
      })
      .optional()
      .describe('port of /metrics /healthz /readyz (default 9464); 0 or none: no server'),
    metrics_host: z.string().min(1).default('127.0.0.1').describe('address of that server'),
    heartbeat_interval: Duration.default(DEFAULT_HEARTBEAT_INTERVAL_MS).describe(
      'period of the heartbeat `status` reads',
    ),
    share_pollers: z
      .boolean()
      .default(true)
      .describe('one poll per endpoint and interval for all its triggers; false only for benchmarks'),
  })
  .strict();
export type TriggererConfig = z.output<typeof TriggererConfigSchema>;

/** A config file that cannot be read, parsed or validated. */
export class InvalidTriggererConfig extends Error {
  override name = 'InvalidTriggererConfig';
}

/** Parses and validates config text; `source` names it in errors. */
export function parseTriggererConfig(text: string, source = 'triggerer config'): TriggererConfig {
  let raw: unknown;
  try {
    raw = parseYaml(text) ?? {};
  } catch (error) {
    throw new InvalidTriggererConfig(`${source}: not YAML/JSON: ${(error as Error).message}`);
  }
  const parsed = TriggererConfigSchema.safeParse(raw);
  if (!parsed.success) {
    const issues = issuesFromZod(parsed.error, { schema: TriggererConfigSchema });
    throw new InvalidTriggererConfig(`${source}: ${formatIssues(issues, '; ')}`);
  }
  return parsed.data;
}

/**
 * Reads a config file. Relative paths inside it (plugins, password files, job files, state_dir) are
 * resolved against the file's directory.
 */
export async function loadTriggererConfig(path: string): Promise<TriggererConfig> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new InvalidTriggererConfig(`cannot read ${path}: ${(error as NodeJS.ErrnoException).code}`);
  }
  const config = parseTriggererConfig(text, path);
  const base = dirname(resolve(path));
  const local = (p: string) => (p.startsWith('.') ? resolve(base, p) : p);
  return {
    ...config,
    plugins: config.plugins.map(local),
    state_dir: config.state_dir === undefined ? undefined : resolve(base, config.state_dir),
    connections: Object.fromEntries(
      Object.entries(config.connections).map(([name, c]) => [
        name,
        'job' in c
          ? { ...c, job: resolve(base, c.job) }
          : { ...c, password_file: c.password_file && resolve(base, c.password_file) },
      ]),
    ),
  };
}
