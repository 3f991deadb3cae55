import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { ignoreElements, map, timer } from 'rxjs';
import { z } from 'zod';
import { defer, waitFor } from '../../src/client/index.js';
import { ConnectionResolver } from '../../src/triggerer/connections.js';
import { Triggerer } from '../../src/triggerer/daemon.js';
import { defineTrigger, type TriggerDefinition } from '../../src/triggerer/definition.js';
import { listTriggerers, type TriggererInfo } from '../../src/redis/heartbeat.js';
import { redisOptions } from '../../src/redis/connection.js';
import { runCli } from '../fixtures/cli.js';
import { protocolKeys } from '../../src/protocol/index.js';
import { waitUntil } from '../fixtures/processes.js';
import { startRedis, type RedisHandle } from '../fixtures/redis.js';

// Test-only definitions: one that fires at once, one that watches an endpoint and never fires.
const definitions: TriggerDefinition[] = [
  defineTrigger({
    classpath: 'test.Fire',
    kwargs: z.object({}),
    run: () => timer(0).pipe(map(() => ({ status: 'fired' as const, payload: {} }))),
  }),
  defineTrigger({
    classpath: 'test.Watch',
    kwargs: z.object({ endpoint: z.string() }),
    run: (kwargs, ctx) =>
      ctx
        .processInfo(kwargs.endpoint, { intervalMs: 100, unreachableBudgetMs: 600_000 })
        .pipe(ignoreElements()),
  }),
];
const registry = { get: (classpath: string) => definitions.find((d) => d.classpath === classpath) };

/** The value of one series line in Prometheus text, e.g. `name{label="x"}`; undefined when absent. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('triggerer observability wired into the daemon (real Redis)', () => {
  let redis: RedisHandle;
  let triggerer: Triggerer;
  let client: Redis;
  let metricsUrl: string;

  before(async () => {
    redis = await startRedis();
    client = new Redis(redis.url);
    const endpoints = await ConnectionResolver.create({
      // Unreachable on purpose: its polls fail, which the metrics count by outcome.
      connections: { 'box-1': { url: 'unix:///nonexistent/supervisor.sock' } },
      env: {},
    });
    triggerer = new Triggerer({
      connection: redisOptions(redis.url),
      registry,
      endpoints,
      capacity: 20,
      metricsPort: 0,
      heartbeatIntervalMs: 100,
      logger: pino({ level: 'silent' }),
    });
    await triggerer.start();
    metricsUrl = triggerer.metricsUrl ?? '';
  });

  after(async () => {
    await triggerer?.close();
    client?.disconnect();
    await redis?.stop();
  });

  const scrape = async () => (await fetch(`${metricsUrl}/metrics`)).text();

  test('a fired trigger is counted by status and its event latency observed on /metrics', async () => {
    assert.match(metricsUrl, /^http:\/\/127\.0\.0\.1:\d+$/);
    await defer({ classpath: 'test.Fire', kwargs: {} }, { connection: redis.url, id: 'm-fire' });
    assert.equal((await waitFor('m-fire', { connection: redis.url, timeoutMs: 10_000 })).status, 'fired');
    // The latency is observed on BullMQ's 'completed' event, after the commit waitFor may already see.
    const text = await waitUntil(
      async () => {
        const t = await scrape();
        return sample(t, 'supervisor_triggerer_event_latency_seconds_count') === 1 ? t : undefined;
      },
      { what: 'event latency observed' },
    );
    assert.equal(sample(text, 'supervisor_triggerer_triggers_finished_total{status="fired"}'), 1);
    assert.equal(sample(text, 'supervisor_triggerer_capacity'), 20);
  });

  test('/healthz and /readyz answer 200 while Redis is up and the worker claims', async () => {
    const ready = await fetch(`${metricsUrl}/readyz`);
    assert.equal(ready.status, 200);
    assert.deepEqual(((await ready.json()) as { ready: boolean }).ready, true);
    assert.equal((await fetch(`${metricsUrl}/healthz`)).status, 200);
  });

  test('a watcher shows in the metrics per endpoint, and status lists the triggerer with its endpoint', async () => {
    await defer(
      { classpath: 'test.Watch', kwargs: { endpoint: 'box-1' } },
      { connection: redis.url, id: 'm-watch' },
    );
    const text = await waitUntil(
      async () => {
        const t = await scrape();
        const failed = sample(t, 'supervisor_triggerer_polls_total{endpoint="box-1",outcome="error"}') ?? 0;
        return failed >= 1 ? t : undefined;
      },
      { what: 'failed polls of box-1 counted' },
    );
    assert.equal(sample(text, 'supervisor_triggerer_endpoint_watchers{endpoint="box-1"}'), 1);
    assert.equal(sample(text, 'supervisor_triggerer_triggers_running'), 1);
    assert.equal(sample(text, 'supervisor_triggerer_triggers_held'), 1);
    // The next beat carries the new load.
    await waitUntil(
      async () => {
        const [info] = await listTriggerers(client);
        return info?.endpoints['box-1'] === 1 ? true : undefined;
      },
      { what: 'heartbeat with box-1' },
    );
    const json = await runCli(['status', '--json'], { env: { REDIS_URL: redis.url } });
    assert.equal(json.code, 0, json.stderr);
    const report = JSON.parse(json.stdout) as {
      triggerers: TriggererInfo[];
      triggers: { endpoints: Record<string, { active: number }> };
    };
    assert.deepEqual(
      report.triggerers.map((t) => [t.id, t.pid, t.running, t.capacity, t.endpoints]),
      [[triggerer.id, process.pid, 1, 20, { 'box-1': 1 }]],
    );
    assert.equal(report.triggers.endpoints['box-1']?.active, 1);
    const table = await runCli(['status'], { env: { REDIS_URL: redis.url } });
    assert.equal(table.code, 0, table.stderr);
    assert.match(
      table.stdout,
      new RegExp(`\\n\\s+${triggerer.id ?? 'missing'}\\s+\\S+\\s+${process.pid}\\s+1/20\\s+box-1:1\\s`),
    );
  });

  test('close hands the watcher off, removes the heartbeat and stops the server', async () => {
    const id = triggerer.id;
    assert.ok(id);
    await triggerer.close();
    assert.deepEqual(await listTriggerers(client), []);
    assert.equal(await client.exists(protocolKeys().triggerer(id)), 0);
    await assert.rejects(fetch(`${metricsUrl}/healthz`));
    const text = await triggerer.metrics.render();
    assert.equal(sample(text, 'supervisor_triggerer_triggers_handed_off_total'), 1);
    assert.equal(sample(text, 'supervisor_triggerer_triggers_running'), 0);
    assert.equal(sample(text, 'supervisor_triggerer_triggers_held'), 0);
  });
});
