/**
 * The `job` CLI: what status, list and logs show of a real run, and the clear errors for a job file
 * that does not validate, a job that is not running, and a host no worker serves.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { hostname } from 'node:os';
import type { RunStatus } from '../../src/jobs/runs.js';
import { jobCli, startJobsHarness, writeJob, type JobsHarness } from '../fixtures/jobs.js';
import { startRedis } from '../fixtures/redis.js';

describe('job CLI', () => {
  let h: JobsHarness;
  before(async () => {
    h = await startJobsHarness('jcli-');
  });
  after(() => h?.stop());

  test('status (text and --json), list and logs show a running job', async () => {
    await writeJob(h.dir, 'shown', {
      check_interval: '300ms',
      runtime: '10m',
      maxretrigger: 4,
      program: { ticker: { command: "sh -c 'echo hello-from-ticker; exec sleep 1000'", startsecs: 0 } },
    });
    const runId = await h.start('shown');
    await h.runs.until('shown', (s) => s.step === 'watch' && s.trigger !== undefined, { what: 'watching' });

    const json = await jobCli(h.redis.url, ['status', 'shown', '--json']);
    assert.equal(json.code, 0, json.stderr);
    const status = JSON.parse(json.stdout) as RunStatus;
    assert.equal(status.runId, runId);
    assert.equal(status.active, true);
    assert.equal(status.step, 'watch');
    assert.equal(status.cycle, 1);
    assert.equal(status.retriggers, 0);
    assert.equal(status.workers, 1);
    assert.equal(status.queue, `st-jobs.${hostname()}`);
    assert.deepEqual(
      status.programs.map((p) => [p.name, p.state]),
      [['ticker:ticker', 'RUNNING']],
    );
    assert.equal(Date.parse(status.limits.runtimeEndsAt!), Date.parse(status.referenceTime) + 600_000);
    assert.equal(status.limits.maxretrigger, 4);
    assert.ok(status.limits.watchDeadline, 'when the watch times out');
    assert.ok(status.events.some((e) => e.step === 'start-programs'));

    const text = await jobCli(h.redis.url, ['status', 'shown']);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /step +watch, cycle 1, retriggers 0 of 4/);
    assert.match(text.stdout, /runtime ends \d{4}-/);
    assert.match(text.stdout, /ticker:ticker RUNNING pid \d+/);

    const list = await jobCli(h.redis.url, ['list']);
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, new RegExp(`shown +running +${runId.replace(/\./g, '\\.')} +watch +1`));

    const logs = await jobCli(h.redis.url, ['logs', 'shown', 'ticker']);
    assert.equal(logs.code, 0, logs.stderr);
    assert.match(logs.stdout, /hello-from-ticker/);

    const stopped = await jobCli(h.redis.url, ['stop', 'shown']);
    assert.equal(stopped.code, 0, stopped.stderr);
    assert.equal(stopped.stdout, `${runId}: stopped (stopped by job stop)\n`);
    const events = await jobCli(h.redis.url, ['logs', 'shown']);
    assert.match(events.stdout, /\[start\/1\] supervisord started/);
    assert.match(events.stdout, /\[end\/1\] run stopped/);
  });

  test('a job file that does not validate: exit 1, one line per problem, nothing started', async () => {
    const file = join(h.dir, 'broken.yaml');
    await writeFile(file, 'working_dir: /tmp/x\ncheck_interval: soon\nmaxretrigger: -1\nprogram: {}\n');
    const result = await jobCli(h.redis.url, ['start', file]);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /check_interval/);
    assert.match(result.stderr, /maxretrigger/);
    const status = await jobCli(h.redis.url, ['status', 'broken']);
    assert.equal(status.code, 1);
    assert.match(status.stderr, /no job named broken/);
  });

  test('stop of a job that is not running, status of one never run: exit 1 saying so', async () => {
    const stop = await jobCli(h.redis.url, ['stop', 'nothing']);
    assert.equal(stop.code, 1);
    assert.match(stop.stderr, /job nothing is not running/);
    const status = await jobCli(h.redis.url, ['status', 'nothing']);
    assert.equal(status.code, 1);
    assert.match(status.stderr, /no job named nothing/);
  });

  test('start when no worker serves the job’s host: exit 1 naming the queue, no run started', async (t) => {
    const bare = await startRedis();
    t.after(() => bare.stop());
    const file = await writeJob(h.dir, 'orphan', { program: { sleeper: { command: 'sleep 1000' } } });
    const result = await jobCli(bare.url, ['start', file]);
    assert.equal(result.code, 1);
    assert.match(result.stderr, new RegExp(`no worker serves st-jobs\\.${hostname()}`));
    const list = await jobCli(bare.url, ['list']);
    assert.equal(list.stdout, 'no jobs\n');
  });
});
