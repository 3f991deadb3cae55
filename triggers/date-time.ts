/** `time.DateTimeTrigger`: fires at `moment` (at once if it has passed). */
import { map } from 'rxjs';
import { z } from 'zod';
import { defineTrigger } from '../src/triggerer/definition.js';
import { atTime } from '../src/triggerer/operators/at-time.js';
import * as kw from './kwargs.js';

export const DateTimeKwargs = z.strictObject({ moment: kw.isoTime() });

export const DateTimeTrigger = defineTrigger({
  classpath: 'time.DateTimeTrigger',
  kwargs: DateTimeKwargs,
  run: (k, ctx) =>
    atTime(Date.parse(k.moment), () => ctx.now()).pipe(
      map((at) => ({ status: 'fired' as const, payload: { moment: new Date(at).toISOString() } })),
    ),
});
