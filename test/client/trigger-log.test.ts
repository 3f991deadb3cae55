/**
 * A trigger's own log lines, kept in Redis by the triggerer that ran it, read back by the task
 * (`readTriggerLogs`) and from the command line (`status ID --logs`), with its event's program logs.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { filter, interval, map, tap, timer } from 'rxjs';
import { z } from 'zod';
import { defer, readTriggerLogs, TriggerNotFound, waitFor } from '../../src/client/index.js';
import { protocolKeys, TRIGGER_LOG_LIMITS } from '../../src/protocol/index.js';
import { ConnectionResolver } from '../../src/triggerer/connections.js';
import { Triggerer } from '../../src/triggerer/daemon.js';
import { defineTrigger, type TriggerDefinition } from '../../src/triggerer/definition.js';
import { createLogger } from '../../src/triggerer/logger.js';
import { redisOptions } from '../../src/redis/connection.js';
import { runCli } from '../fixtures/cli.js';
import { waitUntil } from '../fixtures/processes.js';
import { startRedis, type RedisHandle } from '../fixtures/redis.js';
import { within } from '../../src/util/within.js';

const definitions: TriggerDefinition[] = [
  defineTrigger({
    classpath: 'test.Chatty',
    kwargs: z.object({}),
    run: (_, ctx) => {
      ctx.logger.info({ password: 'hunter2', step: 1 }, 'checking the box');
      ctx.logger.debug('below the level: not kept');
      return timer(0).pipe(
        map(() => ({
          status: 'fired' as const,
          payload: { logs: { 'web:web': { stdout: { text: 'served\n' }, stderr: { error: 'gone' } } } },
        })),
      );
    },
  }),
];
const registry = { get: (classpath: string) => definitions.find((d) => d.classpath === classpath) };

describe("a trigger's own log (real Redis, a triggerer in this process)", () => {
  let redis: RedisHandle;
  let triggerer: Triggerer;

  before(async () => {
    redis = await startRedis();
    triggerer = new Triggerer({
      connection: redisOptions(redis.url),
      registry,
      endpoints: await ConnectionResolver.create({ connections: {}, env: {} }),
      // the triggerer's own output is dropped: what is kept goes to Redis all the same
      logger: createLogger({ level: 'info', pretty: false, destination: { write: () => undefined } }),
    });
    await triggerer.start();
    await defer({ classpath: 'test.Chatty' }, { connection: redis.url, id: 'chatty' });
    await waitFor('chatty', { connection: redis.url, timeoutMs: 10_000 });
  });

  after(async () => {
    await triggerer?.close();
    await redis?.stop();
  });

  test('readTriggerLogs gives its lines at the level, redacted, and its event program logs', async () => {
    const logs = await waitUntil(
      async () => {
        const found = await readTriggerLogs('chatty', { connection: redis.url });
        return found.lines.some((line) => line.msg === 'trigger finished') ? found : undefined;
      },
      { what: 'the trigger log written' },
    );
    const checking = logs.lines.find((line) => line.msg === 'checking the box');
    assert.equal(checking?.triggerId, 'chatty');
    assert.equal(checking?.step, 1);
    assert.equal(checking?.password, '[redacted]');
    assert.ok(!logs.lines.some((line) => line.msg === 'below the level: not kept'));
    assert.ok(!JSON.stringify(logs).includes('hunter2'));
    assert.deepEqual(logs.programs, {
      'web:web': { stdout: { text: 'served\n' }, stderr: { error: 'gone' } },
    });
  });

  test('the lines are kept, after the trigger finished, for about the days the record is kept', async () => {
    const client = new Redis(redis.url);
    try {
      const key = protocolKeys().triggerLog('chatty');
      const ttl = await waitUntil(
        async () => {
          const ms = await client.pttl(key);
          return ms > 0 && ms <= TRIGGER_LOG_LIMITS.keepAfterMs ? ms : undefined;
        },
        { what: 'the expiry set when it finished' },
      );
      assert.ok(ttl > 7 * 86_400_000, 'longer than a failed job is kept (7 days)');
    } finally {
      client.disconnect();
    }
  });

  test('an id with neither a trigger nor a line is not found', async () => {
    await assert.rejects(readTriggerLogs('nobody', { connection: redis.url }), TriggerNotFound);
  });

  test('status ID --logs prints the lines and the program logs; --logs without an id is a usage error', async () => {
    const env = { REDIS_URL: redis.url };
    const [text, json, alone] = await Promise.all([
      runCli(['status', 'chatty', '--logs'], { env }),
      runCli(['status', 'chatty', '--logs', '--json'], { env }),
      runCli(['status', '--logs'], { env }),
    ]);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /^trigger chatty: its log \(\d+ lines\)\n/);
    assert.match(text.stdout, /INFO checking the box \{"password":"\[redacted\]","step":1\}/);
    assert.match(
      text.stdout,
      /program logs of its event\n {2}web:web stdout\n {4}\| served\n {2}web:web stderr: gone\n/,
    );
    assert.ok(!text.stdout.includes('hunter2'));
    const parsed = JSON.parse(json.stdout) as { lines: unknown[]; programs: object };
    assert.ok(parsed.lines.length >= 2);
    assert.equal(alone.code, 2);
    assert.match(alone.stderr, /--logs needs a trigger id/);
  });
});

test('a triggerer closed while Redis is away still closes: its unwritten trigger log lines do not hold it', async () => {
  const redis = await startRedis();
  const logger = createLogger({ level: 'info', pretty: false, destination: { write: () => undefined } });
  const triggerer = new Triggerer({
    connection: redisOptions(redis.url),
    registry: {
      get: (classpath: string) =>
        classpath === 'test.Forever'
          ? defineTrigger({
              classpath: 'test.Forever',
              kwargs: z.object({}),
              // A line every 100 ms: some are always buffered, and cannot be written while Redis is away.
              run: (_, ctx) =>
                interval(100).pipe(
                  tap((n) => ctx.logger.info({ n }, 'still watching')),
                  filter(() => false),
                  map(() => ({ status: 'fired' as const, payload: {} })),
                ),
            })
          : undefined,
    },
    endpoints: await ConnectionResolver.create({ connections: {}, env: {} }),
    logger,
  });
  let closed = false;
  try {
    await triggerer.start();
    await defer({ classpath: 'test.Forever' }, { connection: redis.url, id: 'forever' });
    await waitUntil(() => (triggerer.metrics.watching > 0 ? true : undefined), { what: 'watching' });
    await redis.stop();
    closed = await within(triggerer.close(), 60_000);
  } finally {
    if (!closed) await redis.stop().catch(() => undefined);
  }
  assert.equal(closed, true, 'close() returned within 60 s');
});
