/**
 * A shell hook's environment: the safe base, the run's ST_* context and what the job passes through
 * (`hook_env`), never the rest of the worker's environment (the Redis URL with its password, SSH
 * passphrases, other jobs' secrets), since a hook's output is kept in the run's events.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { tmpdir } from 'node:os';
import { ConfigError, jobOptions, validateJob } from '../../src/config/index.js';
import { runHooks, type HookContext } from '../../src/jobs/hooks.js';

const context: HookContext = {
  point: 'before_start',
  job: 'web',
  runId: 'web.1',
  cycle: 1,
  step: 'start',
  retriggers: 0,
  referenceTime: '2030-01-01T00:00:00.000Z',
  workingDir: '/srv/web',
  programs: [],
};

/** The variables a shell hook sees, run for real. */
async function seen(env: NodeJS.ProcessEnv, passEnv?: string[]): Promise<Record<string, string>> {
  const result = await runHooks(context, {
    shell: 'env',
    timeoutMs: 10_000,
    cwd: tmpdir(),
    env,
    ...(passEnv && { passEnv }),
  });
  assert.ok(result.ok, result.summary);
  const lines = result.summary.split('\n').slice(1);
  return Object.fromEntries(lines.map((line) => [line.split('=')[0]!, line.slice(line.indexOf('=') + 1)]));
}

describe('a shell hook’s environment', () => {
  const worker = {
    PATH: process.env.PATH,
    HOME: '/home/w',
    LC_ALL: 'C.UTF-8',
    TZ: 'UTC',
    REDIS_URL: 'redis://:hunter2@10.0.0.1:6379',
    DEPLOY_KEY_PASSPHRASE: 'hunter3',
    DB_PASSWORD: 'hunter4',
    ST_CUSTOM: 'mine',
  };

  test('gets the safe base and the run’s context, not the worker’s secrets', async () => {
    const env = await seen(worker);
    assert.equal(env.HOME, '/home/w');
    assert.equal(env.LC_ALL, 'C.UTF-8');
    assert.equal(env.TZ, 'UTC');
    assert.equal(env.ST_JOB_NAME, 'web');
    assert.equal(env.ST_CUSTOM, 'mine');
    for (const name of ['REDIS_URL', 'DEPLOY_KEY_PASSPHRASE', 'DB_PASSWORD'])
      assert.equal(env[name], undefined, `${name} is not passed`);
  });

  test('gets the names the job passes through (hook_env), only those', async () => {
    const env = await seen(worker, ['DB_PASSWORD', 'NOT_SET']);
    assert.equal(env.DB_PASSWORD, 'hunter4');
    assert.equal(env.REDIS_URL, undefined);
    assert.equal(env.NOT_SET, undefined);
  });

  test('hook_env is a list of variable names', () => {
    const job = validateJob({
      working_dir: '/srv/web',
      program: { p: { command: 'true' } },
      hook_env: ['DB_PASSWORD', 'AWS_PROFILE'],
    });
    assert.deepEqual(jobOptions(job).hookEnv, ['DB_PASSWORD', 'AWS_PROFILE']);
    assert.deepEqual(
      jobOptions(validateJob({ working_dir: '/srv/web', program: { p: { command: 'true' } } })).hookEnv,
      [],
    );
    assert.throws(
      () => validateJob({ working_dir: '/srv/web', program: { p: { command: 'true' } }, hook_env: ['A B'] }),
      (e: unknown) =>
        e instanceof ConfigError && /hook_env\[0\]: expected an environment variable name/.test(e.message),
    );
  });
});
