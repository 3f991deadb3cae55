/** `supervisor <step> JOBFILE` drives a job with a host: section exactly as a local one, over SSH. */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runCli } from '../fixtures/cli.js';
import { daemonPid, isAlive, stopDaemons, watchPidfile, writeJobFile } from '../fixtures/daemon.js';
import { startSshd, type SshdHandle } from '../fixtures/sshd.js';
import { tempDir } from '../fixtures/tmp.js';

describe('the supervisor command on a remote job', () => {
  let sshd: SshdHandle;
  before(async () => {
    sshd = await startSshd();
  });
  after(async () => {
    await stopDaemons();
    await sshd?.stop();
  });

  test('every step runs over SSH, the key passphrase read from the variable the job names', async (t) => {
    const dir = await tempDir('sshcli-');
    // Its supervisord is stopped (by pid) before the dir with its pidfile goes.
    t.after(async () => {
      await stopDaemons();
      await dir.remove();
    });
    const workingDir = join(dir.path, 'wd');
    const file = await writeJobFile(dir.path, {
      working_dir: workingDir,
      program: { sleeper: { command: 'sleep 1000', startsecs: 0, stopwaitsecs: 2 } },
      host: sshd.hostSection({
        identity_file: sshd.passphraseKey.path,
        passphrase_env: 'ST_CLI_KEY_PASSPHRASE',
      }),
    });
    const pidfile = join(workingDir, 'supervisord.pid');
    watchPidfile(pidfile);
    const env = { ST_CLI_KEY_PASSPHRASE: sshd.passphraseKey.passphrase };
    const ok = async (...args: string[]) => {
      const result = await runCli(['supervisor', ...args], { env });
      assert.equal(result.code, 0, `${args.join(' ')}: ${result.stderr}`);
      assert.ok(
        !result.stdout.includes(sshd.passphraseKey.passphrase) &&
          !result.stderr.includes(sshd.passphraseKey.passphrase),
      );
      return result.stdout;
    };
    assert.match(await ok('configure', file), /^configured .*supervisord\.conf\n$/);
    assert.equal((await stat(join(workingDir, 'supervisord.conf'))).mode & 0o777, 0o600);
    assert.match(await ok('start', file), /^started supervisord \(pid \d+\)/);
    const pid = daemonPid(pidfile);
    assert.ok(
      pid !== undefined && isAlive(pid),
      'supervisord runs on after the CLI and its connection are gone',
    );
    assert.match(await ok('start-programs', file), /sleeper:sleeper RUNNING/);
    const json = JSON.parse(await ok('check', file, '--running', '--json')) as { ok: boolean };
    assert.equal(json.ok, true);
    assert.match(await ok('restart-programs', file), /sleeper:sleeper RUNNING/);
    assert.match(await ok('stop', file), new RegExp(`supervisord \\(pid ${pid}\\) shut down`));
    assert.equal(isAlive(pid), false);
    assert.match(await ok('unconfigure', file), new RegExp(`removed .*${workingDir}`));
  });

  test('a host key it does not know is a one-line error with the fingerprint, exit 1', async (t) => {
    const dir = await tempDir('sshcli-');
    // Its supervisord is stopped (by pid) before the dir with its pidfile goes.
    t.after(async () => {
      await stopDaemons();
      await dir.remove();
    });
    const knownHosts = join(dir.path, 'known_hosts');
    await writeFile(knownHosts, '');
    const file = await writeJobFile(dir.path, {
      working_dir: join(dir.path, 'wd'),
      program: { sleeper: { command: 'sleep 1000' } },
      host: sshd.hostSection({ known_hosts: knownHosts }),
    });
    const result = await runCli(['supervisor', 'configure', file]);
    assert.equal(result.code, 1);
    const lines = result.stderr.trim().split('\n');
    assert.equal(lines.length, 1, result.stderr);
    assert.ok(lines[0]!.includes(await sshd.fingerprint()), lines[0]);
    assert.match(lines[0]!, /does not list .*: refused/);
  });
});
