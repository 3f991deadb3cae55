/**
 * SupervisorClient's transport: TCP and unix socket, basic auth, timeouts, unreachable endpoints,
 * HTTP 500, retry of read-only calls on a reset connection. Real supervisords and real sockets.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { SupervisorClient } from '../../src/supervisor/client.js';
import { MAX_RESPONSE_BYTES } from '../../src/supervisor/xmlrpc/transport.js';
import {
  AuthenticationError,
  CallTimeout,
  ConnectionLost,
  EndpointUnreachable,
  InvalidArgument,
  InvalidEndpoint,
  ProtocolError,
  SupervisorError,
  SupervisorServerError,
} from '../../src/supervisor/errors.js';
import { freePort } from '../fixtures/ports.js';
import { startSupervisord, type SupervisordHandle } from '../fixtures/supervisord.js';
import { tempDir } from '../fixtures/tmp.js';
import { waitUntil } from '../fixtures/processes.js';

const PASSWORD = 's3cret-pw';

async function listen(server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

async function closeServer(server: Server, sockets: Set<Socket>): Promise<void> {
  for (const socket of sockets) socket.destroy();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

describe('over TCP with basic auth', () => {
  let sup: SupervisordHandle;
  before(async () => {
    sup = await startSupervisord({
      transport: 'tcp',
      username: 'alice',
      password: PASSWORD,
      programs: {
        talker: 'command=sh -c \'printf "caf\\303\\251"; exec sleep 1000\'\nautostart=true\nstartsecs=0',
      },
    });
  });
  after(() => sup?.stop());

  test('the right credentials work, on fresh and on kept-alive connections', async () => {
    for (const tcpKeepAlive of [false, true]) {
      const client = new SupervisorClient(sup.endpoint, { tcpKeepAlive });
      try {
        assert.equal((await client.getState()).statename, 'RUNNING');
        assert.equal((await client.getAllProcessInfo()).length, 1);
        assert.equal(await client.getPID(), sup.pid);
      } finally {
        client.close();
      }
    }
  });

  test('a wrong password is an AuthenticationError that never shows the password', async () => {
    const client = new SupervisorClient({ ...sup.endpoint, password: 'wrong-pw' });
    try {
      const error = await client.getState().catch((e: unknown) => e);
      assert.ok(error instanceof AuthenticationError);
      assert.ok(error instanceof SupervisorError);
      assert.match(error.message, new RegExp(`127\\.0\\.0\\.1:${sup.port}`));
      assert.doesNotMatch(`${error.message} ${error.stack}`, /wrong-pw|s3cret/);
    } finally {
      client.close();
    }
  });

  test('no credentials at all is an AuthenticationError too', async () => {
    const client = new SupervisorClient({ url: sup.endpoint.url });
    await assert.rejects(client.getState(), AuthenticationError);
    client.close();
  });

  test('HTTP 500 (a log offset inside a UTF-8 character) is a SupervisorServerError', async () => {
    const client = new SupervisorClient(sup.endpoint);
    try {
      await waitUntil(async () =>
        (await client.readProcessStdoutLog('talker', 0, 0)).includes('café') ? true : undefined,
      );
      const error = await client.readProcessStdoutLog('talker', 4, 1).catch((e: unknown) => e);
      assert.ok(error instanceof SupervisorServerError);
      assert.equal(error.status, 500);
      assert.equal(error.method, 'supervisor.readProcessStdoutLog');
    } finally {
      client.close();
    }
  });

  test('credentials in the URL are refused without echoing them', () => {
    assert.throws(
      () => new SupervisorClient({ url: `http://alice:${PASSWORD}@127.0.0.1:${sup.port}/RPC2` }),
      (error: unknown) => error instanceof InvalidEndpoint && !error.message.includes(PASSWORD),
    );
  });
});

describe('over a unix socket with basic auth', () => {
  let sup: SupervisordHandle;
  before(async () => {
    sup = await startSupervisord({ username: 'bob', password: PASSWORD });
  });
  after(() => sup?.stop());

  test('the right credentials work and the connection is reused', async () => {
    const client = new SupervisorClient(sup.endpoint);
    try {
      assert.match(sup.endpoint.url, /^unix:\/\//);
      for (let i = 0; i < 3; i++) assert.equal((await client.getState()).statename, 'RUNNING');
      assert.deepEqual(await client.getAllProcessInfo(), []);
    } finally {
      client.close();
    }
  });

  test('a wrong password is an AuthenticationError', async () => {
    const client = new SupervisorClient({ ...sup.endpoint, password: 'nope' });
    await assert.rejects(client.getAllProcessInfo(), AuthenticationError);
    client.close();
  });

  test('a call after close() opens a new connection', async () => {
    const client = new SupervisorClient(sup.endpoint);
    await client.getPID();
    client.close();
    assert.equal(await client.getPID(), sup.pid);
    client.close();
  });
});

describe('failures before any answer', () => {
  test('a server that accepts and never answers is a CallTimeout', async () => {
    const sockets = new Set<Socket>();
    const server = createServer((socket) => sockets.add(socket));
    const port = await listen(server);
    const client = new SupervisorClient({ url: `http://127.0.0.1:${port}/RPC2`, timeoutMs: 200 });
    try {
      const error = await client.getAllProcessInfo().catch((e: unknown) => e);
      assert.ok(error instanceof CallTimeout);
      assert.equal(error.timeoutMs, 200);
      assert.equal(error.method, 'supervisor.getAllProcessInfo');
      assert.equal(sockets.size, 1, 'a timeout is not retried');
    } finally {
      client.close();
      await closeServer(server, sockets);
    }
  });

  test('an answer past 64 MiB is a ProtocolError, not buffered to the end', async () => {
    const sockets = new Set<Socket>();
    let sent = 0;
    const server = createServer((socket) => {
      sockets.add(socket);
      socket.once('data', () => {
        const size = MAX_RESPONSE_BYTES * 2;
        socket.write(`HTTP/1.1 200 OK\r\ncontent-type: text/xml\r\ncontent-length: ${size}\r\n\r\n`);
        const chunk = Buffer.alloc(1024 * 1024, 'x');
        const more = () => {
          while (sent < size && !socket.destroyed) {
            sent += chunk.length;
            if (!socket.write(chunk)) return void socket.once('drain', more);
          }
        };
        socket.on('error', () => {});
        more();
      });
    });
    const port = await listen(server);
    const client = new SupervisorClient({ url: `http://127.0.0.1:${port}/RPC2`, timeoutMs: 20_000 });
    try {
      const error = await client.getAllProcessInfo().catch((e: unknown) => e);
      assert.ok(error instanceof ProtocolError, String(error));
      assert.match(error.message, /larger than 64 MiB/);
      assert.ok(sent < MAX_RESPONSE_BYTES * 2, 'the rest was never read');
    } finally {
      client.close();
      await closeServer(server, sockets);
    }
  });

  test('a missing unix socket is EndpointUnreachable naming the URL', async () => {
    const dir = await tempDir();
    const url = `unix://${join(dir.path, 'missing.sock')}`;
    const client = new SupervisorClient({ url, username: 'u', password: PASSWORD });
    try {
      const error = await client.getState().catch((e: unknown) => e);
      assert.ok(error instanceof EndpointUnreachable);
      assert.equal(error.code, 'ENOENT');
      assert.ok(error.message.includes(url));
      assert.doesNotMatch(error.message, new RegExp(PASSWORD));
    } finally {
      client.close();
      await dir.remove();
    }
  });

  test('a closed TCP port is EndpointUnreachable', async () => {
    const port = await freePort();
    const client = new SupervisorClient({ url: `http://127.0.0.1:${port}/RPC2` });
    const error = await client.getState().catch((e: unknown) => e);
    assert.ok(error instanceof EndpointUnreachable);
    assert.equal(error.code, 'ECONNREFUSED');
    client.close();
  });

  test('an unknown host name is EndpointUnreachable', async () => {
    const client = new SupervisorClient({ url: 'http://no-such-host.invalid:9001/RPC2' });
    await assert.rejects(client.getState(), EndpointUnreachable);
    client.close();
  });

  test('bad endpoints and bad arguments are clear errors', async () => {
    assert.throws(() => new SupervisorClient({ url: 'ftp://x/y' }), InvalidEndpoint);
    assert.throws(() => new SupervisorClient({ url: 'not a url' }), InvalidEndpoint);
    assert.throws(() => new SupervisorClient({ url: 'unix://relative.sock' }), InvalidEndpoint);
    assert.throws(() => new SupervisorClient({ url: 'unix:///a.sock', timeoutMs: 0 }), InvalidEndpoint);
    const client = new SupervisorClient({ url: 'unix:///nonexistent.sock' });
    await assert.rejects(client.startProcess(''), InvalidArgument);
    await assert.rejects(client.readProcessStdoutLog('x', 1.5, 0), InvalidArgument);
    client.close();
  });
});

describe('a connection reset mid-call', () => {
  let sup: SupervisordHandle;
  let server: Server;
  let port: number;
  const sockets = new Set<Socket>();
  let connections = 0;
  let resetNext = 0;

  before(async () => {
    sup = await startSupervisord({
      programs: { sleeper: 'command=sleep 1000\nautostart=false\nstartsecs=0' },
    });
    // A relay in front of the real supervisord that resets the first `resetNext` connections once
    // the request has arrived, the way a server closing an idle kept-alive connection looks.
    server = createServer((socket) => {
      sockets.add(socket);
      connections++;
      if (resetNext > 0) {
        resetNext--;
        socket.once('data', () => socket.resetAndDestroy());
        return;
      }
      const upstream = createConnection(sup.socketPath as string);
      sockets.add(upstream);
      socket.pipe(upstream).pipe(socket);
      socket.on('error', () => upstream.destroy());
      upstream.on('error', () => socket.destroy());
    });
    port = await listen(server);
  });
  after(async () => {
    if (server) await closeServer(server, sockets);
    await sup?.stop();
  });

  test('a read-only call is retried once and succeeds', async () => {
    const client = new SupervisorClient({ url: `http://127.0.0.1:${port}/RPC2` });
    connections = 0;
    resetNext = 1;
    try {
      assert.equal((await client.getState()).statename, 'RUNNING');
      assert.equal(connections, 2);
    } finally {
      client.close();
    }
  });

  test('a read-only call reset twice fails with ConnectionLost', async () => {
    const client = new SupervisorClient({ url: `http://127.0.0.1:${port}/RPC2` });
    connections = 0;
    resetNext = 2;
    try {
      await assert.rejects(client.getAllProcessInfo(), ConnectionLost);
      assert.equal(connections, 2);
    } finally {
      client.close();
    }
  });

  test('a call that changes state is not retried', async () => {
    const client = new SupervisorClient({ url: `http://127.0.0.1:${port}/RPC2` });
    connections = 0;
    resetNext = 1;
    try {
      await assert.rejects(client.startProcess('sleeper'), ConnectionLost);
      assert.equal(connections, 1);
      assert.equal((await client.getProcessInfo('sleeper')).statename, 'STOPPED');
    } finally {
      client.close();
    }
  });
});
