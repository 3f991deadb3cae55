/**
 * The CLI's commands that talk to Redis (defer, cancel, status) when Redis is away, and with a URL
 * that holds a password: one line and exit 1, never a stack trace, a hang or the password.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runCli, type CliResult } from './fixtures/cli.js';
import { freePort } from './fixtures/ports.js';
import { spawnOwned, waitUntil } from './fixtures/processes.js';
import { startRedis, type RedisHandle } from './fixtures/redis.js';
import { tempDir } from './fixtures/tmp.js';

const MAIN = fileURLToPath(new URL('../src/cli/main.ts', import.meta.url));
const SECRET = 'pw-never-printed';
/** No REDIS_URL or embedded redis from the environment the tests run in. */
const ENV = { REDIS_URL: '' };

/** Asserts the one-line failure a user should see: exit 1, the line, no stack, no password. */
function assertOneLineFailure(result: CliResult, line: RegExp, what: string): void {
  assert.equal(result.code, 1, `${what}: ${result.stderr}`);
  assert.equal(result.stdout, '', what);
  const lines = result.stderr.split('\n').filter(Boolean);
  assert.equal(lines.length, 1, `${what}: one line on stderr, got:\n${result.stderr}`);
  assert.match(lines[0] ?? '', line, what);
  assert.doesNotMatch(result.stderr, /^\s+at /m, `${what}: no stack trace`);
  assert.doesNotMatch(result.stderr, new RegExp(SECRET), `${what}: no password`);
}

/** The commands that talk to Redis, with the arguments that make each one do so. */
const COMMANDS = [
  ['defer', '--classpath', 'time.TimeDeltaTrigger'],
  ['defer', '--classpath', 'time.TimeDeltaTrigger', '--wait'],
  ['cancel', 'some-id'],
  ['status'],
  ['status', '--triggers'],
  ['status', 'some-id'],
];

test('with nothing listening on the port, defer, cancel and status exit 1 with one line naming the URL (no password) and the cause', async () => {
  const port = await freePort();
  const url = `redis://:${SECRET}@127.0.0.1:${port}`;
  const results = await Promise.all(
    COMMANDS.map((args) => runCli([...args, '--redis-url', url], { env: ENV })),
  );
  results.forEach((result, i) => {
    const command = COMMANDS[i]![0]!;
    assertOneLineFailure(
      result,
      new RegExp(
        `^supervisor-triggerer ${command}: Redis at redis://:\\*\\*\\*@127\\.0\\.0\\.1:${port} is unreachable: connect ECONNREFUSED 127\\.0\\.0\\.1:${port}$`,
      ),
      COMMANDS[i]!.join(' '),
    );
  });
});

test('with a unix socket that does not exist, defer, cancel and status exit 1 with one line naming it and ENOENT', async () => {
  const dir = await tempDir('st-');
  try {
    const socket = join(dir.path, 'absent.sock');
    const results = await Promise.all(
      COMMANDS.map((args) => runCli([...args, '--redis-url', `unix://${socket}`], { env: ENV })),
    );
    results.forEach((result, i) => {
      const command = COMMANDS[i]![0]!;
      assertOneLineFailure(
        result,
        new RegExp(
          `^supervisor-triggerer ${command}: Redis at unix://${socket} is unreachable: connect ENOENT`,
        ),
        COMMANDS[i]!.join(' '),
      );
    });
  } finally {
    await dir.remove();
  }
});

test('defer --wait prints the trigger id, and exits 1 with one line when Redis goes away during the wait', async () => {
  const redis = await startRedis();
  try {
    const cli = spawnOwned(
      process.execPath,
      ['--import', 'tsx', MAIN, 'defer', '--classpath', 'time.TimeDeltaTrigger', '--id', 'gone-1', '--wait'],
      { env: { ...process.env, REDIS_URL: redis.url } },
    );
    let stderr = '';
    cli.child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    // No triggerer runs: the wait goes on until Redis goes away.
    await waitUntil(() => (stderr.includes("waiting for the event of trigger 'gone-1'") ? true : undefined), {
      timeoutMs: 30_000,
      what: `the id on stderr; so far:\n${cli.output()}`,
    });
    await redis.stop();
    await cli.exited;
    assert.equal(cli.child.exitCode, 1, cli.output());
    const lines = stderr.split('\n').filter(Boolean);
    assert.deepEqual(lines.slice(0, 1), [
      "supervisor-triggerer defer: waiting for the event of trigger 'gone-1'",
    ]);
    assert.equal(lines.length, 2, stderr);
    assert.match(
      lines[1] ?? '',
      new RegExp(`^supervisor-triggerer defer: Redis at ${redis.url}/? is unreachable: `),
    );
    assert.doesNotMatch(stderr, /^\s+at /m);
  } finally {
    await redis.stop();
  }
});

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
    const runs: [string, string[], NodeJS.ProcessEnv, number][] = [
      ['defer', ['defer', '--classpath', 'time.TimeDeltaTrigger', '--id', 'pw-1', ...flag], ENV, 0],
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
      ['cancel', ['cancel', 'pw-1', ...flag], ENV, 0],
    ];
    for (const [what, args, env, code] of runs) {
      const result = await runCli(args, { env });
      assert.equal(result.code, code, `${what}: ${result.stderr}`);
      assert.doesNotMatch(result.stdout + result.stderr, new RegExp(SECRET), what);
    }
    const shown = await runCli(['status', 'pw-1', '--redis-url-file', urlFile], { env: ENV });
    assert.match(shown.stdout, /^trigger pw-1\n/, 'the URL file was read');
  });

  test('a wrong password is one line saying Redis refused the credentials, without either password', async () => {
    const wrong = redis.url.replace(SECRET, `${SECRET}-wrong`);
    for (const args of [['status'], ['defer', '--classpath', 'x.Y'], ['cancel', 'pw-1']]) {
      const result = await runCli([...args, '--redis-url', wrong], { env: ENV });
      assertOneLineFailure(
        result,
        /^supervisor-triggerer \w+: Redis at redis:\/\/:\*\*\*@127\.0\.0\.1:\d+ refused the credentials: WRONGPASS/,
        args.join(' '),
      );
    }
  });

  test('--redis-url-file: an unreadable file is one line naming it; both flags at once is a usage error', async () => {
    const missing = join(dir.path, 'missing');
    assertOneLineFailure(
      await runCli(['status', '--redis-url-file', missing], { env: ENV }),
      new RegExp(`^supervisor-triggerer status: cannot read the Redis URL file ${missing}: ENOENT$`),
      'missing file',
    );
    const both = await runCli(['status', '--redis-url', redis.url, '--redis-url-file', urlFile], {
      env: ENV,
    });
    assert.equal(both.code, 2);
    assert.match(both.stderr, /give --redis-url or --redis-url-file, not both/);
  });
});

test("--help of defer, cancel and status says --redis-url is visible in 'ps' and offers the file and $REDIS_URL", async () => {
  for (const command of ['defer', 'cancel', 'status']) {
    const help = await runCli([command, '--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /--redis-url URL .*'ps'/s, command);
    assert.match(help.stdout, /--redis-url-file FILE/, command);
    assert.match(help.stdout, /\$REDIS_URL/, command);
  }
});
