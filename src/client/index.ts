/** The SDK a task uses: defer a trigger, wait for it, read its event in a continuation. */
export {
  defer,
  buildRecord,
  type DeferOptions,
  type DeferRecord,
  type DeferredTrigger,
  type Continuation,
} from './defer.js';
export { waitFor, finishedEvent, failedEvent, type WaitForOptions } from './wait.js';
export { readTriggerEvent } from './continuation.js';
export { triggerStatus, liveTriggerers, type TriggerStatusReport, type StateCounts } from './status.js';
export { toConnectionOptions, type RedisConnection } from './connection.js';
export { cancel, type CancelOptions, type CancelResult } from './cancel.js';
export {
  InvalidDeferral,
  TriggerNotFound,
  TriggerAlreadyFinished,
  WaitTimeout,
  NoTriggerEvent,
} from './errors.js';
