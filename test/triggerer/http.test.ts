import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import {
  HealthServerError,
  startHealthServer,
  type HealthServer,
  type HealthStatus,
} from '../../src/triggerer/http.js';
import { TriggererMetrics } from '../../src/triggerer/metrics.js';

describe('health and metrics server', () => {
  const metrics = new TriggererMetrics({ capacity: 4, defaultMetrics: false });
  let status: HealthStatus = { live: true, ready: true, detail: { redis: 'ready', worker: 'running' } };
  let server: HealthServer;

  before(async () => {
    server = await startHealthServer({ port: 0, metrics, health: () => status });
  });

  after(async () => {
    await server?.close();
    metrics.close();
  });

  test('port 0 binds a free port on loopback and returns it', () => {
    assert.ok(server.port > 0);
    assert.equal(server.host, '127.0.0.1');
    assert.equal(server.url, `http://127.0.0.1:${server.port}`);
  });

  test('/metrics serves the Prometheus text of the registry', async () => {
    metrics.triggerStarted();
    const response = await fetch(`${server.url}/metrics`);
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
    const text = await response.text();
    assert.match(text, /^supervisor_triggerer_triggers_running 1$/m);
    assert.match(text, /^supervisor_triggerer_capacity_left 3$/m);
  });

  test('/healthz and /readyz answer 200 when live and ready', async () => {
    status = { live: true, ready: true, detail: { redis: 'ready', worker: 'running' } };
    assert.equal((await fetch(`${server.url}/healthz`)).status, 200);
    const ready = await fetch(`${server.url}/readyz`);
    assert.equal(ready.status, 200);
    assert.deepEqual(await ready.json(), status);
  });

  test('/readyz answers 503 with the JSON reason when not ready, while /healthz stays 200', async () => {
    status = { live: true, ready: false, detail: { reason: 'redis not connected', redis: 'reconnecting' } };
    assert.equal((await fetch(`${server.url}/healthz`)).status, 200);
    const ready = await fetch(`${server.url}/readyz`);
    assert.equal(ready.status, 503);
    assert.equal(ready.headers.get('content-type'), 'application/json');
    assert.deepEqual(await ready.json(), {
      live: true,
      ready: false,
      detail: { reason: 'redis not connected', redis: 'reconnecting' },
    });
  });

  test('/healthz answers 503 when the daemon reports itself not live', async () => {
    status = { live: false, ready: true, detail: { reason: 'worker stopped' } };
    assert.equal((await fetch(`${server.url}/healthz`)).status, 503);
    assert.equal((await fetch(`${server.url}/readyz`)).status, 503);
  });

  test('a failing health check answers 500 with the message', async () => {
    const failing = await startHealthServer({
      port: 0,
      metrics,
      health: () => {
        throw new Error('health probe broke');
      },
    });
    try {
      const response = await fetch(`${failing.url}/readyz`);
      assert.equal(response.status, 500);
      assert.match(await response.text(), /health probe broke/);
    } finally {
      await failing.close();
    }
  });

  test('unknown paths answer 404 and other methods 405', async () => {
    assert.equal((await fetch(`${server.url}/nope`)).status, 404);
    const post = await fetch(`${server.url}/metrics`, { method: 'POST' });
    assert.equal(post.status, 405);
    assert.equal(post.headers.get('allow'), 'GET, HEAD');
  });

  test('a port in use is a HealthServerError naming the address', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as { port: number }).port;
    try {
      await assert.rejects(
        startHealthServer({ port, metrics, health: () => status }),
        (error: unknown) =>
          error instanceof HealthServerError &&
          error.message === `cannot listen on 127.0.0.1:${port}: EADDRINUSE`,
      );
    } finally {
      await new Promise<void>((resolve) => blocker.close(() => resolve()));
    }
  });

  test('an invalid port is refused before binding', async () => {
    await assert.rejects(
      startHealthServer({ port: 70_000, metrics, health: () => status }),
      /metrics port must be an integer from 0 to 65535, got 70000/,
    );
  });

  test('close() stops listening even with a kept-alive connection open', async () => {
    const other = await startHealthServer({ port: 0, metrics, health: () => ({ live: true, ready: true }) });
    try {
      assert.equal((await fetch(`${other.url}/healthz`)).status, 200);
    } finally {
      await other.close();
    }
    await assert.rejects(fetch(`${other.url}/healthz`));
  });
});
