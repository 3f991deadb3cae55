/** Errors the SDK raises. Every one extends `ClientError`, so a caller can `instanceof` what it cares about. */

/** Base class of every error the SDK raises. */
export class ClientError extends Error {
  override name = 'ClientError';
}

/** The record or the options given to `defer` are not valid; the message names what is wrong. */
export class InvalidDeferral extends ClientError {
  override name = 'InvalidDeferral';
}

/** No trigger job with that id (never added, or removed after its retention). */
export class TriggerNotFound extends ClientError {
  override name = 'TriggerNotFound';
  constructor(readonly triggerId: string) {
    super(`no trigger with id '${triggerId}'`);
  }
}

/** `waitFor` gave up before the trigger finished (the trigger itself keeps running). */
export class WaitTimeout extends ClientError {
  override name = 'WaitTimeout';
  constructor(
    readonly triggerId: string,
    readonly timeoutMs: number,
  ) {
    super(`trigger '${triggerId}' did not finish within ${timeoutMs} ms`);
  }
}

/** A continuation job has no trigger child with an event or a failure. */
export class NoTriggerEvent extends ClientError {
  override name = 'NoTriggerEvent';
  constructor(readonly jobId: string | undefined) {
    super(`job '${jobId ?? '?'}' has no finished trigger child`);
  }
}

/** `cancel` of a trigger that already has its event; `status` says which. */
export class TriggerAlreadyFinished extends ClientError {
  override name = 'TriggerAlreadyFinished';
  constructor(
    readonly triggerId: string,
    readonly status: string,
  ) {
    super(`trigger '${triggerId}' already finished with status '${status}'`);
  }
}

/**
 * Redis could not be used. Carries the URL without its password and the reason as text only: the
 * client library's own error is not kept, because some of them hold the credentials they sent.
 */
export class RedisConnectionError extends ClientError {
  override name = 'RedisConnectionError';
  constructor(
    message: string,
    /** The Redis URL, its password replaced by `***`. */
    readonly url: string,
    /** Why, in one line (e.g. `connect ECONNREFUSED 127.0.0.1:6379`). */
    readonly reason: string,
    /** The system error code when there is one, e.g. `ECONNREFUSED`, `ENOENT`, `ETIMEDOUT`. */
    readonly code?: string,
  ) {
    super(message);
  }
}

/** Nothing answers at the Redis address, or the connection was lost and not regained in time. */
export class RedisUnreachable extends RedisConnectionError {
  override name = 'RedisUnreachable';
  constructor(url: string, reason: string, code?: string) {
    super(`Redis at ${url} is unreachable: ${reason}`, url, reason, code);
  }
}

/** Redis answered but refused the credentials (WRONGPASS, NOAUTH, NOPERM). */
export class RedisAuthFailed extends RedisConnectionError {
  override name = 'RedisAuthFailed';
  constructor(url: string, reason: string) {
    super(`Redis at ${url} refused the credentials: ${reason}`, url, reason);
  }
}
