/**
 * `time.TimeDeltaTrigger`: fires `delta` after `reference_time` (the SDK sets it at enqueue, so a
 * trigger adopted by another triggerer keeps its clock), or after it started watching without one.
 */
import { map } from 'rxjs';
import { z } from 'zod';
import { defineTrigger } from '../src/triggerer/definition.js';
import { atTime } from '../src/triggerer/operators/at-time.js';
import * as kw from './kwargs.js';

export const TimeDeltaKwargs = z.strictObject({
  delta: kw.duration('delta'),
  reference_time: kw.isoTime('reference_time').optional(),
});

export const TimeDeltaTrigger = defineTrigger({
  classpath: 'time.TimeDeltaTrigger',
  kwargs: TimeDeltaKwargs,
  run(k, ctx) {
    const reference = k.reference_time !== undefined ? Date.parse(k.reference_time) : ctx.now();
    return atTime(reference + k.delta, () => ctx.now()).pipe(
      map((at) => ({ status: 'fired' as const, payload: { moment: new Date(at).toISOString() } })),
    );
  },
});
