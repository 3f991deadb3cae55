/** `status ID` and `status --triggers` from the command line, against a real Redis. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assertOneLineFailure, runCli } from './fixtures/cli.js';
import { startRedis } from './fixtures/redis.js';

test('status ID shows one trigger (exit 1 for an unknown id); status --triggers filters; a bad --state is a usage error', async () => {
  const redis = await startRedis();
  try {
    const env = { REDIS_URL: redis.url };
    const defer = (id: string, kwargs: object) =>
      runCli(
        ['defer', '--classpath', 'time.TimeDeltaTrigger', '--kwargs', JSON.stringify(kwargs), '--id', id],
        {
          env,
        },
      );
    const deferred = await Promise.all([
      defer('st-1', { endpoint: 'box-9', token: 't0k' }),
      defer('st-2', { endpoint: 'box-8' }),
    ]);
    for (const result of deferred) assert.equal(result.code, 0, result.stderr);
    const [one, json, unknown, listed, bad] = await Promise.all([
      runCli(['status', 'st-1'], { env }),
      runCli(['status', 'st-1', '--json'], { env }),
      runCli(['status', 'st-none'], { env }),
      runCli(['status', '--triggers', '--endpoint', 'box-9', '--state', 'waiting'], { env }),
      runCli(['status', '--triggers', '--state', 'sleeping'], { env }),
    ]);
    assert.equal(one.code, 0, one.stderr);
    assert.match(
      one.stdout,
      /^trigger st-1\n\s+state\s+waiting\n\s+classpath\s+time\.TimeDeltaTrigger\n\s+endpoint\s+box-9\n/,
    );
    assert.match(one.stdout, /kwargs\s+\{"endpoint":"box-9","token":"\[redacted\]"\}/);
    assert.equal((JSON.parse(json.stdout) as { state: string }).state, 'waiting');
    assertOneLineFailure(
      unknown,
      /^supervisor-triggerer status: no trigger with id 'st-none'$/,
      'unknown id',
    );
    assert.equal(listed.code, 0, listed.stderr);
    assert.match(
      listed.stdout,
      /^\s+ID\s+STATE\s+CLASSPATH\s+ENDPOINT\s+AGE\s+DEADLINE\s+OUTCOME\n\s+st-1\s+waiting\s+time\.TimeDeltaTrigger\s+box-9\s/,
    );
    assert.equal(listed.stdout.trim().split('\n').length, 2, 'st-2 names another endpoint');
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--state: unknown state 'sleeping'/);
  } finally {
    await redis.stop();
  }
});
