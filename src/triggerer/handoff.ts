/**
 * Hand-off by transfer. A closing triggerer does not put its claims back to wait, where a peer would
 * have to claim each one again through BullMQ (two scripts per trigger, one on each side); it offers
 * the claims themselves, job id, lock token and its copy of the job, on a list of its own
 * `<prefix>:st:handoff:<owner>` and announces the list on the channel `<prefix>:st:handoff` (a big
 * offer after its first chunk, the rest added while peers take). A peer that hears it pops as many
 * claims as it has room for (LPOP: each claim goes to exactly one process), makes each lock its own
 * by extending it with the token it was given (BullMQ's `extendLocks`: only the holder of the token
 * can), rebuilds the job from the copy and watches the trigger. The job stays active in BullMQ
 * throughout; the lock token is the claim, whoever holds it.
 *
 * The closing triggerer keeps renewing the locks until the offer is settled, then withdraws what no
 * peer took (atomically, so never a claim both taken and withdrawn) and puts those back to wait as
 * before. With no peer listening (PUBLISH reached nobody) it puts everything back at once.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { Job, type ConnectionOptions, type JobJson } from 'bullmq';
import type { ChainableCommander } from 'ioredis';
import type { Logger } from 'pino';
import { DEFAULT_PREFIX, protocolKeys } from '../protocol/index.js';
import { announce, listen, type Listener } from '../redis/announce.js';
import { closeConnection, connect, type RedisClient } from '../redis/connection.js';
import { within } from '../util/within.js';

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

/**
 * The copy of a job a claim is offered with, or none for a job whose data cannot be written as JSON
 * (JSON.stringify recurses: a record nested deep enough overflows the stack); the taker reads such a
 * job back from Redis, and refuses it there.
 */
export function offeredCopy(job: Job): JobJson | undefined {
  try {
    return jobJson(job);
  } catch {
    return undefined;
  }
}

/** The pub/sub channel offers are announced on. */
export function handOffChannel(prefix = DEFAULT_PREFIX): string {
  return protocolKeys(prefix).handOffChannel;
}

/** The list a closing triggerer offers its claims on. */
export function handOffListKey(owner: string, prefix = DEFAULT_PREFIX): string {
  return protocolKeys(prefix).handOffList(owner);
}

/** The counter of peers done with an offer (took what they had room for). */
function doneKey(listKey: string): string {
  return protocolKeys().handOffDone(listKey);
}

/** Set once every claim of a streamed offer is on its list. */
function completeKey(listKey: string): string {
  return protocolKeys().handOffComplete(listKey);
}

/** An announced offer: where its claims are, and whether more may still be added to the list. */
export interface Offer {
  list: string;
  /**
   * True: announced after the first chunk, the rest are being added; the list is complete once its
   * complete flag is set. False (and offers from versions before streaming): complete when announced.
   */
  streamed: boolean;
}

/** How long closing waits for Redis to confirm, before it drops the connection anyway. */
const CLOSE_WAIT_MS = 1000;

/**
 * Claims on the list before the announcement: peers start on these while the rest are encoded and
 * added (the offering process is otherwise idle, its peers busy).
 */
const FIRST_CHUNK = 500;
/** Arguments per RPUSH after the first chunk, so that one offer of 10,000 claims is a few commands. */
const PUSH_CHUNK = 1000;

/**
 * The chunks an offer of `items` is made in: the first ({@link FIRST_CHUNK}) is announced, the
 * rest ({@link PUSH_CHUNK} each) are added after.
 */
export function offerChunks<T>(items: readonly T[]): T[][] {
  const chunks = [items.slice(0, FIRST_CHUNK)];
  for (let i = FIRST_CHUNK; i < items.length; i += PUSH_CHUNK) chunks.push(items.slice(i, i + PUSH_CHUNK));
  return chunks;
}

/** Where and to how many an offer went. */
export interface Offered {
  listKey: string;
  /** Triggerers that heard the announcement. */
  peers: number;
}

/**
 * Offers `claims` on the owner's list (the list lives `ttlMs`, as long as the locks), in
 * {@link offerChunks}. See {@link offerStream}.
 */
export async function offerClaims(
  redis: RedisClient,
  options: {
    owner: string;
    prefix: string;
    claims: readonly Claim[];
    ttlMs: number;
    onAnnounced?: () => void;
  },
): Promise<Offered> {
  const [first = [], ...rest] = offerChunks(options.claims);
  return await offerStream(redis, {
    ...options,
    first,
    ...(rest.length > 0 && { rest }),
  });
}

/**
 * Offers claims on the owner's list (it lives `ttlMs`, as long as the locks): `first` is stored and
 * the offer announced (`onAnnounced` is called then: from that moment a peer may hold any claim on
 * the list); then each chunk `rest` yields is added as it comes (the caller may still be stopping
 * the watchers of the next), and the complete flag is set after the last. An offer with `rest` is
 * announced as streamed. Resolves with the number of triggerers that heard the announcement; when
 * none did, `rest` is not read (nobody will take any, and nobody knows the list). A chunk that fails
 * after the announcement rejects; claims it held were never offered.
 */
export async function offerStream(
  redis: RedisClient,
  options: {
    owner: string;
    prefix: string;
    first: readonly Claim[];
    rest?: AsyncIterable<readonly Claim[]> | Iterable<readonly Claim[]>;
    ttlMs: number;
    onAnnounced?: () => void;
  },
): Promise<Offered> {
  const { first, rest, ttlMs } = options;
  const listKey = handOffListKey(options.owner, options.prefix);
  // Each chunk sets the expiry with its push: a process that dies while offering leaves nothing
  // behind for long, and a list first created by a later chunk expires, too.
  const push = (multi: ChainableCommander, claims: readonly Claim[]) =>
    claims.length === 0 ? multi : multi.rpush(listKey, ...claims.map(encodeClaim)).pexpire(listKey, ttlMs);
  await execAll(push(redis.multi().del(listKey, doneKey(listKey), completeKey(listKey)), first));
  const peers = await announce(
    redis,
    handOffChannel(options.prefix),
    JSON.stringify({ list: listKey, ...(rest && { streamed: true }) }),
  );
  options.onAnnounced?.();
  if (peers > 0 && rest) {
    const stored: Promise<unknown>[] = [];
    // Not awaited one by one: the next chunk is prepared while this one is on its way.
    for await (const claims of rest) {
      if (claims.length === 0) continue;
      const pushed = execAll(push(redis.multi(), claims));
      pushed.catch(() => undefined); // rejects below, with the others; not unhandled meanwhile
      stored.push(pushed);
    }
    // One connection runs its commands in order: the flag is set after every chunk is on the list.
    stored.push(redis.set(completeKey(listKey), '1', 'PX', ttlMs));
    await Promise.all(stored);
  }
  return { listKey, peers };
}

/** Runs a MULTI; rejects with the first command's error (EXEC reports those as results). */
async function execAll(multi: ChainableCommander): Promise<void> {
  for (const [error] of (await multi.exec()) ?? []) if (error) throw error;
}

/** Claims popped from an offer, and whether the offer was complete when they were. */
export interface Taken {
  claims: Claim[];
  /** Every claim of the offer had been added: fewer claims than asked for means none are left. */
  complete: boolean;
}

/**
 * Pops up to `count` offered claims (each goes to exactly one caller). For a streamed offer, the pop
 * and the complete flag are read at once: complete with fewer than `count` means the list is done.
 */
export async function takeClaims(redis: RedisClient, offer: Offer, count: number): Promise<Taken> {
  if (count <= 0) return { claims: [], complete: !offer.streamed };
  const [[popError, popped], [, flag]] = ((await redis
    .multi()
    .lpop(offer.list, count)
    .exists(completeKey(offer.list))
    .exec()) ?? [
    [null, null],
    [null, 0],
  ]) as [[Error | null, string[] | null], [unknown, number]];
  if (popError) throw popError;
  return {
    claims: (popped ?? []).flatMap((text) => decodeClaim(text) ?? []),
    complete: !offer.streamed || flag === 1,
  };
}

/** A peer is done with an offer: it took what it had room for (maybe nothing). */
export async function doneWithOffer(redis: RedisClient, listKey: string, ttlMs: number): Promise<void> {
  await redis.multi().incr(doneKey(listKey)).pexpire(doneKey(listKey), ttlMs).exec();
}

/** Takes back every claim still offered, atomically against peers' pops. */
export async function withdrawClaims(redis: RedisClient, listKey: string): Promise<Claim[]> {
  const result = await redis
    .multi()
    .lrange(listKey, 0, -1)
    .del(listKey, doneKey(listKey), completeKey(listKey))
    .exec();
  const texts = (result?.[0]?.[1] ?? []) as string[];
  return texts.flatMap((text) => decodeClaim(text) ?? []);
}

/**
 * Waits while peers take the offer: until the list is empty, or every peer that heard it is done
 * with it (the others are full), or `maxMs` passed (so the locks never run out under a slow peer).
 */
export async function offerSettled(
  redis: RedisClient,
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
    await sleep(pollMs);
  }
}

/**
 * A triggerer's side of hand-offs: hears peers' offers (a subscriber connection of its own) and has
 * a command connection for offering and taking claims. Stop listening before offering your own.
 */
export class HandOffs {
  private subscriber: Listener | undefined;
  private commands: RedisClient | undefined;

  constructor(
    private readonly connection: ConnectionOptions,
    private readonly prefix: string,
    private readonly logger: Logger,
    private readonly onOffer: (offer: Offer) => void,
  ) {}

  /** Connects and subscribes; resolves once this process counts as a listening peer. */
  async start(): Promise<void> {
    const errors = { logger: this.logger, what: 'hand-off' };
    this.commands = connect(this.connection, {}, errors);
    const onMessage = (message: string) => {
      const offer = parseOffer(message, this.prefix);
      if (offer === undefined) this.logger.warn('ignoring a malformed hand-off announcement');
      else this.onOffer(offer);
    };
    this.subscriber = await listen(this.connection, handOffChannel(this.prefix), onMessage, errors);
  }

  /** The command connection (offers, takes, withdrawals). */
  get redis(): RedisClient {
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
    await within(subscriber.unsubscribe(), CLOSE_WAIT_MS);
    subscriber.redis.disconnect();
  }

  /** Stops listening and closes the command connection. */
  async close(): Promise<void> {
    await this.stopListening();
    const commands = this.commands;
    this.commands = undefined;
    if (commands) await closeConnection(commands, CLOSE_WAIT_MS);
  }
}

/** The offer of an announcement, only when its list is one of this prefix's hand-off lists. */
export function parseOffer(message: string, prefix: string): Offer | undefined {
  try {
    const { list, streamed } = JSON.parse(message) as { list?: unknown; streamed?: unknown };
    return typeof list === 'string' && list.startsWith(handOffListKey('', prefix))
      ? { list, streamed: streamed === true }
      : undefined;
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
