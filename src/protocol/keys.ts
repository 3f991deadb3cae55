/**
 * Every Redis key and channel this project reads or writes beside BullMQ's own, built from the one
 * BullMQ prefix (as BullMQ's QueueKeys builds its own): triggerers of two fleets with different
 * prefixes on one Redis never see each other's cancels, hand-offs or heartbeats. Part of the wire
 * protocol (see index.ts): other processes and languages use these names.
 */

/** BullMQ's default key prefix, and ours. */
export const DEFAULT_PREFIX = 'bull';

/** The keys and channels of one prefix. */
export interface ProtocolKeys {
  readonly prefix: string;
  /** Pub/sub channel cancels are announced on. */
  readonly cancelChannel: string;
  /** The marker of one trigger's cancel (a string, with a TTL). */
  cancelMarker(triggerId: string): string;
  /** Pub/sub channel hand-off offers are announced on. */
  readonly handOffChannel: string;
  /** The list a closing triggerer offers its claims on. */
  handOffList(owner: string): string;
  /** The counter of peers done with an offer. */
  handOffDone(list: string): string;
  /** Set once every claim of a streamed offer is on its list. */
  handOffComplete(list: string): string;
  /** Sorted set of live triggerer ids by last beat. */
  readonly triggerers: string;
  /** One triggerer's heartbeat hash. */
  triggerer(id: string): string;
}

/** The keys of `prefix` (BullMQ's `prefix` option; `bull` by default). */
export function protocolKeys(prefix: string = DEFAULT_PREFIX): ProtocolKeys {
  const handOffChannel = `${prefix}:st:handoff`;
  const triggerers = `${prefix}:st:triggerers`;
  return {
    prefix,
    cancelChannel: `${prefix}:st:cancel`,
    cancelMarker: (triggerId) => `${prefix}:st:cancel:${triggerId}`,
    handOffChannel,
    handOffList: (owner) => `${handOffChannel}:${owner}`,
    handOffDone: (list) => `${list}:done`,
    handOffComplete: (list) => `${list}:complete`,
    triggerers,
    triggerer: (id) => `${triggerers}:${id}`,
  };
}
