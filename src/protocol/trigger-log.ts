/**
 * A trigger's own log: the triggerer's log lines for one trigger id, kept in Redis under
 * `protocolKeys(prefix).triggerLog(id)` so that the task (or anyone with the id) can read them back
 * after the triggerer that wrote them is gone. Each entry is one of the triggerer's JSON log lines
 * (pino's: `level`, `time`, `msg`, `triggerId`, …), credentials redacted as in its log.
 */

/** How much of a trigger's log is kept, and for how long. */
export const TRIGGER_LOG_LIMITS = {
  /** Lines kept per trigger: the latest. */
  maxLines: 200,
  /** Characters of one line; a longer one is cut. */
  maxLineChars: 2000,
  /** Kept this long after the trigger finished (its job: 1 day, 7 days when failed). */
  keepAfterMs: 8 * 86_400_000,
  /** While it runs: this long after its latest line. */
  keepWhileRunningMs: 30 * 86_400_000,
} as const;
