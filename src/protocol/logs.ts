/**
 * Program logs in a TriggerEvent: a trigger about programs may put the tail of each affected
 * program's stdout and stderr in its payload, under `logs`, read when the event was built. Part of
 * the payload (the record and the event stay `v: 1`); a continuation reads it with `programLogs`.
 *
 *   payload.logs = { "web:web": { stdout: { text: "…last lines…", truncated: true },
 *                                 stderr: { error: "no stderr log (redirected to stdout)" } } }
 */
import { z } from 'zod';

/** The hard bounds of a log tail, whatever a trigger's kwargs ask. */
export const LOG_TAIL_LIMITS = {
  /** Lines of one tail. */
  maxLines: 1000,
  /** Bytes (UTF-8) of one tail's text. */
  maxBytes: 64 * 1024,
  /** Programs whose logs one event carries; the others are counted in `logs_omitted`. */
  maxPrograms: 20,
} as const;

/** What a tail holds when the trigger names no bounds. */
export const LOG_TAIL_DEFAULTS = { lines: 20, bytes: 4096 } as const;

/** One of a program's logs, as the event carries it: its last lines, or why there are none. */
export const EventLogTailSchema = z.object({
  /** The last lines, credentials the redaction knows of replaced, at most the bounds. */
  text: z.string().optional(),
  /** Earlier lines of the log were left out. */
  truncated: z.boolean().optional(),
  /** The log could not be read (the event is built all the same). */
  error: z.string().optional(),
});
export type EventLogTail = z.infer<typeof EventLogTailSchema>;

/** A program's two logs. */
export const ProgramLogsSchema = z.object({
  stdout: EventLogTailSchema.optional(),
  stderr: EventLogTailSchema.optional(),
});
export type ProgramLogs = z.infer<typeof ProgramLogsSchema>;

/** `payload.logs`: per process, `group:name`. */
export const EventLogsSchema = z.record(z.string(), ProgramLogsSchema);

/**
 * The program logs an event carries, per process (`group:name`); empty when it carries none (or
 * what it carries is not of this shape). Never throws.
 */
export function programLogs(event: { payload: Record<string, unknown> }): Record<string, ProgramLogs> {
  const parsed = EventLogsSchema.safeParse(event.payload.logs);
  return parsed.success ? parsed.data : {};
}
