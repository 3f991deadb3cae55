/**
 * The status page's routes on a real triggerer's HTTP server (in this process, on a real Redis):
 * actions off without a token, the DNS-rebinding guard, the bounded live stream, bad requests, and
 * where the token comes from.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { get, request } from 'node:http';
import { join } from 'node:path';
import { pino } from 'pino';
import { TriggerRegistry } from '../../triggers/index.js';
import { redisOptions } from '../../src/redis/connection.js';
import { ConnectionResolver } from '../../src/triggerer/connections.js';
import { Triggerer } from '../../src/triggerer/daemon.js';
import {
  InvalidStatusToken,
  loadStatusToken,
  statusPage,
  StatusToken,
  STATUS_TOKEN_ENV,
} from '../../src/web/index.js';
import { startRedis, type RedisHandle } from '../fixtures/redis.js';
import { tempDir } from '../fixtures/tmp.js';

/** One request with a Host header of the test's choosing (fetch cannot set one). */
function withHost(url: string, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers: { host } }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end();
  });
}

/** Opens the live stream; resolves with its status and, for a 200, its first data message. */
function openStream(url: string): Promise<{ status: number; data?: string; close(): void }> {
  return new Promise((resolve, reject) => {
    const req = get(url, (res) => {
      if (res.statusCode !== 200) {
        res.resume();
        resolve({ status: res.statusCode ?? 0, close: () => req.destroy() });
        return;
      }
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        text += chunk;
        const data = /^data: (.*)$/m.exec(text)?.[1];
        if (data) resolve({ status: 200, data, close: () => req.destroy() });
      });
    });
    req.on('error', reject);
  });
}

describe('status page routes without a token', () => {
  let redis: RedisHandle;
  let triggerer: Triggerer;
  let url: string;

  before(async () => {
    redis = await startRedis();
    triggerer = new Triggerer({
      connection: redisOptions(redis.url),
      registry: await TriggerRegistry.withPlugins([]),
      endpoints: await ConnectionResolver.create({ connections: {}, env: {} }),
      metricsPort: 0,
      logger: pino({ level: 'silent' }),
      statusPage: statusPage({ maxClients: 1, refreshMs: 200 }),
    });
    await triggerer.start();
    url = triggerer.metricsUrl ?? assert.fail('no server');
  });

  after(async () => {
    await triggerer?.close();
    await redis?.stop();
  });

  test('both actions are refused with 403 when no token is configured, whatever the request sends', async () => {
    for (const path of ['/api/triggers/any/cancel', '/api/jobs/any/stop']) {
      for (const headers of [{}, { authorization: 'Bearer abcdefghijklmnopqrstuvwxyz' }] as Record<
        string,
        string
      >[]) {
        const response = await fetch(`${url}${path}`, { method: 'POST', headers });
        assert.equal(response.status, 403, path);
        assert.match(((await response.json()) as { error: string }).error, /no status token is configured/);
      }
    }
  });

  test('the overview says the actions are off, and the page is served with its CSP', async () => {
    const overview = (await (await fetch(`${url}/api/overview`)).json()) as {
      actions: boolean;
      triggerers: unknown[];
    };
    assert.equal(overview.actions, false);
    const page = await fetch(`${url}/`);
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-type') ?? '', /^text\/html/);
    assert.match(page.headers.get('content-security-policy') ?? '', /^default-src 'self'/);
    assert.equal(page.headers.get('x-frame-options'), 'DENY');
    assert.match(await page.text(), /<script type="module" src="\/assets\/app\.js"><\/script>/);
    assert.equal((await fetch(`${url}/metrics`)).status, 200, 'the metrics route is still there');
  });

  test('a request over loopback naming a host that is neither loopback nor an IP is refused (DNS rebinding)', async () => {
    assert.equal(await withHost(`${url}/api/overview`, 'attacker.example:9464'), 403);
    assert.equal(await withHost(`${url}/`, 'attacker.example'), 403);
    assert.equal(await withHost(`${url}/api/overview`, 'localhost:8080'), 200);
    assert.equal(await withHost(`${url}/api/overview`, '127.0.0.1'), 200);
    assert.equal(await withHost(`${url}/api/overview`, '[::1]:9464'), 200);
  });

  test('the live stream sends the overview at once and refuses listeners past its bound with 503', async () => {
    const first = await openStream(`${url}/api/stream`);
    try {
      assert.equal(first.status, 200);
      const tick = JSON.parse(first.data ?? '{}') as {
        shared: { servedBy: { capacity: number } };
        own: unknown;
      };
      assert.equal(tick.shared.servedBy.capacity, 1000);
      assert.deepEqual(tick.own, { triggers: [], more: false });
      const second = await openStream(`${url}/api/stream`);
      assert.equal(second.status, 503);
    } finally {
      first.close();
    }
  });

  test('bad requests get a clear status: unknown state, unknown trigger, long id, wrong method, unknown path', async () => {
    const status = async (path: string, init?: RequestInit) => (await fetch(`${url}${path}`, init)).status;
    assert.equal(await status('/api/triggers?state=sleeping'), 400);
    assert.equal(await status('/api/stream?state=sleeping'), 400);
    assert.equal(await status('/api/triggers/no-such-trigger'), 404);
    assert.equal(await status(`/api/triggers/${'x'.repeat(300)}`), 400);
    assert.equal(await status('/api/overview', { method: 'PUT' }), 405);
    assert.equal(await status('/', { method: 'POST' }), 405);
    assert.equal(await status('/api/overview', { method: 'POST' }), 404);
    assert.equal(await status('/api/nothing'), 404);
    assert.equal(await status('/assets/../../package.json'), 404);
  });
});

describe('status token', () => {
  test('comes from $SUPERVISOR_TRIGGERER_STATUS_TOKEN before the file, and accepts only its Bearer header', async () => {
    const dir = await tempDir('token-');
    try {
      const file = join(dir.path, 'token');
      await writeFile(file, 'from-the-file-0123456789\nignored second line\n');
      const fromFile = await loadStatusToken({ file, env: {} });
      assert.ok(fromFile?.accepts('Bearer from-the-file-0123456789'));
      assert.ok(!fromFile?.accepts('from-the-file-0123456789'), 'no scheme');
      assert.ok(!fromFile?.accepts('Bearer from-the-file-012345678'), 'a prefix of it');
      assert.ok(!fromFile?.accepts(undefined));
      const fromEnv = await loadStatusToken({ file, env: { [STATUS_TOKEN_ENV]: 'from-the-env-0123456789' } });
      assert.ok(fromEnv?.accepts('Bearer from-the-env-0123456789'));
      assert.ok(!fromEnv?.accepts('Bearer from-the-file-0123456789'));
      assert.equal(await loadStatusToken({ env: {} }), undefined);
    } finally {
      await dir.remove();
    }
  });

  test('a short token or an unreadable file is one clear error naming the source, never the value', async () => {
    const dir = await tempDir('token-');
    try {
      const file = join(dir.path, 'token');
      await writeFile(file, 'short-secret\n');
      await assert.rejects(loadStatusToken({ file }), (error: Error) => {
        assert.ok(error instanceof InvalidStatusToken);
        assert.match(
          error.message,
          /^status token file .*token: the status token must be 16 to 1024 characters/,
        );
        assert.ok(!error.message.includes('short-secret'));
        return true;
      });
      await assert.rejects(
        loadStatusToken({ file: join(dir.path, 'missing') }),
        /cannot read the status token file .*missing: ENOENT/,
      );
      assert.throws(() => new StatusToken('has a space in it 0123456789', 'test'), InvalidStatusToken);
    } finally {
      await dir.remove();
    }
  });
});
