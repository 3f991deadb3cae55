/** Errors the SDK raises, each a class a caller can `instanceof`. */

/** The record or the options given to `defer` are not valid; the message names what is wrong. */
export class InvalidDeferral extends Error {
  override name = 'InvalidDeferral';
}

/** No trigger job with that id (never added, or removed after its retention). */
export class TriggerNotFound extends Error {
  override name = 'TriggerNotFound';
  constructor(readonly triggerId: string) {
    super(`no trigger with id '${triggerId}'`);
  }
}

/** `waitFor` gave up before the trigger finished (the trigger itself keeps running). */
export class WaitTimeout extends Error {
  override name = 'WaitTimeout';
  constructor(
    readonly triggerId: string,
    readonly timeoutMs: number,
  ) {
    super(`trigger '${triggerId}' did not finish within ${timeoutMs} ms`);
  }
}

/** A continuation job has no trigger child with an event or a failure. */
export class NoTriggerEvent extends Error {
  override name = 'NoTriggerEvent';
  constructor(readonly jobId: string | undefined) {
    super(`job '${jobId ?? '?'}' has no finished trigger child`);
  }
}

/** `cancel` of a trigger that already has its event; `status` says which. */
export class TriggerAlreadyFinished extends Error {
  override name = 'TriggerAlreadyFinished';
  constructor(
    readonly triggerId: string,
    readonly status: string,
  ) {
    super(`trigger '${triggerId}' already finished with status '${status}'`);
  }
}
