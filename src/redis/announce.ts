/**
 * A channel whose publisher must know how many subscribers heard it (a hand-off offer waits for
 * exactly those peers). On a Redis Cluster a classic PUBLISH reaches every node's subscribers but
 * counts only those of the node it was sent to: there the channel is a sharded one (SPUBLISH,
 * SSUBSCRIBE, Redis 7), served by the node owning the channel's slot, whose count covers them all.
 * A channel built from a hash-tagged prefix lives in the slot of the keys it announces.
 */
import type { ConnectionOptions } from 'bullmq';
import { connect, type RedisClient } from './connection.js';
import { isCluster } from './prefix.js';

/** Publishes `message` on `channel`; resolves with the number of subscribers that received it. */
export async function announce(redis: RedisClient, channel: string, message: string): Promise<number> {
  return Number(
    isCluster(redis) ? await redis.spublish(channel, message) : await redis.publish(channel, message),
  );
}

/** A subscriber connection of {@link listen}. */
export interface Listener {
  /** The connection, for its events ('error') and to disconnect it. */
  readonly redis: RedisClient;
  /** Unsubscribes: resolves once Redis confirmed it (from then on `announce` does not count it). */
  unsubscribe(): Promise<unknown>;
}

/**
 * A new connection of `connection`'s kind subscribed to `channel`, calling `onMessage` with each
 * message; resolves once subscribed (from then on `announce` counts it).
 */
export async function listen(
  connection: ConnectionOptions,
  channel: string,
  onMessage: (message: string) => void,
  errors?: Parameters<typeof connect>[2],
): Promise<Listener> {
  const sharded = isCluster(connection);
  const redis = connect(connection, sharded ? { shardedSubscribers: true } : {}, errors);
  redis.on(sharded ? 'smessage' : 'message', (from: string, message: string) => {
    if (from === channel) onMessage(message);
  });
  const listener: Listener = {
    redis,
    unsubscribe: () => (sharded ? redis.sunsubscribe(channel) : redis.unsubscribe(channel)),
  };
  await (sharded ? redis.ssubscribe(channel) : redis.subscribe(channel));
  return listener;
}
