/**
 * `cancel`: stops a trigger from any process. BullMQ's own cancel reaches only jobs of the calling
 * process, so this leaves a durable marker (with a TTL) and announces it over Redis pub/sub: the
 * triggerer holding the trigger stops it, runs its onCancel and completes it with `status:
 * cancelled`; a trigger that is waiting (or being handed off or claimed) is cancelled by the marker
 * when a triggerer claims it. Either way the continuation runs exactly once, with `cancelled`.
 */
import { Queue } from 'bullmq';
import {
  CANCEL_MARKER_TTL_S,
  protocolKeys,
  TRIGGERS_QUEUE,
  type CancelRequest,
  type TriggerStatus,
} from '../protocol/index.js';
import { RedisCall, type RedisConnection } from './connection.js';
import { readJob } from './jobs.js';
import { TriggerAlreadyFinished, TriggerNotFound } from './errors.js';
import { finishedEvent } from './wait.js';

/** Options for {@link cancel}. */
export interface CancelOptions {
  connection: RedisConnection;
  /** Why; carried in the event's payload (`payload.reason`). */
  reason?: string;
  /** BullMQ key prefix; on a Redis Cluster it must hold a hash tag. @default 'bull' ('{bull}' on a cluster) */
  prefix?: string;
}

/** What {@link cancel} did. */
export interface CancelResult {
  triggerId: string;
  /** The trigger job's state when the cancel was requested (`active`: its triggerer stops it now). */
  state: string;
  request: CancelRequest;
}

/**
 * Requests the cancel of a trigger. Throws TriggerNotFound for an unknown id, TriggerAlreadyFinished
 * (with the status it finished with) for one that already has its event, and RedisUnreachable /
 * RedisAuthFailed at once when Redis is away or refuses the credentials.
 */
export async function cancel(triggerId: string, options: CancelOptions): Promise<CancelResult> {
  return RedisCall.run(options.connection, async (call) => {
    const prefix = call.prefix(options.prefix);
    const queue = call.own(new Queue(TRIGGERS_QUEUE, { connection: call.options, prefix }));
    const job = await readJob(queue, triggerId);
    if (!job) throw new TriggerNotFound(triggerId);
    const state = await job.getState();
    if (state === 'completed' || state === 'failed') {
      const event = await finishedEvent(queue, triggerId);
      throw new TriggerAlreadyFinished(triggerId, event?.status ?? (state as TriggerStatus));
    }
    const request: CancelRequest = {
      triggerId,
      ...(options.reason !== undefined && { reason: options.reason }),
      requestedAt: new Date().toISOString(),
      jobTimestamp: job.timestamp,
    };
    const text = JSON.stringify(request);
    const client = call.redis();
    // Marker first: a triggerer that claims the job after this sees it; one that claimed it before
    // listens already and hears the message.
    await client.set(protocolKeys(prefix).cancelMarker(triggerId), text, 'EX', CANCEL_MARKER_TTL_S);
    await client.publish(protocolKeys(prefix).cancelChannel, text);
    return { triggerId, state, request };
  });
}
