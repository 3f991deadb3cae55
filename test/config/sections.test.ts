/** Option validators accept what supervisord accepts and name the place and reason otherwise. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, parseDuration, supervisorConfigSchema } from '../../src/config/index.js';
import { issuesFromZod } from '../../src/config/errors.js';

function problems(config: unknown): string[] {
  const result = supervisorConfigSchema.safeParse(config);
  return result.success ? [] : issuesFromZod(result.error).map((i) => `${i.path}: ${i.message}`);
}

const program = (options: Record<string, unknown>) => ({ program: { p: { command: 'x', ...options } } });

test('valid forms of each option type are accepted', () => {
  assert.deepEqual(
    problems(program({ umask: '022', autostart: 'on', autorestart: 'unexpected', exitcodes: '0,2' })),
    [],
  );
  assert.deepEqual(
    problems(program({ stdout_logfile_maxbytes: '50MB', stderr_capture_maxbytes: 1024, stopsignal: 'usr1' })),
    [],
  );
  assert.deepEqual(
    problems({ unix_http_server: { file: '/tmp/s.sock', chmod: '0700', chown: 'nobody:nogroup' } }),
    [],
  );
  assert.deepEqual(problems({ inet_http_server: { port: '127.0.0.1:9001' } }), []);
  assert.deepEqual(problems({ inet_http_server: { port: 9001 } }), []);
  assert.deepEqual(problems({ supervisord: { loglevel: 'BLATHER', nodaemon: true, minfds: '2048' } }), []);
});

test('invalid values are reported with their path and what is expected', () => {
  assert.deepEqual(problems(program({ stopsignal: 'STOP' })), [
    'program.p.stopsignal: expected one of TERM, HUP, INT, QUIT, KILL, USR1, USR2',
  ]);
  assert.deepEqual(problems(program({ umask: '089' })), [
    'program.p.umask: expected an octal mode like 0700',
  ]);
  assert.deepEqual(problems(program({ autostart: 'maybe' })), [
    'program.p.autostart: expected true or false',
  ]);
  assert.deepEqual(problems(program({ autorestart: 'sometimes' })), [
    'program.p.autorestart: expected true, false or unexpected',
  ]);
  assert.deepEqual(problems(program({ exitcodes: [0, 256] })), [
    'program.p.exitcodes[1]: exit codes are 0-255',
  ]);
  assert.deepEqual(problems(program({ stdout_logfile_maxbytes: '5XB' })), [
    'program.p.stdout_logfile_maxbytes: expected a byte size like 50MB, 10KB or a number of bytes',
  ]);
  assert.deepEqual(problems({ supervisord: { loglevel: 'loud' } }), [
    'supervisord.loglevel: expected one of critical, error, warn, info, debug, trace, blather',
  ]);
  assert.deepEqual(problems({ inet_http_server: { port: 'localhost:99999' } }), [
    'inet_http_server.port: expected host:port or a port number between 1 and 65535',
  ]);
  assert.deepEqual(problems({ unix_http_server: { file: '/s', chown: 'a:b:c' } }), [
    'unix_http_server.chown: expected user or user:group',
  ]);
  assert.deepEqual(problems({ unix_http_server: { file: '/s', username: 'u' } }), [
    'unix_http_server.password: username and password must be given together',
  ]);
  assert.deepEqual(problems({ program: { p: {} } }), ['program.p.command: required']);
  assert.deepEqual(problems({ program: { 'a b': { command: 'x' } } }), [
    'program["a b"]: invalid name: names must not contain spaces, colons or slashes',
  ]);
});

test('the cross-option rules supervisord enforces are checked', () => {
  assert.deepEqual(problems(program({ stopasgroup: true, killasgroup: false })), [
    'program.p.killasgroup: cannot be false when stopasgroup is true',
  ]);
  assert.deepEqual(
    problems({ eventlistener: { l: { command: 'x', events: ['TICK_5'], redirect_stderr: true } } }),
    [
      'eventlistener.l.redirect_stderr: not allowed for an event listener (it would interfere with the protocol)',
    ],
  );
  assert.deepEqual(problems({ eventlistener: { l: { command: 'x' } } }), [
    'eventlistener.l.events: required',
  ]);
  assert.deepEqual(
    problems({ 'fcgi-program': { f: { command: 'x', socket: 'tcp://h:1', socket_mode: '0700' } } }),
    ['fcgi-program.f.socket_owner: socket_owner and socket_mode only apply to a unix socket'],
  );
  assert.deepEqual(problems({ rpcinterface: { x: { retries: 3 } } }), [
    'rpcinterface.x["supervisor.rpcinterface_factory"]: required',
  ]);
  assert.deepEqual(problems({ group: { g: { programs: 'a,b' } }, program: { a: { command: 'x' } } }), [
    'group.g.programs[1]: names unknown program b',
  ]);
});

test('ConfigError lists every issue, one line each', () => {
  const error = new ConfigError([
    { path: 'program.a.stopsignal', message: 'bad' },
    { path: 'program.b.command', message: 'required' },
  ]);
  assert.ok(error instanceof Error);
  assert.equal(error.message, 'program.a.stopsignal: bad\nprogram.b.command: required');
});

test('durations read as 30s, 5m, 8h, 1h30m, ISO 8601 or seconds', () => {
  assert.equal(parseDuration('30s'), 30_000);
  assert.equal(parseDuration('5m'), 300_000);
  assert.equal(parseDuration('8h'), 28_800_000);
  assert.equal(parseDuration('1h30m'), 5_400_000);
  assert.equal(parseDuration('250ms'), 250);
  assert.equal(parseDuration('2d'), 172_800_000);
  assert.equal(parseDuration(' 5S '), 5000);
  assert.equal(parseDuration('PT5M'), 300_000);
  assert.equal(parseDuration('P1DT2H'), 93_600_000);
  assert.equal(parseDuration('PT0.5S'), 500);
  assert.equal(parseDuration(90), 90_000);
  assert.equal(parseDuration('90'), 90_000);
  for (const bad of ['', 'PT', '5x', '1h30', 'soon']) {
    assert.throws(() => parseDuration(bad), /expected a duration like 30s/, bad);
  }
});
