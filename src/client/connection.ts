/** How the SDK reaches Redis: BullMQ connection options, or a URL (`redis://`, `rediss://`, `unix://`). */
import type { ConnectionOptions } from 'bullmq';
import { redisOptions } from '../triggerer/redis.js';

/** A Redis URL or BullMQ/ioredis connection options. */
export type RedisConnection = ConnectionOptions | string;

/** BullMQ connection options for a URL or options. */
export function toConnectionOptions(connection: RedisConnection): ConnectionOptions {
  return typeof connection === 'string' ? redisOptions(connection) : connection;
}
