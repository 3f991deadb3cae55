/**
 * zod pieces the built-in triggers' kwargs share; names are snake_case as in the Python projects.
 * Messages say what is wrong, not where: every report prefixes the issue's path, the key.
 */
import { z } from 'zod';
import { durationSchema } from '../src/config/duration.js';
import { LOG_TAIL_DEFAULTS, LOG_TAIL_LIMITS } from '../src/protocol/index.js';
import { PROCESS_STATE_NAMES } from '../src/supervisor/states.js';

/**
 * A duration, output in ms: text such as `250ms`, `10s`, `5m`, `1h30m`, `PT5M`, or a bare number of
 * SECONDS (the rule of every duration written as data; see src/config/duration.ts).
 */
export const duration = () => durationSchema();

/** Shortest poll interval: supervisord itself looks at its processes about once a second. */
export const MIN_INTERVAL_MS = 100;
/** Longest poll interval: a watch that looks less than daily is not a watch. */
export const MAX_INTERVAL_MS = 86_400_000;

/** A poll interval in ms, from 100 ms to 24 h. */
export const interval = () =>
  duration().refine((ms) => ms >= MIN_INTERVAL_MS && ms <= MAX_INTERVAL_MS, {
    error: 'must be from 100ms to 24h',
  });

/** An absolute ISO 8601 date-time with a time zone. */
export const isoTime = () =>
  z.iso.datetime({
    offset: true,
    error: 'expected an ISO 8601 date-time with a time zone, e.g. 2030-01-01T00:00:00Z',
  });

/** The name of a supervisor connection in the triggerer's config (never a URL with credentials). */
export const endpoint = () =>
  z
    .string({ error: 'expected the name of a supervisor connection, e.g. "box-3"' })
    .min(1, { error: 'must not be empty' });

/** Programs to watch: `name`, `group:name` or `group:*`; empty or omitted means every program. */
export const programs = () =>
  z
    .array(
      z.string({ error: 'expected a program name' }).regex(/^[^\s:]+(:[^\s:]+)?$/, {
        error: 'expected a program name like "name", "group:name" or "group:*"',
      }),
      { error: 'expected a list of program names' },
    )
    .default([]);

/** Target process states, e.g. `["STOPPED", "EXITED"]`. */
export const states = () =>
  z
    .array(
      z.enum(PROCESS_STATE_NAMES, {
        error: `expected one of ${PROCESS_STATE_NAMES.join(', ')}`,
      }),
      {
        error: 'expected a list of process state names',
      },
    )
    .min(1, { error: 'name at least one target state' });

/** Exit codes that count as expected. */
export const exitcodes = () =>
  z.array(z.int().min(0).max(255), { error: 'expected a list of integers 0-255' });

/** What an explicit user cancel does to the watched programs. */
export const onCancel = () =>
  z.enum(['none', 'stop_programs'], { error: 'expected "none" or "stop_programs"' }).default('none');

/** How long the endpoint may fail continuously before the trigger fails. */
export const unreachableBudget = () => duration().optional();

/**
 * `log_tail`: the tail of each affected program's stdout and stderr in the event (`payload.logs`),
 * at most `lines` lines and `bytes` bytes each; `false` for none. @default { lines: 20, bytes: 4096 }
 */
export const logTail = () =>
  z
    .union(
      [
        z.literal(false),
        z.strictObject({
          lines: z
            .int({ error: 'expected a number of lines' })
            .min(1)
            .max(LOG_TAIL_LIMITS.maxLines)
            .default(LOG_TAIL_DEFAULTS.lines),
          bytes: z
            .int({ error: 'expected a number of bytes' })
            .min(1)
            .max(LOG_TAIL_LIMITS.maxBytes)
            .default(LOG_TAIL_DEFAULTS.bytes),
        }),
      ],
      { error: 'expected false or { lines, bytes }' },
    )
    .default({ ...LOG_TAIL_DEFAULTS });
