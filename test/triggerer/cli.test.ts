import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runCli } from '../fixtures/cli.js';
import { freePort } from '../fixtures/ports.js';
import { startRedis } from '../fixtures/redis.js';
import { spawnOwned, waitUntil, type OwnedProcess } from '../fixtures/processes.js';
import { tempDir } from '../fixtures/tmp.js';
import { isAlive } from '../../src/redis/connection.js';

const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));

describe('triggerer CLI with its embedded redis', () => {
  let dir: { path: string; remove(): Promise<void> };
  let daemon: OwnedProcess;
  let env: NodeJS.ProcessEnv;
  let redisPid: number;
  let metricsPort: number;

  before(async () => {
    dir = await tempDir('trg-');
    // No REDIS_URL: the triggerer must start its own redis-server in the state dir.
    env = { REDIS_URL: '', SUPERVISOR_TRIGGERER_STATE_DIR: dir.path };
    metricsPort = await freePort();
    daemon = spawnOwned(
      process.execPath,
      [
        '--import',
        'tsx',
        MAIN,
        'triggerer',
        '--log-level',
        'info',
        '--metrics-port',
        String(metricsPort),
        '--metrics-host',
        '127.0.0.2',
      ],
      { env: { ...process.env, ...env } },
    );
    await waitUntil(() => (daemon.output().includes('triggerer ready') ? true : undefined), {
      timeoutMs: 30_000,
      what: `triggerer ready; output so far:\n${daemon.output()}`,
    });
    const discovery = JSON.parse(await readFile(join(dir.path, 'redis.json'), 'utf8')) as { pid: number };
    redisPid = discovery.pid;
  });

  after(async () => {
    await daemon?.stop();
    if (redisPid && isAlive(redisPid)) process.kill(redisPid, 'SIGKILL');
    await dir?.remove();
  });

  test('defer --wait from another process finds the embedded redis and prints the fired event', async () => {
    const result = await runCli(
      [
        'defer',
        '--classpath',
        'time.TimeDeltaTrigger',
        '--kwargs',
        '{"delta":"200ms"}',
        '--id',
        'cli-fire',
        '--wait',
      ],
      { env },
    );
    assert.equal(result.code, 0, result.stderr);
    const event = JSON.parse(result.stdout) as { triggerId: string; status: string };
    assert.equal(event.triggerId, 'cli-fire');
    assert.equal(event.status, 'fired');
  });

  test('defer without --wait prints the trigger id', async () => {
    const result = await runCli(
      ['defer', '--classpath', 'time.TimeDeltaTrigger', '--kwargs', '{"delta":"1h"}'],
      {
        env,
      },
    );
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout.trim(), /^[0-9a-f-]{36}$/);
  });

  test('defer --wait --timeout exits 3 with a timeout event when the deadline passes first', async () => {
    const result = await runCli(
      [
        'defer',
        '--classpath',
        'time.TimeDeltaTrigger',
        '--kwargs',
        '{"delta":"1h"}',
        '--timeout',
        '300ms',
        '--wait',
      ],
      { env },
    );
    assert.equal(result.code, 3, result.stderr);
    assert.equal((JSON.parse(result.stdout) as { status: string }).status, 'timeout');
  });

  test('defer --wait exits 1 with a failed event naming the problem when the kwargs are invalid', async () => {
    const result = await runCli(
      ['defer', '--classpath', 'time.TimeDeltaTrigger', '--kwargs', '{"delta":"soon"}', '--wait'],
      { env },
    );
    assert.equal(result.code, 1, result.stderr);
    const event = JSON.parse(result.stdout) as { status: string; payload: { error: string } };
    assert.equal(event.status, 'failed');
    assert.match(event.payload.error, /invalid kwargs for time.TimeDeltaTrigger: delta/);
  });

  test('defer rejects kwargs that are not a JSON object with exit code 2', async () => {
    const result = await runCli(['defer', '--classpath', 'time.TimeDeltaTrigger', '--kwargs', '[1]'], {
      env,
    });
    assert.equal(result.code, 2);
    assert.match(result.stderr, /--kwargs: expected a JSON object/);
  });

  test('status --json counts the triggers per state, and the table lists them', async () => {
    const json = await runCli(['status', '--json'], { env });
    assert.equal(json.code, 0, json.stderr);
    const { triggerers, triggers: report } = JSON.parse(json.stdout) as {
      triggerers: { pid: number; capacity: number }[];
      triggers: { total: Record<string, number>; endpoints: Record<string, unknown> };
    };
    assert.deepEqual(
      triggerers.map((t) => [t.pid, t.capacity]),
      [[daemon.child.pid, 1000]],
      'the running triggerer is listed from its heartbeat',
    );
    assert.ok(report.total.completed !== undefined && report.total.completed >= 2);
    assert.ok(report.total.active !== undefined && report.total.active >= 1, 'the 1h trigger is active');
    assert.ok(report.endpoints['-']);
    const table = await runCli(['status'], { env });
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, /^triggerers \(1 live\)\n\s+ID\s+HOST\s+PID\s+RUNNING\/CAPACITY/);
    assert.match(table.stdout, /\n\s+ENDPOINT\s+WAITING\s+ACTIVE\s+DELAYED\s+COMPLETED\s+FAILED/);
    assert.match(table.stdout, /\n\s+TOTAL\s+\d+/);
  });

  test('the daemon serves /metrics and /readyz on --metrics-port, bound to --metrics-host only', async () => {
    const ready = await fetch(`http://127.0.0.2:${metricsPort}/readyz`);
    assert.equal(ready.status, 200, await ready.text());
    const metrics = await (await fetch(`http://127.0.0.2:${metricsPort}/metrics`)).text();
    assert.match(metrics, /^supervisor_triggerer_capacity 1000$/m);
    await assert.rejects(fetch(`http://127.0.0.1:${metricsPort}/healthz`), 'nothing listens on 127.0.0.1');
  });

  test('on SIGTERM the triggerer gives way on the CPU once its hand-off is offered, stops its embedded redis-server and removes the discovery file', async () => {
    assert.ok(isAlive(redisPid));
    await daemon.stop();
    assert.equal(daemon.child.exitCode, 0, daemon.output());
    // It stopped at its own priority, and took the lowest (read back from the OS) once the hand-off
    // was offered, leaving the CPU to its peers for the rest.
    const lines = daemon
      .output()
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { msg?: string; nice?: number });
    const stopping = lines.findIndex((l) => l.msg === 'stopping');
    const givingWay = lines.findIndex((l) => l.msg === 'hand-off offered; giving way on the CPU');
    assert.ok(stopping >= 0 && givingWay > stopping, daemon.output());
    assert.equal(lines[stopping]?.nice, undefined);
    assert.equal(lines[givingWay]?.nice, 19);
    await waitUntil(() => (isAlive(redisPid) ? undefined : true), { what: 'embedded redis-server gone' });
    assert.equal(existsSync(join(dir.path, 'redis.json')), false);
  });
});

test('defer without REDIS_URL and without a running triggerer says how to get a Redis', async () => {
  const dir = await tempDir('trg-');
  try {
    const result = await runCli(['defer', '--classpath', 'time.TimeDeltaTrigger'], {
      env: { REDIS_URL: '', SUPERVISOR_TRIGGERER_STATE_DIR: dir.path },
    });
    assert.equal(result.code, 1);
    assert.match(result.stderr, /no Redis: set REDIS_URL/);
  } finally {
    await dir.remove();
  }
});

test('a triggerer whose metrics port is taken exits 1 saying how to choose another port or none', async () => {
  const redis = await startRedis();
  // The port is held by a server of this test, as another triggerer on the host would hold it.
  const holder = createServer();
  await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
  const port = (holder.address() as AddressInfo).port;
  try {
    const result = await runCli(['triggerer', '--metrics-port', String(port)], {
      env: { REDIS_URL: redis.url },
    });
    assert.equal(result.code, 1, result.stderr);
    const lines = result.stderr.split('\n').filter(Boolean);
    assert.equal(lines.length, 1, result.stderr);
    assert.match(lines[0] ?? '', new RegExp(`cannot listen on 127\\.0\\.0\\.1:${port}: EADDRINUSE`));
    assert.match(lines[0] ?? '', /--metrics-port N \(or metrics_port: N in the config\)/);
    assert.match(lines[0] ?? '', /--metrics-port none/);
  } finally {
    await new Promise((resolve) => holder.close(resolve));
    await redis.stop();
  }
});
