/**
 * A triggerer connection that names a job file reads the job's credentials when it needs them: a
 * triggerer started before the job is configured, or kept running across an unconfigure/configure,
 * never fails a trigger with HTTP 401 because of that order. And a trigger for an endpoint this
 * triggerer has no connection for is left to a live peer that has one.
 */
import { after, before, describe, test } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { pino } from 'pino';
import { TriggerRegistry } from '../../triggers/index.js';
import { cancel, defer, waitFor } from '../../src/client/index.js';
import { loadJobFiles, resolveJob } from '../../src/config/index.js';
import { configure, start, startPrograms, stop, unconfigure } from '../../src/supervisor/lifecycle/index.js';
import { ConnectionResolver } from '../../src/triggerer/connections.js';
import { Triggerer } from '../../src/triggerer/daemon.js';
import { redisOptions } from '../../src/redis/connection.js';
import { stopDaemons, watchPidfile, writeJobFile } from '../fixtures/daemon.js';
import { waitUntil } from '../fixtures/processes.js';
import { startRedis, type RedisHandle } from '../fixtures/redis.js';
import { tempDir } from '../fixtures/tmp.js';

describe('job connections and unknown endpoints', () => {
  let redis: RedisHandle;
  before(async () => {
    redis = await startRedis();
  });
  after(async () => {
    await stopDaemons();
    await redis?.stop();
  });

  async function triggererWith(
    t: TestContext,
    connections: Record<string, { job: string }>,
    lines: string[] = [],
  ) {
    const triggerer = new Triggerer({
      connection: redisOptions(redis.url),
      registry: new TriggerRegistry(),
      endpoints: await ConnectionResolver.create({ connections, env: {} }),
      defaultIntervalMs: 200,
      heartbeatIntervalMs: 200,
      logger: pino({ level: 'debug' }, { write: (line: string) => void lines.push(line) }),
    });
    t.after(() => triggerer.close());
    await triggerer.start();
    return triggerer;
  }

  const running = (id: string, endpoint: string) =>
    defer(
      {
        classpath: 'supervisor.ProgramStateTrigger',
        kwargs: { endpoint, programs: ['sleeper'], states: ['RUNNING'] },
      },
      { connection: redis.url, id },
    );

  test('started before the job is configured, and kept across unconfigure/configure: no 401', async (t) => {
    const dir = await tempDir('jobconn-');
    // Its supervisords first (found by their pidfiles), then their folder.
    t.after(async () => {
      await stopDaemons();
      await dir.remove();
    });
    const workingDir = join(dir.path, 'wd');
    const file = await writeJobFile(dir.path, {
      working_dir: workingDir,
      program: { sleeper: { command: 'sleep 1000', startsecs: 0 } },
    });
    watchPidfile(join(workingDir, 'supervisord.pid'));
    // The order examples/ suggests: the triggerer first, then the job.
    await triggererWith(t, { demo: { job: file } });
    const bringUp = async () => {
      const job = await resolveJob(await loadJobFiles([file]));
      await configure(job);
      await start(job);
      await startPrograms(job);
      return job;
    };
    let job = await bringUp();
    await running('after-configure', 'demo');
    const first = await waitFor('after-configure', { connection: redis.url, timeoutMs: 20_000 });
    assert.equal(first.status, 'fired', JSON.stringify(first.payload));

    // Configured anew: a new password, while the triggerer runs on.
    await stop(job);
    await unconfigure(job);
    job = await bringUp();
    await running('after-reconfigure', 'demo');
    const second = await waitFor('after-reconfigure', { connection: redis.url, timeoutMs: 20_000 });
    assert.equal(second.status, 'fired', JSON.stringify(second.payload));
    await stop(job);
  });

  test('a trigger for an endpoint this triggerer has no connection for waits for a live peer that has one', async (t) => {
    const dir = await tempDir('route-');
    t.after(async () => {
      await stopDaemons();
      await dir.remove();
    });
    const workingDir = join(dir.path, 'wd');
    const file = await writeJobFile(dir.path, {
      working_dir: workingDir,
      program: { sleeper: { command: 'sleep 1000', startsecs: 0 } },
    });
    watchPidfile(join(workingDir, 'supervisord.pid'));
    const job = await resolveJob(await loadJobFiles([file]));
    await configure(job);
    await start(job);
    await startPrograms(job);

    const strangerLines: string[] = [];
    const stranger = await triggererWith(t, {}, strangerLines);
    // The peer that knows 'routed' is full (capacity 1, busy) when the trigger is deferred.
    const knower = new Triggerer({
      connection: redisOptions(redis.url),
      registry: new TriggerRegistry(),
      endpoints: await ConnectionResolver.create({ connections: { routed: { job: file } }, env: {} }),
      defaultIntervalMs: 200,
      heartbeatIntervalMs: 200,
      capacity: 1,
      logger: pino({ level: 'silent' }),
    });
    t.after(() => knower.close());
    await knower.start();
    // Only the knower can hold the blocker: the stranger routes it there too.
    await defer(
      { classpath: 'supervisor.ProgramStateTrigger', kwargs: { endpoint: 'routed', states: ['FATAL'] } },
      { connection: redis.url, id: 'blocker' },
    );
    await waitUntil(() => (knower.running === 1 ? true : undefined), { what: 'the knower busy' });
    await running('routed-1', 'routed');
    await waitUntil(() => (strangerLines.some((l) => l.includes('left for a peer')) ? true : undefined), {
      what: 'the stranger routing it',
    });
    assert.ok(stranger.running <= 1);
    await cancel('blocker', { connection: redis.url });
    const event = await waitFor('routed-1', { connection: redis.url, timeoutMs: 20_000 });
    assert.equal(event.status, 'fired', JSON.stringify(event.payload));
  });

  test('a trigger for an endpoint no live triggerer knows fails with the reason', async (t) => {
    await triggererWith(t, {});
    await running('nobody-knows', 'nowhere');
    const event = await waitFor('nobody-knows', { connection: redis.url, timeoutMs: 20_000 });
    assert.equal(event.status, 'failed');
    assert.match(String(event.payload.error), /unknown endpoint 'nowhere'/);
  });
});
