/**
 * The key prefix on a Redis Cluster. Every key of ours and of BullMQ's starts with the prefix, and
 * our scripts and MULTIs touch several at once (a flow's parent and child, a job hash and its lock,
 * a hand-off list and its counters): on a cluster they must share one hash slot. A prefix holding a
 * hash tag (`{bull}`) puts every key in the slot of its tag, as BullMQ's Redis Cluster guide asks.
 * On a cluster, a prefix left unset is `{bull}`; one given without a hash tag is refused.
 */
import { DEFAULT_PREFIX } from '../protocol/keys.js';

/** The prefix on a Redis Cluster when none is given. */
export const CLUSTER_PREFIX = `{${DEFAULT_PREFIX}}`;

/** A key prefix that cannot be used on this Redis. */
export class InvalidPrefix extends Error {
  override name = 'InvalidPrefix';
}

/**
 * The hash tag of a key starting with `prefix`, as Redis Cluster finds it (the text between the
 * first `{` and the first `}` after it, when not empty); undefined when the prefix does not fix one.
 */
export function hashTag(prefix: string): string | undefined {
  const open = prefix.indexOf('{');
  if (open === -1) return undefined;
  const close = prefix.indexOf('}', open + 1);
  return close > open + 1 ? prefix.slice(open + 1, close) : undefined;
}

/** True for an ioredis Cluster client (BullMQ's connection options when they are one) or a cluster URL's target. */
export function isCluster(connection: unknown): boolean {
  const candidate = connection as { isCluster?: unknown; kind?: unknown } | undefined;
  return candidate?.isCluster === true || candidate?.kind === 'cluster';
}

/**
 * The prefix to use on `connection`: `prefix`, else `bull` (on a cluster `{bull}`). Throws
 * {@link InvalidPrefix} for a prefix without a hash tag on a cluster.
 */
export function prefixFor(connection: unknown, prefix?: string): string {
  if (!isCluster(connection)) return prefix ?? DEFAULT_PREFIX;
  if (prefix === undefined) return CLUSTER_PREFIX;
  if (hashTag(prefix) === undefined) {
    throw new InvalidPrefix(
      `prefix '${prefix.slice(0, 100)}' has no hash tag: on a Redis Cluster every key must share one slot, use a prefix such as '{${prefix.slice(0, 100)}}'`,
    );
  }
  return prefix;
}
