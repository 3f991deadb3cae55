/** Helpers for the worker that runs a continuation: read the event its trigger child produced. */
import type { Job } from 'bullmq';
import { TRIGGERS_QUEUE, TriggerEventSchema, type TriggerEvent } from '../protocol/index.js';
import { NoTriggerEvent } from './errors.js';
import { failedEvent } from './wait.js';

const TRIGGER_KEY = `:${TRIGGERS_QUEUE}:`;

/** The trigger id of a child job key such as `bull:triggers:<id>`. */
function triggerIdOf(key: string): string {
  return key.slice(key.lastIndexOf(':') + 1);
}

/**
 * The TriggerEvent of a continuation job: its trigger child's return value, or, when the trigger job
 * failed (a bad record), a `failed` event with the job's failure reason. Throws NoTriggerEvent when
 * the job has no finished trigger child.
 */
export async function readTriggerEvent(
  job: Pick<Job, 'id' | 'getChildrenValues' | 'getIgnoredChildrenFailures'>,
): Promise<TriggerEvent> {
  const values = (await job.getChildrenValues()) ?? {};
  for (const [key, value] of Object.entries(values)) {
    if (!key.includes(TRIGGER_KEY)) continue;
    const parsed = TriggerEventSchema.safeParse(value);
    if (parsed.success) return parsed.data;
  }
  const failures = (await job.getIgnoredChildrenFailures()) ?? {};
  for (const [key, reason] of Object.entries(failures)) {
    if (key.includes(TRIGGER_KEY)) return failedEvent(triggerIdOf(key), reason);
  }
  throw new NoTriggerEvent(job.id);
}
