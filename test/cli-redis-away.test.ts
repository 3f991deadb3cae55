/**
 * The CLI's commands that talk to Redis (defer, cancel, status, triggerer) when Redis is away: one line and
 * exit 1, never a stack trace, a hang or the password.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { assertOneLineFailure, runCli } from './fixtures/cli.js';
import { freePort } from './fixtures/ports.js';
import { spawnOwned, waitUntil } from './fixtures/processes.js';
import { startRedis } from './fixtures/redis.js';
import { tempDir } from './fixtures/tmp.js';

const MAIN = fileURLToPath(new URL('../src/cli/main.ts', import.meta.url));
const SECRET = 'pw-never-printed';
/** No REDIS_URL from the environment the tests run in. */
const ENV = { REDIS_URL: '' };

/** The commands that talk to Redis, with the arguments that make each one do so. */
const COMMANDS = [
  ['defer', '--classpath', 'time.TimeDeltaTrigger'],
  ['defer', '--classpath', 'time.TimeDeltaTrigger', '--wait'],
  ['cancel', 'some-id'],
  ['status'],
  ['status', '--triggers'],
  ['status', 'some-id'],
  // The daemon too: it fails its start instead of waiting for Redis forever.
  ['triggerer', '--metrics-port', 'none'],
];

test('with nothing listening on the port, defer, cancel, status and the triggerer exit 1 with one line naming the URL (no password) and the cause', async () => {
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
      [SECRET],
    );
  });
});

test('with a unix socket that does not exist, defer, cancel and status exit 1 with one line naming it and ENOENT', async () => {
  const dir = await tempDir('st-');
  try {
    const socket = join(dir.path, 'absent.sock');
    // defer, defer --wait, cancel, status: the status variants reach Redis the same way.
    const commands = COMMANDS.slice(0, 4);
    const results = await Promise.all(
      commands.map((args) => runCli([...args, '--redis-url', `unix://${socket}`], { env: ENV })),
    );
    results.forEach((result, i) => {
      const command = commands[i]![0]!;
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
