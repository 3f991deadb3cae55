/** The convenience layer fills a minimal job, never overwrites the user, and keeps generated values stable. */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { ConfigError, resolveJob, validateJob, writeJobState } from '../../src/config/index.js';
import { tempDir } from '../fixtures/tmp.js';

let dir: { path: string; remove(): Promise<void> };
before(async () => {
  dir = await tempDir('job-');
});
after(() => dir.remove());

test('a minimal job gets paths, program defaults, rpcinterface and a private unix socket endpoint', async () => {
  const wd = join(dir.path, 'min');
  const resolved = await resolveJob(
    validateJob({ working_dir: wd, program: { web: { command: 'sleep 1' } } }),
  );
  assert.equal(resolved.configPath, join(wd, 'supervisord.conf'));
  assert.equal(resolved.statePath, join(wd, '.supervisor-triggerer.json'));
  assert.deepEqual(resolved.programs, ['web']);
  const { supervisord, unix_http_server, supervisorctl, rpcinterface, program } = resolved.supervisor;
  assert.equal(supervisord?.pidfile, join(wd, 'supervisord.pid'));
  assert.equal(supervisord?.logfile, join(wd, 'supervisord.log'));
  assert.equal(supervisord?.childlogdir, wd);
  assert.equal(unix_http_server?.file, join(wd, 'supervisor.sock'));
  assert.equal(unix_http_server?.chmod, '0700');
  assert.equal(
    rpcinterface?.supervisor?.['supervisor.rpcinterface_factory'],
    'supervisor.rpcinterface:make_main_rpcinterface',
  );
  assert.deepEqual(program?.web, {
    command: 'sleep 1',
    autostart: false,
    autorestart: false,
    startsecs: 0,
    exitcodes: [0],
    stopsignal: 'TERM',
    stopwaitsecs: 30,
    stopasgroup: true,
    killasgroup: true,
    directory: join(wd, 'web'),
    stdout_logfile: join(wd, 'web', 'output.log'),
    stderr_logfile: join(wd, 'web', 'error.log'),
  });
  assert.equal(resolved.endpoint.url, `unix://${join(wd, 'supervisor.sock')}`);
  assert.equal(resolved.endpoint.username, 'supervisor');
  assert.ok((resolved.endpoint.password ?? '').length >= 32, 'a random password');
  assert.equal(unix_http_server?.password, resolved.endpoint.password);
  assert.equal(supervisorctl?.serverurl, resolved.endpoint.url);
  assert.equal(supervisorctl?.password, resolved.endpoint.password);
  assert.ok(!resolved.endpoint.url.includes(resolved.endpoint.password!), 'no credentials in the URL');
  assert.equal(resolved.generated, true);
  assert.deepEqual(resolved.options, {
    checkIntervalMs: 5000,
    checkTimeoutMs: 8 * 3600_000,
    runtimeMs: undefined,
    endtime: undefined,
    timezone: undefined,
    maxretrigger: undefined,
    stopOnExit: true,
    cleanup: true,
    restartOnInitial: false,
    restartOnRetrigger: false,
    name: undefined,
    schedule: undefined,
    hooks: {},
    hookTimeoutMs: 300_000,
    hookEnv: [],
  });
});

test('values the user set are never overwritten', async () => {
  const wd = join(dir.path, 'mine');
  const resolved = await resolveJob(
    validateJob({
      working_dir: wd,
      supervisord: { logfile: '/tmp/elsewhere.log' },
      unix_http_server: { username: 'me', password: 'secret', chmod: '0770' },
      program: {
        web: {
          command: 'sleep 1',
          autostart: true,
          autorestart: 'unexpected',
          exitcodes: [0, 2],
          stopsignal: 'INT',
          stopwaitsecs: 3,
          stopasgroup: false,
          directory: '/tmp',
          stdout_logfile: 'NONE',
        },
      },
    }),
  );
  const web = resolved.supervisor.program?.web;
  assert.equal(web?.autostart, true);
  assert.equal(web?.autorestart, 'unexpected');
  assert.deepEqual(web?.exitcodes, [0, 2]);
  assert.equal(web?.stopsignal, 'INT');
  assert.equal(web?.stopwaitsecs, 3);
  assert.equal(web?.stopasgroup, false);
  assert.equal(web?.directory, '/tmp');
  assert.equal(web?.stdout_logfile, 'NONE');
  assert.equal(resolved.supervisor.supervisord?.logfile, '/tmp/elsewhere.log');
  assert.equal(resolved.supervisor.unix_http_server?.chmod, '0770');
  assert.deepEqual(
    { username: resolved.endpoint.username, password: resolved.endpoint.password },
    { username: 'me', password: 'secret' },
  );
  assert.equal(resolved.generated, false);
});

test('an auto port and a generated password are the same in every process once the state is written', async () => {
  const wd = join(dir.path, 'inet');
  const job = validateJob({
    working_dir: wd,
    inet_http_server: { port: 'auto' },
    program: { a: { command: 'x' } },
  });
  const first = await resolveJob(job);
  assert.match(first.endpoint.url, /^http:\/\/127\.0\.0\.1:\d+\/RPC2$/);
  assert.match(String(first.supervisor.inet_http_server?.port), /^127\.0\.0\.1:\d+$/);
  assert.equal(first.supervisor.supervisorctl?.serverurl, first.endpoint.url.replace('/RPC2', ''));
  assert.equal(first.generated, true);
  await writeJobState(first);
  assert.equal((await stat(first.statePath)).mode & 0o777, 0o600);
  const state = await readFile(first.statePath, 'utf8');
  assert.ok(!state.includes('username'), 'the state keeps only generated values');
  const again = await resolveJob(job);
  assert.deepEqual(again.endpoint, first.endpoint);
  assert.equal(again.generated, false);
});

test('a socket path longer than the kernel allows is a clear error', async () => {
  const wd = join(dir.path, 'x'.repeat(120));
  await assert.rejects(
    resolveJob(validateJob({ working_dir: wd, program: { a: { command: 'x' } } })),
    (error: unknown) =>
      error instanceof ConfigError &&
      error.issues.length === 1 &&
      error.issues[0]!.path === 'unix_http_server.file' &&
      /unix sockets allow at most 107/.test(error.issues[0]!.message),
  );
});

test('numprocs programs get one log file per process', async () => {
  const resolved = await resolveJob(
    validateJob({
      working_dir: join(dir.path, 'n'),
      program: { w: { command: 'x', numprocs: 2, process_name: '%(program_name)s_%(process_num)s' } },
    }),
  );
  assert.equal(
    resolved.supervisor.program?.w?.stdout_logfile,
    join(dir.path, 'n', 'w', 'output-%(process_num)s.log'),
  );
});

test('job options: defaults, durations in ms, and bad values named', async () => {
  const resolved = await resolveJob(
    validateJob({
      working_dir: join(dir.path, 'o'),
      check_interval: '30s',
      check_timeout: 'PT1H',
      runtime: '1h30m',
      endtime: '17:30',
      timezone: 'UTC',
      maxretrigger: 3,
      stop_on_exit: false,
      program: { a: { command: 'x' } },
    }),
  );
  assert.equal(resolved.options.checkIntervalMs, 30_000);
  assert.equal(resolved.options.checkTimeoutMs, 3_600_000);
  assert.equal(resolved.options.runtimeMs, 5_400_000);
  assert.equal(resolved.options.maxretrigger, 3);
  assert.equal(resolved.options.stopOnExit, false);
  assert.throws(
    () =>
      validateJob({
        working_dir: '/w',
        check_interval: 'often',
        endtime: '25:00',
        timezone: 'Mars/Olympus',
        program: {},
      }),
    (error: unknown) =>
      error instanceof ConfigError &&
      error.message ===
        [
          "check_interval: expected a duration like 30s, 5m, 8h, 1h30m, PT5M or a number of seconds, got 'often'",
          'endtime: expected a time of day like 17:30 or 17:30:00',
          'timezone: expected an IANA time zone like Europe/Berlin or UTC',
          'program: a job needs at least one program',
        ].join('\n'),
  );
});
