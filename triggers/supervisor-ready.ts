/**
 * `supervisor.SupervisorReadyTrigger`: fires once the supervisord answers and is RUNNING. It rides the
 * shared poll: getAllProcessInfo succeeds only in the RUNNING state (below it every call faults
 * SHUTDOWN_STATE), and failures before that count against `unreachable_budget` only.
 */
import { map, take } from 'rxjs';
import { z } from 'zod';
import { defineTrigger } from '../src/triggerer/definition.js';
import * as kw from './kwargs.js';

export const SupervisorReadyKwargs = z.strictObject({
  endpoint: kw.endpoint(),
  interval: kw.interval().optional(),
  /** How long the supervisord may stay unreachable (still starting) before the trigger fails. */
  unreachable_budget: kw.unreachableBudget(),
});

export const SupervisorReadyTrigger = defineTrigger({
  classpath: 'supervisor.SupervisorReadyTrigger',
  kwargs: SupervisorReadyKwargs,
  run: (k, ctx) =>
    ctx.processInfo(k.endpoint, { intervalMs: k.interval, unreachableBudgetMs: k.unreachable_budget }).pipe(
      take(1),
      map((infos) => ({
        status: 'fired' as const,
        payload: { endpoint: k.endpoint, state: 'RUNNING', programs: infos.length },
      })),
    ),
});
