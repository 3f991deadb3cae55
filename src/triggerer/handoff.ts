/**
 * Hand-off by transfer. A closing triggerer does not put its claims back to wait, where a peer would
 * have to claim each one again through BullMQ (two scripts per trigger, one on each side); it offers
 * the claims themselves, job id and lock token, on a list of its own `<prefix>:st:handoff:<owner>`
 * and announces the list on the channel `<prefix>:st:handoff`. A peer that hears it pops as many
 * claims as it has room for (LPOP: each claim goes to exactly one process), makes each lock its own
 * by extending it with the token it was given (BullMQ's `extendLocks`: only the holder of the token
 * can), and watches the trigger. The job stays active in BullMQ throughout; the lock token is the
 * claim, whoever holds it.
 *
 * The closing triggerer keeps renewing the locks until the offer is settled, then withdraws what no
 * peer took (atomically, so never a claim both taken and withdrawn) and puts those back to wait as
 * before. With no peer listening (PUBLISH reached nobody) it puts everything back at once.
 */
import { Job, type ConnectionOptions, type JobJson } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { closeConnection, connect } from './redis.js';
import { within } from './within.js';

/** One claim: a job held under a lock token. */
export interface Claim {
  id: string;
  token: string;
  /**
   * The offering triggerer's copy of the job, as it claimed it (see {@link jobJson}), so that the
   * taker rebuilds the job with `Job.fromJSON` instead of reading each one back from Redis. Absent:
   * the taker reads the job (an offer from a version without copies).
   */
  job?: JobJson;
}

/**
 * A claimed job as `Job.fromJSON` takes it back. BullMQ's own worker never reads a job again once
 * it claimed it: everything completing or failing it uses (id, options, attempts, timestamps) is
 * this copy, and what the finishing scripts need of the parent they read in Redis. So the copy a
 * closing triggerer hands over is exactly what it would itself have finished the job with.
 */
export function jobJson(job: Job): JobJson {
  // Undefined fields are left out by JSON.stringify, as they are in the hash BullMQ reads a job from.
  return {
    id: job.id ?? '',
    name: job.name,
    data: JSON.stringify(job.data ?? {}),
    opts: job.opts,
    progress: job.progress,
    attemptsMade: job.attemptsMade,
    attemptsStarted: job.attemptsStarted,
    stalledCounter: job.stalledCounter,
    timestamp: job.timestamp,
    delay: job.delay,
    priority: job.priority,
    processedOn: job.processedOn,
    finishedOn: job.finishedOn,
    failedReason: job.failedReason,
    deferredFailure: job.deferredFailure,
    stacktrace: job.stacktrace && job.stacktrace.length > 0 ? JSON.stringify(job.stacktrace) : undefined,
    returnvalue: job.returnvalue === undefined ? undefined : JSON.stringify(job.returnvalue),
    parent: job.parent,
    parentKey: job.parentKey,
    repeatJobKey: job.repeatJobKey,
    deduplicationId: job.deduplicationId,
    processedBy: job.processedBy,
  } as JobJson;
}

/**
 * The job of a claim taken from an offer: rebuilt from the offered copy, or read from Redis when
 * there is none or it does not rebuild. Undefined when the job is gone.
 */
export async function offeredJob(
  queue: ConstructorParameters<typeof Job>[0],
  claim: Claim,
): Promise<Job | undefined> {
  if (claim.job) {
    try {
      return Job.fromJSON(queue, claim.job, claim.id);
    } catch {
      // A copy whose data is not JSON: read the job itself.
    }
  }
  return (await Job.fromId(queue, claim.id)) as Job | undefined;
}

/** The pub/sub channel offers are announced on. */
export function handOffChannel(prefix = 'bull'): string {
  return `${prefix}:st:handoff`;
}

/** The list a closing triggerer offers its claims on. */
export function handOffListKey(owner: string, prefix = 'bull'): string {
  return `${prefix}:st:handoff:${owner}`;
}

/** The counter of peers done with an offer (took what they had room for). */
function doneKey(listKey: string): string {
  return `${listKey}:done`;
}

/** How long closing waits for Redis to confirm, before it drops the connection anyway. */
const CLOSE_WAIT_MS = 1000;

/** Arguments per RPUSH, so that one offer of 10,000 claims is a few commands, not one huge one. */
const PUSH_CHUNK = 1000;

/**
 * Puts `claims` on the owner's list (the list lives `ttlMs`, as long as the locks) and announces it.
 * Resolves with the number of triggerers that heard the announcement (0: nobody will take them).
 * The list is written a chunk at a time, each chunk sent while the next is encoded; nobody reads it
 * before the announcement, which goes out only once every chunk is stored.
 */
export async function offerClaims(
  redis: Redis,
  options: { owner: string; prefix: string; claims: readonly Claim[]; ttlMs: number },
): Promise<{ listKey: string; peers: number }> {
  const listKey = handOffListKey(options.owner, options.prefix);
  const stored: Promise<unknown>[] = [redis.del(listKey, doneKey(listKey))];
  for (let i = 0; i < options.claims.length; i += PUSH_CHUNK) {
    stored.push(redis.rpush(listKey, ...options.claims.slice(i, i + PUSH_CHUNK).map(encodeClaim)));
    // Set with the first chunk: a process that dies while offering leaves nothing behind for long.
    if (i === 0) stored.push(redis.pexpire(listKey, options.ttlMs));
  }
  await Promise.all(stored);
  const peers = await redis.publish(
    handOffChannel(options.prefix),
    JSON.stringify({ list: listKey, count: options.claims.length }),
  );
  return { listKey, peers };
}

/** Pops up to `count` offered claims (each goes to exactly one caller). */
export async function takeClaims(redis: Redis, listKey: string, count: number): Promise<Claim[]> {
  if (count <= 0) return [];
  const popped = await redis.lpop(listKey, count);
  return (popped ?? []).flatMap((text) => decodeClaim(text) ?? []);
}

/** A peer is done with an offer: it took what it had room for (maybe nothing). */
export async function doneWithOffer(redis: Redis, listKey: string, ttlMs: number): Promise<void> {
  await redis.multi().incr(doneKey(listKey)).pexpire(doneKey(listKey), ttlMs).exec();
}

/** Takes back every claim still offered, atomically against peers' pops. */
export async function withdrawClaims(redis: Redis, listKey: string): Promise<Claim[]> {
  const result = await redis.multi().lrange(listKey, 0, -1).del(listKey, doneKey(listKey)).exec();
  const texts = (result?.[0]?.[1] ?? []) as string[];
  return texts.flatMap((text) => decodeClaim(text) ?? []);
}

/**
 * Waits while peers take the offer: until the list is empty, or every peer that heard it is done
 * with it (the others are full), or `maxMs` passed (so the locks never run out under a slow peer).
 */
export async function offerSettled(
  redis: Redis,
  listKey: string,
  { peers, maxMs, pollMs = 20 }: { peers: number; maxMs: number; pollMs?: number },
): Promise<void> {
  const start = Date.now();
  for (;;) {
    const [[, left], [, done]] = ((await redis.multi().llen(listKey).get(doneKey(listKey)).exec()) ?? [
      [null, 0],
      [null, null],
    ]) as [[unknown, number], [unknown, string | null]];
    if (left === 0 || Number(done ?? 0) >= peers || Date.now() - start >= maxMs) return;
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
}

/**
 * A triggerer's side of hand-offs: hears peers' offers (a subscriber connection of its own) and has
 * a command connection for offering and taking claims. Stop listening before offering your own.
 */
export class HandOffs {
  private subscriber: Redis | undefined;
  private commands: Redis | undefined;

  constructor(
    private readonly connection: ConnectionOptions,
    private readonly prefix: string,
    private readonly logger: Logger,
    private readonly onOffer: (listKey: string) => void,
  ) {}

  /** Connects and subscribes; resolves once this process counts as a listening peer. */
  async start(): Promise<void> {
    const errors = { logger: this.logger, what: 'hand-off' };
    this.commands = connect(this.connection, {}, errors);
    this.subscriber = connect(this.connection, {}, errors);
    this.subscriber.on('message', (_channel: string, message: string) => {
      const list = parseOffer(message, this.prefix);
      if (list === undefined) this.logger.warn('ignoring a malformed hand-off announcement');
      else this.onOffer(list);
    });
    await this.subscriber.subscribe(handOffChannel(this.prefix));
  }

  /** The command connection (offers, takes, withdrawals). */
  get redis(): Redis {
    if (!this.commands) throw new Error('hand-offs not started');
    return this.commands;
  }

  /**
   * Stops listening: peers offering from now on do not count this process. Waits for Redis to
   * confirm the unsubscribe (an offer counted this process as a peer until then), at most
   * {@link CLOSE_WAIT_MS}, so a Redis that is away cannot hold a shutdown. Idempotent.
   */
  async stopListening(): Promise<void> {
    const subscriber = this.subscriber;
    this.subscriber = undefined;
    if (!subscriber) return;
    await within(subscriber.unsubscribe(handOffChannel(this.prefix)), CLOSE_WAIT_MS);
    subscriber.disconnect();
  }

  /** Stops listening and closes the command connection. */
  async close(): Promise<void> {
    await this.stopListening();
    const commands = this.commands;
    this.commands = undefined;
    if (commands) await closeConnection(commands, CLOSE_WAIT_MS);
  }
}

/** The list key of an announcement, only when it is one of this prefix's hand-off lists. */
export function parseOffer(message: string, prefix: string): string | undefined {
  try {
    const list = (JSON.parse(message) as { list?: unknown }).list;
    return typeof list === 'string' && list.startsWith(handOffListKey('', prefix)) ? list : undefined;
  } catch {
    return undefined;
  }
}

function encodeClaim(claim: Claim): string {
  return JSON.stringify(claim.job ? [claim.id, claim.token, claim.job] : [claim.id, claim.token]);
}

/** A claim from its list entry; a copy of the job that is not one of this id is dropped (read back instead). */
export function decodeClaim(text: string): Claim | undefined {
  try {
    const [id, token, job] = JSON.parse(text) as unknown[];
    if (typeof id !== 'string' || typeof token !== 'string') return undefined;
    return isJobJson(job, id) ? { id, token, job } : { id, token };
  } catch {
    return undefined;
  }
}

function isJobJson(job: unknown, id: string): job is JobJson {
  if (typeof job !== 'object' || job === null) return false;
  const j = job as Partial<Record<keyof JobJson, unknown>>;
  return (
    j.id === id &&
    typeof j.name === 'string' &&
    typeof j.data === 'string' &&
    typeof j.opts === 'object' &&
    j.opts !== null &&
    typeof j.timestamp === 'number' &&
    typeof j.attemptsMade === 'number' &&
    typeof j.attemptsStarted === 'number'
  );
}
