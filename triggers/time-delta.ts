/**
 * `time.TimeDeltaTrigger`: fires `delta` after `reference_time`, by default the time the record was
 * enqueued, so a trigger adopted by another triggerer keeps its clock.
 */
import { map } from 'rxjs';
import { z } from 'zod';
import { defineTrigger } from '../src/triggerer/definition.js';
import { atTime } from '../src/triggerer/operators/at-time.js';
import * as kw from './kwargs.js';

export const TimeDeltaKwargs = z.strictObject({
  delta: kw.duration(),
  reference_time: kw.isoTime().optional(),
});

export const TimeDeltaTrigger = defineTrigger({
  classpath: 'time.TimeDeltaTrigger',
  kwargs: TimeDeltaKwargs,
  run(k, ctx) {
    const reference =
      k.reference_time !== undefined ? Date.parse(k.reference_time) : (ctx.enqueuedAt ?? ctx.now());
    return atTime(reference + k.delta, () => ctx.now()).pipe(
      map((at) => ({ status: 'fired' as const, payload: { moment: new Date(at).toISOString() } })),
    );
  },
});
