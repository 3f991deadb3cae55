/**
 * SshHost against a real sshd: who may log in (host key, client key, passphrase, agent), what each
 * failure says, files and processes on the host, command timeouts, and the one shared connection
 * that is made again after it drops.
 */
import { after, before, describe, test } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFile, readdir, readFile, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { hostOptions, hostSection } from '../../src/config/index.js';
import {
  closeSshHosts,
  CommandNotFound,
  HostAuthenticationFailed,
  HostKeyRejected,
  HostUnreachable,
  IdentityUnusable,
  RemoteCommandTimeout,
  sshHost,
  type SshHost,
} from '../../src/supervisor/host/index.js';
import { freePort } from '../fixtures/ports.js';
import { allCommandLines } from '../fixtures/proc-tree.js';
import { spawnOwned, waitUntil } from '../fixtures/processes.js';
import { startSshd, type SshdHandle } from '../fixtures/sshd.js';
import { tempDir } from '../fixtures/tmp.js';

const run = promisify(execFile);

describe('SSH host', () => {
  let sshd: SshdHandle;
  before(async () => {
    sshd = await startSshd();
  });
  after(async () => {
    closeSshHosts();
    await sshd?.stop();
  });

  /** A host from a job file's `host:` section for the fixture, as the job loader builds it. */
  function hostWith(extra: Record<string, unknown> = {}, env: NodeJS.ProcessEnv = {}): SshHost {
    return sshHost(hostOptions(hostSection.parse(sshd.hostSection(extra))), env);
  }

  async function scratch(t: TestContext) {
    const dir = await tempDir('sshhost-');
    t.after(() => dir.remove());
    return dir.path;
  }

  describe('host keys', () => {
    test('an unknown host key is refused with its fingerprint, and nothing runs', async (t) => {
      const dir = await scratch(t);
      const empty = join(dir, 'known_hosts');
      await writeFile(
        empty,
        `# nothing known\nother.example ${(await readFile(sshd.knownHosts, 'utf8')).split(' ').slice(1).join(' ')}`,
      );
      const host = hostWith({ known_hosts: empty });
      const error = await host.exists('/').catch((e: unknown) => e);
      assert.ok(error instanceof HostKeyRejected, String(error));
      assert.equal(error.reason, 'unknown');
      assert.equal(error.fingerprint, await sshd.fingerprint());
      assert.ok(error.message.includes(await sshd.fingerprint()), error.message);
      assert.match(error.message, new RegExp(`\\[127\\.0\\.0\\.1\\]:${sshd.port}`));
      assert.equal(host.connection.connects, 0, 'never logged in');
    });

    test('a hashed known_hosts entry is accepted', async (t) => {
      const dir = await scratch(t);
      const hashed = join(dir, 'known_hosts');
      await copyFile(sshd.knownHosts, hashed);
      await run('ssh-keygen', ['-H', '-f', hashed]);
      assert.match(await readFile(hashed, 'utf8'), /^\|1\|/);
      assert.equal(await hostWith({ known_hosts: hashed }).exists('/'), true);
    });

    test('a pinned fingerprint is accepted, and another one refused', async () => {
      const print = await sshd.fingerprint();
      assert.equal(await hostWith({ known_hosts: undefined, host_key: print }).exists('/'), true);
      const other = `SHA256:${'A'.repeat(43)}`;
      const error = await hostWith({ known_hosts: undefined, host_key: other })
        .exists('/')
        .catch((e: unknown) => e);
      assert.ok(error instanceof HostKeyRejected, String(error));
      assert.equal(error.reason, 'not-pinned');
      assert.ok(error.message.includes(print) && error.message.includes(other), error.message);
    });

    test('a changed host key is refused with the new fingerprint', async (t) => {
      const dir = await scratch(t);
      const before = join(dir, 'known_hosts');
      await copyFile(sshd.knownHosts, before);
      await sshd.restart({ newHostKey: true });
      const error = await hostWith({ known_hosts: before })
        .exists('/')
        .catch((e: unknown) => e);
      assert.ok(error instanceof HostKeyRejected, String(error));
      assert.equal(error.reason, 'changed');
      assert.ok(error.message.includes(await sshd.fingerprint()), error.message);
      assert.match(error.message, /lists another key/);
      assert.equal(await hostWith().exists('/'), true, 'the new key, once known, is accepted');
    });
  });

  describe('client keys', () => {
    test('a key the host does not authorize is refused, naming host and key', async () => {
      const error = await hostWith({ identity_file: sshd.strangerKey })
        .exists('/')
        .catch((e: unknown) => e);
      assert.ok(error instanceof HostAuthenticationFailed, String(error));
      assert.match(error.message, new RegExp(`ssh root@127\\.0\\.0\\.1:${sshd.port} refused the key`));
      assert.ok(error.message.includes(sshd.strangerKey));
    });

    test("a key's passphrase comes from the variable the job names, and never shows", async () => {
      const { path, passphrase } = sshd.passphraseKey;
      const locked = { identity_file: path, passphrase_env: 'ST_KEY_PP' };
      assert.equal(await hostWith(locked, { ST_KEY_PP: passphrase }).exists('/'), true);
      // The environment is read by the connection the first host of a login makes: a new one each.
      closeSshHosts();

      const unset = await hostWith(locked, {})
        .exists('/')
        .catch((e: unknown) => e);
      assert.ok(unset instanceof IdentityUnusable, String(unset));
      assert.match(unset.message, /passphrase_env ST_KEY_PP is not set/);
      closeSshHosts();

      const wrong = await hostWith(locked, { ST_KEY_PP: `${passphrase}-not` })
        .exists('/')
        .catch((e: unknown) => e);
      assert.ok(wrong instanceof IdentityUnusable, String(wrong));
      assert.ok(!wrong.message.includes(passphrase), 'the passphrase is not in the message');
      closeSshHosts();

      const none = await hostWith({ identity_file: path })
        .exists('/')
        .catch((e: unknown) => e);
      assert.ok(none instanceof IdentityUnusable, String(none));
      assert.match(none.message, /passphrase_env/);
    });

    test('a key held by an ssh-agent logs in', async (t) => {
      const dir = await scratch(t);
      const socket = join(dir, 'agent.sock');
      const agent = spawnOwned('ssh-agent', ['-D', '-a', socket]);
      t.after(() => agent.stop());
      await waitUntil(() => stat(socket).then(() => true), { what: 'ssh-agent socket' });
      await run('ssh-add', [sshd.key], { env: { ...process.env, SSH_AUTH_SOCK: socket } });
      const byPath = hostWith({ identity_file: undefined, agent: socket });
      assert.equal(await byPath.exists('/'), true);
      closeSshHosts();
      const byEnv = hostWith({ identity_file: undefined, agent: true }, { SSH_AUTH_SOCK: socket });
      assert.equal(await byEnv.exists('/'), true);
    });
  });

  test('a host nobody listens on is a HostUnreachable naming host and cause', async () => {
    const port = await freePort();
    const host = sshHost(hostOptions(hostSection.parse({ ...sshd.hostSection(), port })), {});
    const error = await host.readText('/etc/hostname').catch((e: unknown) => e);
    assert.ok(error instanceof HostUnreachable, String(error));
    assert.equal(error.code, 'ECONNREFUSED');
    assert.match(
      error.message,
      new RegExp(`ssh root@127\\.0\\.0\\.1:${port} is unreachable \\(ECONNREFUSED\\)`),
    );
  });

  test('files are written atomically with exact modes, read, listed and removed over SFTP', async (t) => {
    const dir = await scratch(t);
    const host = hostWith();
    const nested = join(dir, 'a', 'b', 'c');
    await host.makeDir(nested, 0o700);
    assert.equal((await stat(join(dir, 'a'))).mode & 0o777, 0o700, 'every directory made gets the mode');
    const file = join(nested, 'x.conf');
    await host.writeText(file, 'first\n', 0o640);
    assert.equal((await stat(file)).mode & 0o777, 0o640, 'the exact mode, whatever the umask');
    await host.writeText(file, 'second\n', 0o600);
    assert.equal(await readFile(file, 'utf8'), 'second\n');
    assert.equal((await stat(file)).mode & 0o777, 0o600, 'an existing file is tightened too');
    assert.deepEqual(await readdir(nested), ['x.conf'], 'no temporary file is left');
    assert.equal(await host.readText(file), 'second\n');
    assert.equal(await host.readText(join(dir, 'missing')), undefined);
    assert.equal(await host.exists(file), true);
    // A symlink in a tree is removed, never followed.
    const outside = join(dir, 'outside');
    await host.makeDir(outside);
    await writeFile(join(outside, 'keep'), 'kept');
    await symlink(outside, join(nested, 'link'));
    await host.remove(join(dir, 'a'));
    assert.equal(await host.exists(join(dir, 'a')), false);
    assert.equal(await readFile(join(outside, 'keep'), 'utf8'), 'kept');
    await host.remove(join(dir, 'a'));
    assert.deepEqual((await host.guardedDirs()).slice(0, 1), ['/root']);
  });

  test('processes are read from the host and signalled there', async (t) => {
    const sleeper = spawnOwned('sleep', ['1000']);
    t.after(() => sleeper.stop());
    const host = hostWith();
    const found = await host.process(sleeper.pid);
    assert.equal(found?.command, 'sleep 1000');
    assert.equal(found?.ppid, process.pid);
    const children = await host.children(process.pid);
    assert.ok(children.some((child) => child.pid === sleeper.pid));
    assert.equal(await host.signal(sleeper.pid, 'SIGTERM'), true);
    await sleeper.exited;
    assert.equal(await host.process(sleeper.pid), undefined);
    assert.equal(await host.signal(sleeper.pid, 'SIGTERM'), false, 'a process that is gone');
  });

  test('a command that outlives its timeout is a RemoteCommandTimeout, and is killed on the host', async () => {
    const host = hostWith();
    const error = await host.run('sleep', ['31.5'], { timeoutMs: 500 }).catch((e: unknown) => e);
    assert.ok(error instanceof RemoteCommandTimeout, String(error));
    assert.equal(error.timeoutMs, 500);
    assert.match(
      error.message,
      new RegExp(`'sleep' '31.5' on ssh root@127\\.0\\.0\\.1:${sshd.port} timed out after 500 ms`),
    );
    await waitUntil(() => (allCommandLines().some((p) => p.command === 'sleep 31.5') ? undefined : true), {
      what: 'the remote sleep to be killed',
    });
    const missing = await host.run('no-such-command', [], { timeoutMs: 5000 }).catch((e: unknown) => e);
    assert.ok(missing instanceof CommandNotFound, String(missing));
    assert.match(missing.message, /no-such-command: command not found on ssh root@/);
  });

  test('one connection per host and process, made again on the next use after it drops', async () => {
    const host = hostWith();
    assert.equal(hostWith().connection, host.connection, 'the same login shares one connection');
    const prefixed = hostWith({ command_prefix: 'export ST_MARK=prefixed', command_timeout: '5s' });
    assert.equal(prefixed.connection, host.connection, 'also with another command prefix');
    const marked = await prefixed.run('sh', ['-c', 'echo "$ST_MARK"'], { timeoutMs: 10_000 });
    assert.equal(marked.output, 'prefixed\n', "each host's own prefix");
    assert.equal((await host.run('sh', ['-c', 'echo "[$ST_MARK]"'], { timeoutMs: 10_000 })).output, '[]\n');
    await host.exists('/');
    const before = host.connection.connects;
    await sshd.kill();
    const down = await host.exists('/').catch((e: unknown) => e);
    assert.ok(down instanceof HostUnreachable, String(down));
    await sshd.restart();
    // The first use after it is back waits for the backoff and logs in again.
    assert.equal(await host.exists('/'), true);
    assert.equal(host.connection.connects, before + 1);
  });
});
