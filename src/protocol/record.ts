/**
 * The two contracts a task and the triggerer share: the trigger record a task puts on the queue, and
 * the TriggerEvent the triggerer answers with. Both cross process and language boundaries, so both
 * are validated on the way in and documented in the README.
 */
import { z } from 'zod';

/** Name of the BullMQ queue the triggerer consumes. */
export const TRIGGERS_QUEUE = 'triggers';

/**
 * Bounds of a record, checked before anything else reads it: a record can never cost a triggerer
 * more than these to refuse. The whole record as JSON, its nesting, and the trigger id (job id).
 */
export const RECORD_LIMITS = {
  /** Characters of the record as JSON. */
  maxChars: 64 * 1024,
  /** Nesting of objects and arrays. */
  maxDepth: 32,
  /** Characters of a trigger id, a classpath, an endpoint name. */
  maxNameChars: 256,
} as const;

/** The data of one job on the triggers queue. The job id is the trigger id. */
export const TriggerRecordSchema = z
  .object({
    v: z.literal(1).describe('record format version'),
    classpath: z
      .string()
      .min(1)
      .max(RECORD_LIMITS.maxNameChars)
      .describe('registered trigger definition, e.g. supervisor.ProgramStateTrigger'),
    kwargs: z.record(z.string(), z.unknown()).default({}).describe("the trigger's arguments"),
    deadline: z.iso
      .datetime({ offset: true })
      .optional()
      .describe('absolute ISO 8601 time after which the trigger fires with status "timeout"'),
    task: z
      .object({
        queue: z.string().optional(),
        id: z.string().optional(),
        name: z.string().optional(),
      })
      .catchall(z.unknown())
      .optional()
      .describe('who waits: for logs and status only'),
  })
  .strict();
export type TriggerRecord = z.infer<typeof TriggerRecordSchema>;
export type TriggerRecordInput = z.input<typeof TriggerRecordSchema>;

export const TRIGGER_STATUSES = ['fired', 'timeout', 'failed', 'cancelled'] as const;
export type TriggerStatus = (typeof TRIGGER_STATUSES)[number];

/** What a trigger produces; the triggerer adds the id and the time. */
export interface TriggerOutcome {
  status: TriggerStatus;
  payload: Record<string, unknown>;
}

export const TriggerEventSchema = z.object({
  triggerId: z.string(),
  status: z.enum(TRIGGER_STATUSES),
  payload: z.record(z.string(), z.unknown()),
  firedAt: z.iso.datetime({ offset: true }),
});
/** The result of a trigger: the return value of its job, read by the continuation. */
export type TriggerEvent = z.infer<typeof TriggerEventSchema>;

/** The JSON Schema (draft 2020-12) of a trigger record, for producers in other languages. */
export function recordJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(TriggerRecordSchema, { io: 'input' }) as Record<string, unknown>;
}

/** JSON Schema of the TriggerEvent a continuation receives (`config schema --event`). */
export function eventJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(TriggerEventSchema) as Record<string, unknown>;
}
