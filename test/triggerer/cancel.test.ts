/**
 * Cancellation across processes: the CLI (or SDK) in this process cancels triggers held by real
 * triggerer processes on a real supervisord. The holder runs onCancel (on_cancel: stop_programs stops
 * the programs) and the continuation runs exactly once with `cancelled`.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Job, Queue } from 'bullmq';
import { cancel, defer, TriggerAlreadyFinished } from '../../src/client/index.js';
import { TRIGGERS_QUEUE, type TriggerEvent } from '../../src/protocol/index.js';
import { redisOptions } from '../../src/redis/connection.js';
import { runCli } from '../fixtures/cli.js';
import { waitUntil, type OwnedProcess } from '../fixtures/processes.js';
import { startRedis, type RedisHandle } from '../fixtures/redis.js';
import { startSupervisord, type SupervisordHandle } from '../fixtures/supervisord.js';
import {
  countContinuations,
  programState,
  startTriggerer,
  supervisorctl,
  writeTriggererConfig,
  type ContinuationCounter,
} from '../fixtures/triggerers.js';

const PROGRAM = 'command=sleep 1000\nautostart=true\nstartsecs=0\nstopsignal=KILL';
const RESUME = 'resume-cancel';

describe('cancel across processes', () => {
  let redis: RedisHandle;
  let supervisord: SupervisordHandle;
  let configPath: string;
  let triggers: Queue;
  let counter: ContinuationCounter;
  let env: NodeJS.ProcessEnv;
  const procs: OwnedProcess[] = [];

  before(async () => {
    [redis, supervisord] = await Promise.all([
      startRedis(),
      startSupervisord({ programs: { d1: PROGRAM, c1: PROGRAM, c2: PROGRAM, e1: PROGRAM } }),
    ]);
    configPath = await writeTriggererConfig(supervisord.dir, supervisord.endpoint.url);
    triggers = new Queue(TRIGGERS_QUEUE, { connection: redisOptions(redis.url) });
    counter = countContinuations(redis.url, RESUME);
    env = { REDIS_URL: redis.url };
  });

  after(async () => {
    await Promise.all(procs.map((p) => p.stop()));
    await counter?.close();
    await triggers?.close();
    await supervisord?.stop();
    await redis?.stop();
  });

  const deferOn = (id: string, programs: string[], onCancel = true) =>
    defer(
      {
        classpath: 'supervisor.ProgramStateTrigger',
        kwargs: {
          endpoint: 'box',
          programs,
          states: ['STOPPED'],
          ...(onCancel && { on_cancel: 'stop_programs' }),
        },
      },
      { connection: redis.url, id, continuation: { queue: RESUME, name: 'resume' } },
    );

  const stateOf = async (id: string) => (await Job.fromId(triggers, id))?.getState();
  const isActive = async (id: string) => ((await stateOf(id)) === 'active' ? true : undefined);
  const resumed = (id: string) =>
    waitUntil(() => counter.runs.get(`${id}-resume`)?.[0], {
      timeoutMs: 15_000,
      what: `the continuation of ${id}`,
    });

  test('a waiting trigger is cancelled with no triggerer running; the first triggerer to claim it runs onCancel and releases the continuation with cancelled', async () => {
    await deferOn('waiting-1', ['d1']);
    const result = await runCli(['cancel', 'waiting-1', '--reason', 'task killed'], { env });
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /cancel requested for trigger 'waiting-1' \(waiting/);
    assert.equal(await stateOf('waiting-1'), 'waiting');

    procs.push(await startTriggerer(redis.url, configPath), await startTriggerer(redis.url, configPath));
    const event = await resumed('waiting-1');
    assert.equal(event.status, 'cancelled');
    assert.equal(event.payload.reason, 'task killed');
    assert.equal(counter.runs.get('waiting-1-resume')?.length, 1);
    assert.equal(await programState(supervisord.configPath, 'd1'), 'STOPPED');
  });

  test('cancel of an active trigger held by another process runs onCancel (stop_programs) and the continuation gets cancelled', async () => {
    await deferOn('active-1', ['c1', 'c2']);
    await waitUntil(() => isActive('active-1'), { what: 'active-1 claimed by a triggerer' });
    assert.equal(await programState(supervisord.configPath, 'c1'), 'RUNNING');
    const result = await runCli(['cancel', 'active-1', '--reason', 'user asked'], { env });
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /\(active: its triggerer is stopping it\)/);
    const event = await resumed('active-1');
    assert.equal(event.status, 'cancelled');
    assert.equal(event.payload.reason, 'user asked');
    assert.equal(event.payload.onCancelError, undefined);
    assert.equal(await programState(supervisord.configPath, 'c1'), 'STOPPED');
    assert.equal(await programState(supervisord.configPath, 'c2'), 'STOPPED');
    assert.equal(counter.runs.get('active-1-resume')?.length, 1);
  });

  test('cancel of an unknown or already finished trigger says so and exits 1', async () => {
    const unknown = await runCli(['cancel', 'no-such-trigger'], { env });
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /no trigger with id 'no-such-trigger'/);
    const finished = await runCli(['cancel', 'active-1'], { env });
    assert.equal(finished.code, 1);
    assert.match(finished.stderr, /already finished with status 'cancelled'/);
  });

  test('defer --wait exits 4 with the cancelled event when the trigger is cancelled', async () => {
    const waiting = runCli(
      [
        'defer',
        '--classpath',
        'time.TimeDeltaTrigger',
        '--kwargs',
        '{"delta":"1h"}',
        '--id',
        'wait-1',
        '--wait',
      ],
      { env },
    );
    await waitUntil(() => isActive('wait-1'), { what: 'wait-1 claimed by a triggerer' });
    await cancel('wait-1', { connection: redis.url, reason: 'enough' });
    const result = await waiting;
    assert.equal(result.code, 4, result.stderr);
    const event = JSON.parse(result.stdout) as TriggerEvent;
    assert.equal(event.status, 'cancelled');
    assert.equal(event.payload.reason, 'enough');
  });

  test('a cancel racing the event gives exactly one outcome per trigger, and the continuation sees that one', async () => {
    const ids = Array.from({ length: 10 }, (_, i) => `race-${i}`);
    await Promise.all(ids.map((id) => deferOn(id, ['e1'], false)));
    await waitUntil(async () => ((await Promise.all(ids.map(isActive))).every(Boolean) ? true : undefined), {
      what: 'the racing triggers claimed',
    });
    await Promise.all([
      supervisorctl(supervisord.configPath, 'stop', 'e1'),
      ...ids.map((id) =>
        cancel(id, { connection: redis.url }).catch((error: unknown) => {
          if (!(error instanceof TriggerAlreadyFinished)) throw error;
        }),
      ),
    ]);
    const resume = new Queue(RESUME, { connection: redisOptions(redis.url) });
    try {
      await waitUntil(
        async () => {
          const states = await Promise.all(
            ids.map(async (id) => (await Job.fromId(resume, `${id}-resume`))?.getState()),
          );
          return states.every((s) => s === 'completed') ? true : undefined;
        },
        { timeoutMs: 15_000, what: 'every racing continuation completed' },
      );
    } finally {
      await resume.close();
    }
    for (const id of ids) {
      const runs = counter.runs.get(`${id}-resume`) ?? [];
      assert.equal(runs.length, 1, `${id} resumed ${runs.length} times`);
      const committed = (await Job.fromId(triggers, id))?.returnvalue as TriggerEvent;
      assert.ok(['fired', 'cancelled'].includes(committed.status));
      assert.equal(runs[0]?.status, committed.status, `${id}: the continuation saw the committed outcome`);
    }
  });
});
