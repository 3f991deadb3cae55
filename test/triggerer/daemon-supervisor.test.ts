import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Queue, Worker } from 'bullmq';
import { pino } from 'pino';
import { TriggerRegistry } from '../../triggers/index.js';
import { cancel, defer, readTriggerEvent, waitFor } from '../../src/client/index.js';
import { SupervisorClient } from '../../src/supervisor/client.js';
import { TRIGGERS_QUEUE, type TriggerEvent } from '../../src/protocol/index.js';
import { ConnectionResolver } from '../../src/triggerer/connections.js';
import { Triggerer } from '../../src/triggerer/daemon.js';
import { SharedPollers } from '../../src/triggerer/pollers.js';
import type { SupervisorEndpoint } from '../../src/supervisor/endpoint.js';
import { buildRecord } from '../../src/client/defer.js';
import { CountingClient, intervalWithBeatIn } from '../fixtures/polls.js';
import { redisOptions } from '../../src/redis/connection.js';
import { startRedis, type RedisHandle } from '../fixtures/redis.js';
import { startSupervisord, type SupervisordHandle } from '../fixtures/supervisord.js';
import { spawnOwned, waitUntil } from '../fixtures/processes.js';
import { waitForLogLine } from '../fixtures/log-lines.js';

const PASSWORD = 's3cret-pw-0451';
const WRONG_PASSWORD = 'hunter2-wrong-pw';

describe('Triggerer with a real supervisord', () => {
  let redis: RedisHandle;
  let supervisord: SupervisordHandle;
  let triggerer: Triggerer;
  let continuation: Worker;
  let triggers: Queue;
  let endpoints: ConnectionResolver;
  const runs: TriggerEvent[] = [];
  const logLines: string[] = [];

  before(async () => {
    redis = await startRedis();
    supervisord = await startSupervisord({
      username: 'watcher',
      password: PASSWORD,
      programs: {
        sleeper: 'command=sleep 1000\nautostart=true\nstartsecs=0\nstopsignal=KILL',
        flipper: 'command=sleep 1000\nautostart=false\nstartsecs=0\nstopsignal=KILL',
      },
    });
    const passwordFile = join(supervisord.dir, 'password');
    await writeFile(passwordFile, `${PASSWORD}\n`, { mode: 0o600 });
    endpoints = await ConnectionResolver.create({
      connections: {
        'box-1': { url: supervisord.endpoint.url, username: 'watcher', password_file: passwordFile },
        'box-bad': { url: supervisord.endpoint.url, username: 'watcher', password: WRONG_PASSWORD },
      },
      env: {},
    });
    triggerer = new Triggerer({
      connection: redisOptions(redis.url),
      registry: new TriggerRegistry(),
      endpoints,
      defaultIntervalMs: 200,
      logger: pino({ level: 'debug' }, { write: (line: string) => void logLines.push(line) }),
    });
    await triggerer.start();
    triggers = new Queue(TRIGGERS_QUEUE, { connection: redisOptions(redis.url) });
    continuation = new Worker(
      'task-sup',
      async (job) => {
        runs.push(await readTriggerEvent(job));
      },
      { connection: redisOptions(redis.url) },
    );
  });

  /** getAllProcessInfo polls of box-1 so far, from the triggerer's own counter. */
  const pollCount = async () => {
    const text = await triggerer.metrics.registry.metrics();
    const line = text
      .split('\n')
      .find((l) => l.startsWith('supervisor_triggerer_polls_total{endpoint="box-1",outcome="ok"}'));
    return Number(line?.split(' ').at(-1) ?? 0);
  };

  after(async () => {
    await continuation?.close();
    await triggers?.close();
    await triggerer?.close();
    await supervisord?.stop();
    await redis?.stop();
  });

  test('a deferred ProgramStateTrigger fires after supervisorctl stops the program; its continuation runs once', async () => {
    await defer(
      {
        classpath: 'supervisor.ProgramStateTrigger',
        kwargs: { endpoint: 'box-1', programs: ['sleeper'], states: ['STOPPED'], interval: '200ms' },
      },
      { connection: redis.url, id: 'sup-stop-1', continuation: { queue: 'task-sup', name: 'resume' } },
    );
    await waitUntil(
      async () => ((await triggers.getJobState('sup-stop-1')) === 'active' ? true : undefined),
      {
        what: 'trigger claimed',
      },
    );
    // Claimed and watching while the program is RUNNING: it cannot have fired yet.
    await waitUntil(() =>
      logLines.some((l) => l.includes('sup-stop-1') && l.includes('watching')) ? true : undefined,
    );
    assert.equal(runs.length, 0);
    const ctl = spawnOwned('supervisorctl', ['-c', supervisord.configPath, 'stop', 'sleeper']);
    await ctl.exited;
    assert.equal(ctl.child.exitCode, 0, ctl.output());
    await waitUntil(() => (runs.length > 0 ? true : undefined), { what: 'continuation ran' });
    const resume = new Queue('task-sup', { connection: redisOptions(redis.url) });
    try {
      await waitUntil(async () =>
        (await resume.getJobState('sup-stop-1-resume')) === 'completed' ? true : undefined,
      );
    } finally {
      await resume.close();
    }
    assert.equal(runs.length, 1);
    const event = runs[0];
    assert.equal(event?.triggerId, 'sup-stop-1');
    assert.equal(event?.status, 'fired');
    assert.deepEqual(event?.payload.matched, ['sleeper:sleeper']);
  });

  test("triggers adopted from a closing peer are polled on the endpoint's next beat, not at once", async () => {
    const prefix = 'beat';
    // A beat 1.5-2.5 s away: the peer adopts long before it (it would poll at once if it did not wait).
    const { intervalMs, nextBeatAt } = intervalWithBeatIn('box-1', 1500, 2500, 3000);
    const triggererWith = (client: (endpoint: SupervisorEndpoint) => CountingClient, lines: string[]) =>
      new Triggerer({
        connection: redisOptions(redis.url),
        registry: new TriggerRegistry(),
        endpoints,
        prefix,
        pollers: new SharedPollers({
          resolveEndpoint: (name) => endpoints.resolve(name),
          createClient: client,
        }),
        logger: pino({ level: 'info' }, { write: (line: string) => void lines.push(line) }),
      });
    /** Builds counting clients, kept in `list`. */
    const countingInto = (list: CountingClient[]) => (endpoint: SupervisorEndpoint) => {
      const client = new CountingClient(endpoint);
      list.push(client);
      return client;
    };
    const clients: CountingClient[] = [];
    const peerClients: CountingClient[] = [];
    const peerLines: string[] = [];
    const first = triggererWith(countingInto(clients), []);
    const second = triggererWith(countingInto(peerClients), peerLines);
    const queue = new Queue(TRIGGERS_QUEUE, { connection: redisOptions(redis.url), prefix });
    try {
      await first.start();
      await queue.addBulk(
        ['a', 'b', 'c'].map((id) => ({
          name: 'trigger',
          data: buildRecord({
            classpath: 'supervisor.ProgramStateTrigger',
            kwargs: {
              endpoint: 'box-1',
              programs: ['sleeper'],
              states: ['FATAL'],
              interval: `${intervalMs}ms`,
            },
          }),
          opts: { jobId: `beat-${id}` },
        })),
      );
      await waitUntil(() => (first.metrics.watching === 3 ? true : undefined), { what: 'three watched' });
      assert.ok(clients[0] && clients[0].calls >= 1, 'a fresh trigger polls at once');
      await second.start();
      await first.close();
      const adopted = await waitForLogLine(peerLines, 'adopted triggers from a closing peer');
      assert.equal(adopted.triggers, 3);
      await waitUntil(() => (peerClients[0]?.calls ? true : undefined), { what: "the peer's first poll" });
      const firstCall = peerClients[0]?.callTimes[0] ?? 0;
      // Node's timers may fire up to 1 ms early (they round to whole ms).
      assert.ok(firstCall >= nextBeatAt - 1, `first poll at ${firstCall}, the beat at ${nextBeatAt}`);
    } finally {
      await first.close();
      await second.close();
      await queue.close();
    }
  });

  test("a trigger deferred while the endpoint's shared poll runs never decides on a snapshot taken before it existed", async () => {
    const interval = '60s';
    const stateTrigger = (states: string[]) => ({
      classpath: 'supervisor.ProgramStateTrigger',
      kwargs: { endpoint: 'box-1', programs: ['flipper'], states, interval },
    });
    const pollsBefore = await pollCount();
    // Another trigger keeps the endpoint polled (every 60 s): its first poll sees flipper STOPPED.
    await defer(stateTrigger(['FATAL']), { connection: redis.url, id: 'keeper-1' });
    await waitUntil(async () => ((await pollCount()) > pollsBefore ? true : undefined), {
      what: "the keeper's first poll",
    });
    const client = new SupervisorClient({ ...supervisord.endpoint });
    try {
      await client.startProcess('flipper', true);
      assert.equal((await client.getProcessInfo('flipper')).statename, 'RUNNING');
    } finally {
      await client.close();
    }
    // Deferred after flipper was confirmed RUNNING: the shared poll's STOPPED snapshot is older than
    // the trigger, and the next poll is up to a minute away; the deadline comes first.
    await defer(stateTrigger(['STOPPED']), { connection: redis.url, id: 'stale-1', timeout: '3s' });
    const event = await waitFor('stale-1', { connection: redis.url, timeoutMs: 20_000 });
    assert.equal(event.status, 'timeout', `fired on a stale snapshot: ${JSON.stringify(event.payload)}`);
    await cancel('keeper-1', { connection: redis.url });
    await waitFor('keeper-1', { connection: redis.url, timeoutMs: 10_000 });
  });

  test('a wrong password fails the trigger with a reason that never contains the password', async () => {
    await defer(
      { classpath: 'supervisor.ProgramStateTrigger', kwargs: { endpoint: 'box-bad', states: ['STOPPED'] } },
      { connection: redis.url, id: 'sup-badpw-1' },
    );
    const event = await waitFor('sup-badpw-1', { connection: redis.url, timeoutMs: 10_000 });
    assert.equal(event.status, 'failed');
    assert.ok(String(event.payload.error).length > 0);
    assert.ok(!JSON.stringify(event).includes(WRONG_PASSWORD), 'event holds no password');
    assert.ok(
      !logLines.some((l) => l.includes(WRONG_PASSWORD) || l.includes(PASSWORD)),
      'no log line holds a password',
    );
  });
});
