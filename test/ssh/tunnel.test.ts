/**
 * XML-RPC to a supervisord on an SSH host, through the SSH connection: stream-local forwarding to a
 * unix socket, TCP forwarding to a loopback port. The client behaves as it does locally: keep-alive
 * by the same rules, the same typed errors, timeouts and read-only retries.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { hostOptions, hostSection } from '../../src/config/index.js';
import { SupervisorClient } from '../../src/supervisor/client.js';
import type { EndpointTarget, SupervisorEndpoint } from '../../src/supervisor/endpoint.js';
import {
  AuthenticationError,
  CallTimeout,
  ConnectionLost,
  EndpointUnreachable,
} from '../../src/supervisor/errors.js';
import { closeSshHosts, HostUnreachable, sshHost, type SshHost } from '../../src/supervisor/host/index.js';
import { startSshd, type SshdHandle } from '../fixtures/sshd.js';
import { startSupervisord, type SupervisordHandle } from '../fixtures/supervisord.js';
import { freePort } from '../fixtures/ports.js';

describe('XML-RPC through the SSH connection', () => {
  let sshd: SshdHandle;
  let host: SshHost;
  let unix: SupervisordHandle;
  let tcp: SupervisordHandle;
  before(async () => {
    sshd = await startSshd();
    host = sshHost(hostOptions(hostSection.parse(sshd.hostSection())), {});
    const programs = { sleeper: 'command=sleep 1000\nautostart=false\nstartsecs=0' };
    unix = await startSupervisord({ programs, username: 'u', password: 'secret-u' });
    tcp = await startSupervisord({ programs, transport: 'tcp', username: 'u', password: 'secret-t' });
  });
  after(async () => {
    closeSshHosts();
    await unix?.stop();
    await tcp?.stop();
    await sshd?.stop();
  });

  /** The endpoint through the host's tunnel, counting the streams it opens. */
  function counted(endpoint: SupervisorEndpoint) {
    const reached = host.reach(endpoint);
    const tunnel = reached.tunnel!;
    const streams = { opened: 0 };
    const client = new SupervisorClient({
      ...reached,
      tunnel: {
        name: tunnel.name,
        open: (target: EndpointTarget) => {
          streams.opened += 1;
          return tunnel.open(target);
        },
      },
    });
    return { client, streams };
  }

  test('a unix socket is reached by stream-local forwarding, its channel kept alive between calls', async () => {
    const { client, streams } = counted(unix.endpoint);
    try {
      const infos = await client.getAllProcessInfo();
      assert.deepEqual(
        infos.map((i) => i.name),
        ['sleeper'],
      );
      assert.equal((await client.getState()).statename, 'RUNNING');
      assert.equal((await client.getState()).statename, 'RUNNING');
      assert.equal(streams.opened, 1, 'one channel for three calls');
    } finally {
      client.close();
    }
  });

  test('a loopback TCP port is reached by TCP forwarding, a fresh channel per call as over TCP', async () => {
    const { client, streams } = counted(tcp.endpoint);
    try {
      assert.equal((await client.getState()).statename, 'RUNNING');
      assert.equal((await client.getAllProcessInfo()).length, 1);
      assert.equal(streams.opened, 2, 'supervisord does not set TCP_NODELAY: no kept-alive TCP');
    } finally {
      client.close();
    }
  });

  test('a wrong password is an AuthenticationError naming the way, without the password', async () => {
    const client = host.connect({ ...unix.endpoint, password: 'wrong-secret' });
    try {
      const error = await client.getState().catch((e: unknown) => e);
      assert.ok(error instanceof AuthenticationError, String(error));
      assert.match(error.message, new RegExp(`via ssh root@127\\.0\\.0\\.1:${sshd.port}`));
      assert.ok(!error.message.includes('wrong-secret') && !error.message.includes('secret-u'));
    } finally {
      client.close();
    }
  });

  test('a socket nobody listens on is EndpointUnreachable: the host could not connect to it', async () => {
    const client = host.connect({ url: `unix://${unix.dir}/missing.sock` });
    try {
      const error = await client.getState().catch((e: unknown) => e);
      assert.ok(error instanceof EndpointUnreachable, String(error));
      assert.equal(error.code, 'ECONNREFUSED');
      assert.match(error.message, /could not connect to \/.*missing\.sock/);
    } finally {
      client.close();
    }
  });

  test('a host that cannot be reached is EndpointUnreachable caused by HostUnreachable', async () => {
    const port = await freePort();
    const down = sshHost(hostOptions(hostSection.parse({ ...sshd.hostSection(), port })), {});
    const client = down.connect(unix.endpoint);
    try {
      const error = await client.getAllProcessInfo().catch((e: unknown) => e);
      assert.ok(error instanceof EndpointUnreachable, String(error));
      assert.ok(error.cause instanceof HostUnreachable);
      assert.match(error.message, new RegExp(`ssh root@127\\.0\\.0\\.1:${port} is unreachable`));
    } finally {
      client.close();
    }
  });

  test('a kept-alive channel is not reused once its connection dropped: the next call is unreachable at once', async () => {
    const client = host.connect({ ...unix.endpoint, timeoutMs: 5000 });
    try {
      assert.equal((await client.getAllProcessInfo()).length, 1);
      await sshd.kill();
      // The channel from the call above sits in the agent's pool; a call written on it would wait
      // for the call timeout instead of failing as the host is down.
      const error = await client.getAllProcessInfo().catch((e: unknown) => e);
      assert.ok(error instanceof EndpointUnreachable, String(error));
      assert.match(error.message, /is unreachable/);
    } finally {
      client.close();
      await sshd.restart();
    }
  });

  describe('a peer on the host that misbehaves', () => {
    let server: Server;
    let port: number;
    const sockets = new Set<Socket>();
    let mode: 'silent' | 'reset-first' = 'silent';
    let connections = 0;
    before(async () => {
      // A relay on the host's loopback in front of the real supervisord: silent, or resetting the
      // first connection once the request has arrived (a server closing an idle connection).
      server = createServer((socket) => {
        sockets.add(socket);
        connections += 1;
        if (mode === 'silent') return;
        if (connections === 1) {
          socket.once('data', () => socket.resetAndDestroy());
          return;
        }
        const upstream = createConnection(unix.socketPath!);
        sockets.add(upstream);
        socket.pipe(upstream).pipe(socket);
        socket.on('error', () => upstream.destroy());
        upstream.on('error', () => socket.destroy());
      });
      port = await new Promise<number>((resolve) =>
        server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port)),
      );
    });
    after(async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server?.close(resolve));
    });
    const endpoint = () => ({ url: `http://127.0.0.1:${port}/RPC2`, username: 'u', password: 'secret-u' });

    test('no answer within the timeout is a CallTimeout, not retried', async () => {
      mode = 'silent';
      connections = 0;
      const client = host.connect({ ...endpoint(), timeoutMs: 500 });
      try {
        const error = await client.getAllProcessInfo().catch((e: unknown) => e);
        assert.ok(error instanceof CallTimeout, String(error));
        assert.equal(error.timeoutMs, 500);
        assert.equal(connections, 1);
      } finally {
        client.close();
      }
    });

    test('a reset read-only call is retried once; a call that changes state is not', async () => {
      mode = 'reset-first';
      connections = 0;
      const reader = host.connect(endpoint());
      try {
        assert.equal((await reader.getState()).statename, 'RUNNING');
        assert.equal(connections, 2);
      } finally {
        reader.close();
      }
      connections = 0;
      const writer = host.connect(endpoint());
      try {
        await assert.rejects(writer.startProcess('sleeper'), ConnectionLost);
        assert.equal(connections, 1);
      } finally {
        writer.close();
      }
    });
  });
});
