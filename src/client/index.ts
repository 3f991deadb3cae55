/** The SDK a task uses: defer a trigger, wait for it, read its event in a continuation. */
export {
  defer,
  buildRecord,
  type DeferOptions,
  type DeferRecord,
  type DeferredTrigger,
  type Continuation,
} from './defer.js';
export {
  waitFor,
  finishedEvent,
  failedEvent,
  DEFAULT_UNREACHABLE_BUDGET_MS,
  type WaitForOptions,
} from './wait.js';
export { readTriggerEvent } from './continuation.js';
export { readTriggerLogs, type TriggerLogs, type TriggerLogLine } from './trigger-log.js';
export { programLogs, type ProgramLogs, type EventLogTail } from '../protocol/index.js';
export { logLineText, programLogsText, triggerLogsText } from './log-text.js';
export {
  triggerStatus,
  liveTriggerers,
  listTriggers,
  describeTrigger,
  TRIGGER_STATES,
  type TriggerState,
  type TriggerStatusReport,
  type StateCounts,
  type StatusOptions,
  type ListTriggersOptions,
  type TriggerList,
  type TriggerSummary,
  type TriggerDetail,
} from './status.js';
export { shownValue, type ShownLimits } from './redact.js';
export { toConnectionOptions, keyPrefix, type RedisConnection } from './connection.js';
export { cancel, type CancelOptions, type CancelResult } from './cancel.js';
export {
  ClientError,
  RedisConnectionError,
  RedisUnreachable,
  RedisAuthFailed,
  InvalidDeferral,
  TriggerNotFound,
  TriggerAlreadyFinished,
  WaitTimeout,
  NoTriggerEvent,
} from './errors.js';
