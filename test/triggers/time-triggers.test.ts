import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { firstValueFrom } from 'rxjs';
import { pino } from 'pino';
import { issuesFromZod } from '../../src/config/errors.js';
import type { TriggerContext } from '../../src/triggerer/definition.js';
import { DateTimeTrigger } from '../../triggers/date-time.js';
import { TimeDeltaTrigger } from '../../triggers/time-delta.js';

/** Time triggers need no endpoint: a context with a clock is enough. */
function clockContext(now: () => number = () => Date.now()): TriggerContext {
  const noEndpoints = () => {
    throw new Error('time triggers use no endpoint');
  };
  return {
    triggerId: 't',
    logger: pino({ level: 'silent' }),
    processInfo: noEndpoints,
    client: noEndpoints,
    now,
  };
}

describe('time.TimeDeltaTrigger', () => {
  test('fires once the delta has passed since it started watching', async () => {
    const started = Date.now();
    const kwargs = TimeDeltaTrigger.kwargs.parse({ delta: '200ms' });
    const outcome = await firstValueFrom(TimeDeltaTrigger.run(kwargs, clockContext()));
    assert.equal(outcome.status, 'fired');
    assert.ok(Date.now() >= started + 200, 'not before the delta');
    assert.ok(Date.parse(String(outcome.payload.moment)) >= started + 200);
  });

  test('measures from reference_time, so an adopted trigger keeps its clock', async () => {
    const reference = Date.parse('2020-01-01T00:00:00Z');
    const kwargs = TimeDeltaTrigger.kwargs.parse({ delta: '1h', reference_time: '2020-01-01T00:00:00Z' });
    const outcome = await firstValueFrom(TimeDeltaTrigger.run(kwargs, clockContext()));
    assert.deepEqual(outcome, {
      status: 'fired',
      payload: { moment: new Date(reference + 3_600_000).toISOString() },
    });
  });

  test('without reference_time it measures from when the record was enqueued', async () => {
    const enqueuedAt = Date.parse('2020-01-01T00:00:00Z');
    const kwargs = TimeDeltaTrigger.kwargs.parse({ delta: '1h' });
    const outcome = await firstValueFrom(TimeDeltaTrigger.run(kwargs, { ...clockContext(), enqueuedAt }));
    assert.deepEqual(outcome, {
      status: 'fired',
      payload: { moment: new Date(enqueuedAt + 3_600_000).toISOString() },
    });
  });

  test('refuses a delta that is not a duration, naming the field', () => {
    const result = TimeDeltaTrigger.kwargs.safeParse({ delta: 'soon' });
    assert.deepEqual(issuesFromZod(result.error!), [
      {
        path: 'delta',
        message: "expected a duration like 30s, 5m, 8h, 1h30m, PT5M or a number of seconds, got 'soon'",
      },
    ]);
  });
});

describe('time.DateTimeTrigger', () => {
  test('fires at the moment', async () => {
    const moment = new Date(Date.now() + 200).toISOString();
    const outcome = await firstValueFrom(
      DateTimeTrigger.run(DateTimeTrigger.kwargs.parse({ moment }), clockContext()),
    );
    assert.ok(Date.now() >= Date.parse(moment), 'not before the moment');
    assert.deepEqual(outcome, { status: 'fired', payload: { moment } });
  });

  test('fires at once for a moment in the past', async () => {
    const moment = '2001-02-03T04:05:06.000Z';
    const outcome = await firstValueFrom(
      DateTimeTrigger.run(DateTimeTrigger.kwargs.parse({ moment }), clockContext()),
    );
    assert.deepEqual(outcome.payload, { moment });
  });

  test('uses the context clock, so a test clock decides', async () => {
    const moment = '2030-01-01T00:00:00.000Z';
    const ctx = clockContext(() => Date.parse('2031-01-01T00:00:00Z'));
    const outcome = await firstValueFrom(DateTimeTrigger.run(DateTimeTrigger.kwargs.parse({ moment }), ctx));
    assert.equal(outcome.payload.moment, moment);
  });

  test('refuses a moment without a time zone', () => {
    const result = DateTimeTrigger.kwargs.safeParse({ moment: '2030-01-01T00:00:00' });
    assert.deepEqual(issuesFromZod(result.error!), [
      {
        path: 'moment',
        message: 'expected an ISO 8601 date-time with a time zone, e.g. 2030-01-01T00:00:00Z',
      },
    ]);
  });
});
