/** The jobs' pure parts: end conditions in a time zone, names, hook points and environment, job keys. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, jobOptions, loadJobFiles, resolveJob, validateJob } from '../../src/config/index.js';
import { hookEnvironment } from '../../src/jobs/hooks.js';
import { endtimeOn, limitReached, limitsOf } from '../../src/jobs/limits.js';
import { loadJob } from '../../src/jobs/load.js';
import { jobNameOf, stepJobId, watchTriggerId } from '../../src/jobs/names.js';
import { HOOK_POINTS, STEPS, stepHook } from '../../src/jobs/points.js';
import { hostOf } from '../../src/jobs/host.js';
import { endpointNameOf } from '../../src/jobs/steps/watch.js';

describe('end conditions', () => {
  test('endtime is that time of day in the job’s zone, on the reference day there', () => {
    const reference = Date.parse('2030-06-01T22:00:00Z'); // 2030-06-02 12:00 in Kiritimati (UTC+14)
    assert.equal(
      new Date(endtimeOn(reference, '17:30', 'Pacific/Kiritimati')).toISOString(),
      '2030-06-02T03:30:00.000Z',
    );
    assert.equal(new Date(endtimeOn(reference, '17:30:15', 'UTC')).toISOString(), '2030-06-01T17:30:15.000Z');
    assert.equal(
      new Date(endtimeOn(reference, '08:00', 'America/New_York')).toISOString(),
      '2030-06-01T12:00:00.000Z',
    );
  });

  test('endtime across a DST change uses the offset of that time, not of the reference', () => {
    // Berlin moves from UTC+1 to UTC+2 at 02:00 local on 2030-03-31
    const reference = Date.parse('2030-03-31T00:30:00Z'); // 01:30 local, still UTC+1
    assert.equal(
      new Date(endtimeOn(reference, '17:30', 'Europe/Berlin')).toISOString(),
      '2030-03-31T15:30:00.000Z',
    );
  });

  test('limits are fixed from the reference time; the first one that holds ends the run', () => {
    const options = jobOptions(
      validateJob({
        working_dir: '/tmp/x',
        runtime: '1h',
        endtime: '12:00',
        timezone: 'UTC',
        program: { a: { command: 'a' } },
      }),
    );
    const limits = limitsOf(options, Date.parse('2030-01-01T11:30:00Z'));
    assert.deepEqual(limits, {
      runtimeEndsAt: '2030-01-01T12:30:00.000Z',
      endtimeAt: '2030-01-01T12:00:00.000Z',
    });
    assert.equal(limitReached(limits, Date.parse('2030-01-01T11:59:59Z')), undefined);
    assert.equal(limitReached(limits, Date.parse('2030-01-01T12:00:00Z'))?.reason, 'endtime');
  });
});

describe('names', () => {
  test('a job is named by its name key, else its file’s base name; a bad base name says to set one', () => {
    const job = validateJob({ working_dir: '/tmp/x', program: { a: { command: 'a' } } });
    assert.equal(jobNameOf(job, ['/srv/jobs/web-1.yaml']), 'web-1');
    assert.equal(jobNameOf({ ...job, name: 'named' }, ['/srv/jobs/web-1.yaml']), 'named');
    assert.throws(
      () => jobNameOf(job, ['/srv/jobs/my job.yaml']),
      (e: unknown) => e instanceof ConfigError && /set name/.test(e.message),
    );
    assert.throws(
      () => validateJob({ working_dir: '/tmp/x', name: 'a:b', program: { a: { command: 'a' } } }),
      /name/,
    );
  });

  test('a run refuses a password among its overrides (they are stored in Redis)', async () => {
    await assert.rejects(
      loadJob(['/nonexistent.yaml'], { overrides: ['unix_http_server.password=hunter2'] }),
      (e: unknown) =>
        e instanceof ConfigError &&
        /unix_http_server\.password: a password or other secret may not be given with --set/.test(
          e.message,
        ) &&
        !e.message.includes('hunter2'),
    );
  });

  test('a secret inside an override’s value is refused too, at any depth; a variable name is fine', async () => {
    const refused = async (override: string, path: string) =>
      assert.rejects(
        loadJob(['/nonexistent.yaml'], { overrides: [override] }),
        (e: unknown) =>
          e instanceof ConfigError &&
          e.message.startsWith(`${path}: a password or other secret may not be given with --set`) &&
          !e.message.includes('hunter2'),
        override,
      );
    await refused(
      'inet_http_server={port: "127.0.0.1:9001", password: hunter2}',
      'inet_http_server.password',
    );
    await refused(
      'program.web={command: x, environment: {API_TOKEN: hunter2}}',
      'program.web.environment.API_TOKEN',
    );
    await refused('program={web: {environment: {db_passwd: hunter2}}}', 'program.web.environment.db_passwd');
    // not a secret: the name of the variable the passphrase is read from (the file is then missing)
    await assert.rejects(
      loadJob(['/nonexistent.yaml'], { overrides: ['host={passphrase_env: BOX_PASSPHRASE}'] }),
      /cannot read: ENOENT/,
    );
  });

  test('job start pins relative local paths (working_dir, the host key, known_hosts, agent) to its directory', async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'pins-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const file = join(dir, 'remote.yaml');
    await writeFile(
      file,
      JSON.stringify({
        working_dir: '/srv/app',
        program: { a: { command: 'a' } },
        host: { hostname: 'box', identity_file: 'keys/id', known_hosts: '~/.ssh/kh', agent: 'agent.sock' },
      }),
    );
    const loaded = await loadJob([file], { cwd: '/home/op/jobs' });
    assert.deepEqual(loaded.spec.overrides, [
      'host.identity_file="/home/op/jobs/keys/id"',
      'host.agent="/home/op/jobs/agent.sock"',
    ]);
    // a worker in another directory reads the same files
    const elsewhere = await loadJobFiles(loaded.spec.files, { overrides: loaded.spec.overrides });
    assert.equal(elsewhere.host?.identity_file, '/home/op/jobs/keys/id');
    assert.equal(elsewhere.host?.known_hosts, '~/.ssh/kh');
  });

  test('step job and trigger ids are deterministic and hold no colon', () => {
    assert.equal(
      stepJobId('web.20300101T080000Z-1a2b', 3, 'start-programs'),
      'web.20300101T080000Z-1a2b.3.start-programs',
    );
    assert.equal(watchTriggerId('web.x', 2), 'web.x.2.trigger');
  });

  test('a watched endpoint is named by the whole SSH login: hosts that differ by port or user never share one', async () => {
    const nameOn = async (host: Record<string, unknown>) => {
      const config = validateJob({
        working_dir: '/srv/app',
        program: { a: { command: 'a' } },
        host: { hostname: 'gw.example', identity_file: '/keys/id', ...host },
      });
      return endpointNameOf(hostOf(config), await resolveJob(config, { files: null }));
    };
    const names = [
      await nameOn({ port: 2201, username: 'deploy' }),
      await nameOn({ port: 2202, username: 'deploy' }),
      await nameOn({ port: 2201, username: 'ops' }),
    ];
    assert.equal(names[0], 'job@ssh.deploy@gw.example:2201:/srv/app/supervisord.conf');
    assert.equal(new Set(names).size, 3, names.join(', '));
    // the queue stays one per hostname: any worker reaching the host serves its jobs
    assert.equal(
      hostOf(
        validateJob({
          working_dir: '/srv/app',
          program: { a: { command: 'a' } },
          host: { hostname: 'gw.example', port: 2202, identity_file: '/k' },
        }),
      ).name,
      'ssh.gw.example',
    );
  });

  test('schedule must look like a cron pattern', () => {
    const base = { working_dir: '/tmp/x', program: { a: { command: 'a' } } };
    assert.equal(validateJob({ ...base, schedule: '0 8 * * 1-5' }).schedule, '0 8 * * 1-5');
    assert.equal(validateJob({ ...base, schedule: '*/5 0 8 * * MON-FRI' }).schedule, '*/5 0 8 * * MON-FRI');
    assert.throws(() => validateJob({ ...base, schedule: 'every day' }), /cron pattern/);
  });
});

describe('hook points', () => {
  test('before/after each step but end, on_unhealthy and on_end; job files accept exactly those', () => {
    assert.equal(HOOK_POINTS.length, 2 * (STEPS.length - 1) + 2);
    assert.equal(stepHook('before', 'start-programs'), 'before_start_programs');
    assert.equal(stepHook('after', 'end'), undefined);
    const base = { working_dir: '/tmp/x', program: { a: { command: 'a' } } };
    assert.deepEqual(validateJob({ ...base, hooks: { on_unhealthy: 'true' } }).hooks, {
      on_unhealthy: 'true',
    });
    assert.throws(() => validateJob({ ...base, hooks: { before_lunch: 'true' } }), /before_lunch/);
  });

  test('hook_timeout is at most 24h (a longer timer would fire at once and kill every hook)', () => {
    const base = { working_dir: '/tmp/x', program: { a: { command: 'a' } } };
    assert.equal(jobOptions(validateJob({ ...base, hook_timeout: '24h' })).hookTimeoutMs, 86_400_000);
    assert.throws(
      () => validateJob({ ...base, hook_timeout: '30d' }),
      (e: unknown) => e instanceof ConfigError && /hook_timeout: must be at most 24h/.test(e.message),
    );
  });

  test('the environment holds the run’s context; on_end and on_unhealthy add theirs', () => {
    const base = {
      point: 'on_end' as const,
      job: 'web',
      runId: 'web.x',
      cycle: 2,
      step: 'end' as const,
      retriggers: 1,
      referenceTime: '2030-01-01T00:00:00.000Z',
      workingDir: '/srv/web',
      programs: [{ name: 'web:web', state: 'RUNNING', pid: 12, exitstatus: 0 }],
    };
    const env = hookEnvironment({
      ...base,
      outcome: { status: 'failed', reason: 'maxretrigger', message: 'm' },
    } as never);
    assert.equal(env.ST_JOB_NAME, 'web');
    assert.equal(env.ST_CYCLE, '2');
    assert.equal(env.ST_OUTCOME, 'failed');
    assert.equal(env.ST_REASON, 'maxretrigger');
    assert.deepEqual(JSON.parse(env.ST_PROGRAMS!), base.programs);
    const unhealthy = hookEnvironment({
      ...base,
      point: 'on_unhealthy',
      bad: ['web:web'],
      message: 'why',
    } as never);
    assert.equal(unhealthy.ST_BAD_PROGRAMS, '["web:web"]');
    assert.equal(unhealthy.ST_MESSAGE, 'why');
  });
});
