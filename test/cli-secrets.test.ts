/**
 * A Redis URL that holds a password, given to defer, cancel and status in each way they take one:
 * the password is never printed, and the flag that puts it in `ps` says so.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { assertOneLineFailure, runCli } from './fixtures/cli.js';
import { spawnOwned, waitUntil } from './fixtures/processes.js';
import { startRedis, type RedisHandle } from './fixtures/redis.js';
import { tempDir } from './fixtures/tmp.js';

const MAIN = fileURLToPath(new URL('../src/cli/main.ts', import.meta.url));
const SECRET = 'pw-never-printed';
/** No REDIS_URL from the environment the tests run in. */
const ENV = { REDIS_URL: '' };

describe('a Redis URL with a password', () => {
  let redis: RedisHandle;
  let dir: { path: string; remove(): Promise<void> };
  let urlFile: string;

  before(async () => {
    redis = await startRedis({ password: SECRET });
    dir = await tempDir('st-');
    urlFile = join(dir.path, 'redis-url');
    await writeFile(urlFile, `${redis.url}\nignored second line\n`, { mode: 0o600 });
  });

  after(async () => {
    await redis?.stop();
    await dir?.remove();
  });

  test('is never printed by defer, status or cancel, whichever way it is given', async () => {
    const flag = ['--redis-url', redis.url];
    const deferred = await runCli(
      ['defer', '--classpath', 'time.TimeDeltaTrigger', '--id', 'pw-1', ...flag],
      {
        env: ENV,
      },
    );
    assert.equal(deferred.code, 0, deferred.stderr);
    const runs: [string, string[], NodeJS.ProcessEnv, number][] = [
      [
        'defer --wait',
        ['defer', '--classpath', 'x.Y', '--id', 'pw-2', '--wait', '--wait-timeout', '500ms', ...flag],
        ENV,
        3,
      ],
      ['status', ['status', ...flag], ENV, 0],
      ['status --json', ['status', '--json', ...flag], ENV, 0],
      ['status --triggers', ['status', '--triggers', '--json', ...flag], ENV, 0],
      ['status ID (file)', ['status', 'pw-1', '--redis-url-file', urlFile], ENV, 0],
      ['status ID ($REDIS_URL)', ['status', 'pw-1', '--json'], { REDIS_URL: redis.url }, 0],
    ];
    const results = await Promise.all(runs.map(([, args, env]) => runCli(args, { env })));
    results.forEach((result, i) => {
      const [what, , , code] = runs[i]!;
      assert.equal(result.code, code, `${what}: ${result.stderr}`);
      assert.ok(!(result.stdout + result.stderr).includes(SECRET), `${what} printed the password`);
    });
    assert.match(results[4]!.stdout, /^trigger pw-1\n/, 'the URL file was read');
    const cancelled = await runCli(['cancel', 'pw-1', ...flag], { env: ENV });
    assert.equal(cancelled.code, 0, cancelled.stderr);
    assert.ok(!(deferred.stdout + deferred.stderr + cancelled.stdout + cancelled.stderr).includes(SECRET));
  });

  test('a wrong password is one line saying Redis refused the credentials, without either password', async () => {
    const wrong = redis.url.replace(SECRET, `${SECRET}-wrong`);
    const commands = [['status'], ['defer', '--classpath', 'x.Y'], ['cancel', 'pw-1']];
    const results = await Promise.all(
      commands.map((args) => runCli([...args, '--redis-url', wrong], { env: ENV })),
    );
    results.forEach((result, i) =>
      assertOneLineFailure(
        result,
        /^supervisor-triggerer \w+: Redis at redis:\/\/:\*\*\*@127\.0\.0\.1:\d+ refused the credentials: WRONGPASS/,
        commands[i]!.join(' '),
        [SECRET],
      ),
    );
  });

  test('the triggerer reads it from --redis-url-file and logs it without the password', async () => {
    const triggerer = spawnOwned(
      process.execPath,
      ['--import', 'tsx', MAIN, 'triggerer', '--redis-url-file', urlFile, '--metrics-port', 'none'],
      { env: { ...process.env, ...ENV } },
    );
    try {
      await waitUntil(
        () => {
          if (triggerer.child.exitCode !== null) throw new Error(`triggerer exited: ${triggerer.output()}`);
          return triggerer.output().includes('triggerer ready') ? true : undefined;
        },
        { timeoutMs: 30_000, what: 'triggerer ready' },
      );
      assert.match(triggerer.output(), /"redis":"redis:\/\/:\*\*\*@127\.0\.0\.1:\d+"/);
    } finally {
      // A closing triggerer finishes at nice 19: on a busy machine that takes a few seconds.
      await triggerer.stop(30_000);
    }
    assert.equal(triggerer.child.exitCode, 0, triggerer.output());
    assert.ok(!triggerer.output().includes(SECRET), 'the triggerer printed the password');
  });

  test('--redis-url-file: an unreadable file is one line naming it; both flags at once is a usage error', async () => {
    const missing = join(dir.path, 'missing');
    const [unreadable, both] = await Promise.all([
      runCli(['status', '--redis-url-file', missing], { env: ENV }),
      runCli(['status', '--redis-url', redis.url, '--redis-url-file', urlFile], { env: ENV }),
    ]);
    assertOneLineFailure(
      unreadable,
      new RegExp(`^supervisor-triggerer status: cannot read the Redis URL file ${missing}: ENOENT$`),
      'missing file',
    );
    assert.equal(both.code, 2);
    assert.match(both.stderr, /give --redis-url or --redis-url-file, not both/);
  });
});

test("--help of defer, cancel and status says --redis-url is visible in 'ps' and offers the file and $REDIS_URL", async () => {
  const commands = ['defer', 'cancel', 'status'];
  const helps = await Promise.all(commands.map((command) => runCli([command, '--help'])));
  helps.forEach((help, i) => {
    assert.equal(help.code, 0);
    assert.match(help.stdout, /--redis-url URL .*'ps'/s, commands[i]);
    assert.match(help.stdout, /--redis-url-file FILE/, commands[i]);
    assert.match(help.stdout, /\$REDIS_URL/, commands[i]);
  });
});
