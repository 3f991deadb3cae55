/** The contract of a trigger definition: one file in `triggers/` exports one of these. */
import type { Observable } from 'rxjs';
import type { Logger } from 'pino';
import type { z } from 'zod';
import type { TriggerOutcome } from '../protocol/index.js';
import type { ProcessInfo } from '../supervisor/states.js';
import type { SupervisorClient } from '../supervisor/client.js';

/** What the triggerer gives a running trigger. */
export interface TriggerContext {
  triggerId: string;
  /** Absolute deadline in unix ms, if the record had one (the triggerer enforces it, too). */
  deadline?: number;
  logger: Logger;
  /**
   * The shared poll of a named endpoint: one getAllProcessInfo per interval however many watchers
   * subscribe. Only snapshots of polls that started after the trigger was created arrive (never a
   * cached one from before it), so the first may take up to one interval. Errors when the endpoint
   * stays unreachable past `unreachableBudgetMs`.
   */
  processInfo(
    endpoint: string,
    options?: { intervalMs?: number; unreachableBudgetMs?: number },
  ): Observable<ProcessInfo[]>;
  /** A client for a named endpoint, for actions (onCancel stopping programs). */
  client(endpoint: string): SupervisorClient;
  /** Current time in unix ms (tests may replace it). */
  now(): number;
  /**
   * When the record was put on the queue, in unix ms: the default reference of relative times, so a
   * trigger adopted by another triggerer keeps its clock.
   */
  enqueuedAt?: number;
}

export interface TriggerDefinition<Schema extends z.ZodType = z.ZodType> {
  /** Stable name records use, e.g. `supervisor.ProgramStateTrigger`. */
  classpath: string;
  /** Validates and defaults the record's kwargs. */
  kwargs: Schema;
  /** The first emitted outcome ends the deferral. An error becomes `status: failed`. */
  run(kwargs: z.output<Schema>, ctx: TriggerContext): Observable<TriggerOutcome>;
  /** Runs only on an explicit user cancel, never on hand-off to another triggerer. */
  onCancel?(kwargs: z.output<Schema>, ctx: TriggerContext): Promise<void>;
}

/** Typed helper for writing a definition. */
export function defineTrigger<Schema extends z.ZodType>(
  definition: TriggerDefinition<Schema>,
): TriggerDefinition<Schema> {
  return definition;
}
