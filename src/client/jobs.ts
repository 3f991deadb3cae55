/**
 * Reading a trigger job for the SDK. BullMQ builds a Job by parsing its data as JSON; a producer in
 * another language may have written data that is not JSON, and such a job (refused, failed once by
 * the triggerer) must still be readable: its data is then kept as the raw text.
 */
import { Job, type Queue } from 'bullmq';

/** The job of `id`, or undefined; a job whose data is not JSON has its raw text as data. */
export async function readJob(queue: Queue, id: string): Promise<Job | undefined> {
  try {
    return await Job.fromId(queue, id);
  } catch (error) {
    if (!(error instanceof SyntaxError)) throw error;
    const raw = await queue.getBackend().getJobData(id);
    if (!raw) return undefined;
    return Job.fromJSON(queue, { ...raw, data: JSON.stringify(raw.data ?? '') }, id);
  }
}
