/**
 * Schedules: `job schedule` turns a job file's cron `schedule` into a BullMQ job scheduler whose
 * jobs start runs, with the scheduled time as each run's reference time; a scheduled start while the
 * job runs is refused quietly (noted in the running run); `job unschedule` ends it.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Queue } from 'bullmq';
import { redisOptions } from '../../src/redis/connection.js';
import { jobCli, startJobsHarness, writeJob, type JobsHarness } from '../fixtures/jobs.js';
import { waitUntil } from '../fixtures/processes.js';

describe('schedules', () => {
  let h: JobsHarness;
  before(async () => {
    h = await startJobsHarness('js-');
  });
  after(() => h?.stop());

  test('a schedule starts runs at its times, in its time zone, until unscheduled', async () => {
    // only the hours it is now and next in that zone (UTC+14): in UTC, the pattern would not match today
    const hour = Number(
      new Intl.DateTimeFormat('en-GB', {
        timeZone: 'Pacific/Kiritimati',
        hour: '2-digit',
        hourCycle: 'h23',
      }).format(new Date()),
    );
    const pattern = `*/4 * ${hour},${(hour + 1) % 24} * * *`;
    const file = await writeJob(h.dir, 'ticking', {
      schedule: pattern,
      timezone: 'Pacific/Kiritimati',
      check_interval: '300ms',
      runtime: '1s',
      program: { sleeper: { command: 'sleep 1000', startsecs: 0 } },
    });
    const scheduled = await jobCli(h.redis.url, ['schedule', file]);
    assert.equal(scheduled.code, 0, scheduled.stderr);
    assert.ok(
      scheduled.stdout.startsWith(`ticking: ${pattern} (Pacific/Kiritimati), next 2`),
      scheduled.stdout,
    );
    const list = await jobCli(h.redis.url, ['list']);
    assert.ok(list.stdout.includes(`${pattern} Pacific/Kiritimati (next `), list.stdout);

    const first = await h.runs.until('ticking', (s) => s.outcome !== undefined, {
      what: 'a scheduled run ended',
    });
    assert.equal(first.outcome?.reason, 'runtime', JSON.stringify(first.outcome));
    const reference = Date.parse(first.referenceTime);
    assert.equal(reference % 4000, 0, `the scheduled time is the reference time (${first.referenceTime})`);
    assert.match(first.events.at(-1)!.message, /run started by schedule job\.ticking/);
    const second = await h.runs.until('ticking', (s) => s.runId !== first.runId && s.outcome !== undefined, {
      what: 'the next scheduled run ended',
    });
    assert.ok(Date.parse(second.referenceTime) > reference);

    const removed = await jobCli(h.redis.url, ['unschedule', 'ticking']);
    assert.equal(removed.code, 0, removed.stderr);
    assert.equal(removed.stdout, 'ticking: schedule removed\n');
    const queue = new Queue(first.queue, { connection: redisOptions(h.redis.url) });
    try {
      assert.deepEqual(await queue.getJobSchedulers(), [], 'no scheduler left');
      const pending = await queue.getJobs(['delayed', 'waiting']);
      assert.deepEqual(
        pending.filter((job) => job.name === 'scheduled-start').map((job) => job.id),
        [],
        'no scheduled start left',
      );
    } finally {
      await queue.close();
    }
    const listed = await jobCli(h.redis.url, ['list']);
    assert.match(listed.stdout, /ticking .* -\n/);
  });

  test('a scheduled start while the job runs is refused quietly, noted in the running run', async () => {
    const file = await writeJob(h.dir, 'busy', {
      schedule: '*/2 * * * * *',
      check_interval: '300ms',
      program: { sleeper: { command: 'sleep 1000', startsecs: 0 } },
    });
    const scheduled = await jobCli(h.redis.url, ['schedule', file]);
    assert.equal(scheduled.code, 0, scheduled.stderr);
    const running = await h.runs.until('busy', (s) => s.active, { what: 'a scheduled run' });
    const refused = await h.runs.until(
      'busy',
      (s) => s.events.some((e) => /scheduled start at .* refused: this run is active/.test(e.message)),
      { what: 'a refused start noted' },
    );
    assert.equal(refused.runId, running.runId);
    assert.equal(refused.active, true);
    assert.equal((await jobCli(h.redis.url, ['unschedule', 'busy'])).code, 0);
    const stopped = await jobCli(h.redis.url, ['stop', 'busy']);
    assert.equal(stopped.code, 0, stopped.stderr);
    await waitUntil(async () => ((await h.runs.store.activeRun('busy')) === undefined ? true : undefined));
  });

  test('a job file without a schedule cannot be scheduled: exit 1 saying what to add', async () => {
    const file = await writeJob(h.dir, 'plain', { program: { sleeper: { command: 'sleep 1000' } } });
    const result = await jobCli(h.redis.url, ['schedule', file]);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /job plain has no schedule: add schedule:/);
  });
});
