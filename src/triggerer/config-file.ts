/**
 * The triggerer's own configuration file (YAML or JSON), validated with zod. Keys are snake_case as
 * in every other file of this project; `loadTriggererConfig` returns them as written, with defaults
 * (the same defaults as the TypeScript options: options.ts). CLI flags override them.
 */
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { durationSchema } from '../config/duration.js';
import { formatIssues, issuesFromZod } from '../config/errors.js';
import { ConnectionSchema } from './connections.js';
import { LOG_LEVELS } from './logger.js';
import {
  DEFAULT_CAPACITY,
  DEFAULT_CRASH_RESET_MS,
  DEFAULT_HEARTBEAT_INTERVAL_MS,
  DEFAULT_INTERVAL_MS,
  DEFAULT_LOCK_DURATION_MS,
  DEFAULT_METRICS_HOST,
  DEFAULT_STALLED_INTERVAL_MS,
} from './options.js';
import { TriggererError } from './errors.js';

/** A duration key of this file, in ms, within `[minMs, maxMs]` (each reaches a timer). */
const Duration = (minMs: number, maxMs: number, words: string) =>
  durationSchema().refine((ms) => ms >= minMs && ms <= maxMs, { error: `must be from ${words}` });

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
    default_interval: Duration(100, 86_400_000, '100ms to 24h')
      .default(DEFAULT_INTERVAL_MS)
      .describe('poll interval when a trigger names none'),
    lock_duration: Duration(500, 600_000, '500ms to 10m')
      .default(DEFAULT_LOCK_DURATION_MS)
      .describe('BullMQ job lock duration'),
    stalled_interval: Duration(100, 600_000, '100ms to 10m')
      .default(DEFAULT_STALLED_INTERVAL_MS)
      .describe('BullMQ stalled-check period'),
    crash_reset_after: Duration(0, 86_400_000, '0 to 24h')
      .default(DEFAULT_CRASH_RESET_MS)
      .describe('a trigger watched this long by one triggerer has its crash count reset'),
    log_level: z.enum(LOG_LEVELS).default('info'),
    metrics_port: z
      .union([z.int().min(0).max(65_535), z.literal('none')], {
        error: 'expected a port number 0-65535 or "none"',
      })
      .optional()
      .describe('port of /metrics /healthz /readyz (default 9464); 0: any free port; none: no server'),
    metrics_host: z.string().min(1).default(DEFAULT_METRICS_HOST).describe('address of that server'),
    status_page: z
      .boolean()
      .default(true)
      .describe('serve the status page at / of that server (read-only unless a status token is set)'),
    status_token_file: z
      .string()
      .min(1)
      .optional()
      .describe(
        'file whose first line is the token the status page actions require ($SUPERVISOR_TRIGGERER_STATUS_TOKEN wins)',
      ),
    heartbeat_interval: Duration(100, 3_600_000, '100ms to 1h')
      .default(DEFAULT_HEARTBEAT_INTERVAL_MS)
      .describe('period of the heartbeat `status` reads'),
    share_pollers: z
      .boolean()
      .default(true)
      .describe('one poll per endpoint and interval for all its triggers; false only for benchmarks'),
  })
  .strict();
export type TriggererConfig = z.output<typeof TriggererConfigSchema>;

/** A config file that cannot be read, parsed or validated. */
export class InvalidTriggererConfig extends TriggererError {
  override name = 'InvalidTriggererConfig';
}

/** Parses and validates config text; `source` names it in errors. */
export function parseTriggererConfig(text: string, source = 'triggerer config'): TriggererConfig {
  let raw: unknown;
  try {
    raw = parseYaml(text) ?? {};
  } catch (error) {
    // Only the first line: YAML's message goes on to quote the offending line, which may hold a password.
    const reason = (error as Error).message.split('\n')[0]?.replace(/:$/, '');
    throw new InvalidTriggererConfig(`${source}: not YAML/JSON: ${reason}`);
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
    status_token_file:
      config.status_token_file === undefined ? undefined : resolve(base, config.status_token_file),
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
