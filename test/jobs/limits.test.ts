/**
 * A run's end conditions end it, end to end: runtime from its reference time, endtime as a time of
 * day in the job's own time zone (not the machine's), and a run started after its end does nothing.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import {
  isAlive,
  startJobsHarness,
  supervisordOf,
  workingDirOf,
  writeJob,
  type JobsHarness,
} from '../fixtures/jobs.js';
import { waitUntil } from '../fixtures/processes.js';

describe('run limits', () => {
  let h: JobsHarness;
  before(async () => {
    h = await startJobsHarness('jl-');
  });
  after(() => h?.stop());

  test('runtime ends a run: teardown, succeeded', async () => {
    await writeJob(h.dir, 'timed', {
      check_interval: '300ms',
      runtime: '3s',
      program: { sleeper: { command: 'sleep 1000', startsecs: 0 } },
    });
    const runId = await h.start('timed');
    const supervisord = await waitUntil(() => supervisordOf(h.dir, 'timed'), { what: 'supervisord' });
    const ended = await h.runs.ended('timed', runId);
    assert.deepEqual(
      { status: ended.outcome?.status, reason: ended.outcome?.reason },
      { status: 'succeeded', reason: 'runtime' },
    );
    assert.ok(Date.parse(ended.endedAt!) >= Date.parse(ended.referenceTime) + 3000, 'not before the runtime');
    assert.equal(isAlive(supervisord), false);
  });

  test('endtime in a time zone other than the machine’s ends a run', async () => {
    const zone = 'Pacific/Kiritimati'; // UTC+14; the machine runs in UTC
    const at = await sameDayInstant(zone, 8000);
    const endtime = Math.floor(at / 1000) * 1000;
    await writeJob(h.dir, 'closing', {
      check_interval: '300ms',
      endtime: wallTime(at, zone),
      timezone: zone,
      program: { sleeper: { command: 'sleep 1000', startsecs: 0 } },
    });
    const runId = await h.start('closing');
    const status = await h.runs.until('closing', (s) => s.runId === runId);
    assert.equal(Date.parse(status.limits.endtimeAt!), endtime, 'the endtime read in that zone');
    const supervisord = await waitUntil(() => supervisordOf(h.dir, 'closing'), { what: 'supervisord' });
    const ended = await h.runs.ended('closing', runId);
    assert.deepEqual(
      { status: ended.outcome?.status, reason: ended.outcome?.reason },
      { status: 'succeeded', reason: 'endtime' },
    );
    assert.ok(Date.parse(ended.endedAt!) >= endtime, 'not before the endtime');
    assert.equal(isAlive(supervisord), false);
  });

  test('a run started after its end does nothing and says why', async () => {
    await writeJob(h.dir, 'late', {
      endtime: '00:00',
      timezone: 'UTC',
      program: { sleeper: { command: 'sleep 1000', startsecs: 0 } },
    });
    const runId = await h.start('late');
    const ended = await h.runs.ended('late', runId);
    assert.equal(ended.outcome?.status, 'skipped');
    assert.match(ended.outcome?.message ?? '', /started after its end: the endtime .* has passed/);
    assert.equal(existsSync(workingDirOf(h.dir, 'late')), false, 'not even configured');
    assert.deepEqual([...new Set(ended.events.map((e) => e.step))].sort(), ['configure', 'end']);
  });
});

/** `HH:MM:SS` of `instant` on the wall clock of `zone`. */
function wallTime(instant: number, zone: string): string {
  return new Intl.DateTimeFormat('en-GB', {
    timeZone: zone,
    hourCycle: 'h23',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
  }).format(new Date(instant));
}

/** An instant `aheadMs` from now on the same calendar day in `zone` as now (waits past its midnight if need be). */
async function sameDayInstant(zone: string, aheadMs: number): Promise<number> {
  const day = (t: number) => new Intl.DateTimeFormat('en-CA', { timeZone: zone }).format(new Date(t));
  await waitUntil(() => (day(Date.now()) === day(Date.now() + aheadMs + 5000) ? true : undefined), {
    timeoutMs: aheadMs + 10_000,
    intervalMs: 200,
    what: 'a time not just before midnight',
  });
  return Date.now() + aheadMs;
}
