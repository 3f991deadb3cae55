/** INI both ways: the reader follows supervisord's, the writer renders only what is set, and they agree. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { ConfigError, parseIni, renderIni } from '../../src/config/index.js';

function issuesOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof ConfigError, String(error));
    return error.issues.map((i) => `${i.path}: ${i.message}`);
  }
  assert.fail('expected a ConfigError');
}

test('the sample config printed by echo_supervisord_conf parses', () => {
  const config = parseIni(execFileSync('echo_supervisord_conf', { encoding: 'utf8' }));
  assert.equal(config.unix_http_server?.file, '/tmp/supervisor.sock');
  assert.equal(config.supervisord?.logfile_maxbytes, '50MB');
  assert.equal(config.supervisord?.nodaemon, false);
  assert.equal(config.supervisord?.minfds, 1024);
  assert.equal(config.supervisorctl?.serverurl, 'unix:///tmp/supervisor.sock');
  assert.deepEqual(Object.keys(config.rpcinterface ?? {}), ['supervisor']);
});

test("Debian's /etc/supervisor/supervisord.conf parses, include and comments included", () => {
  const config = parseIni(readFileSync('/etc/supervisor/supervisord.conf', 'utf8'));
  assert.equal(config.unix_http_server?.chmod, '0700');
  assert.equal(config.unix_http_server?.file, '/var/run/supervisor.sock');
  assert.deepEqual(config.include?.files, ['/etc/supervisor/conf.d/*.conf']);
  assert.equal(config.supervisord?.childlogdir, '/var/log/supervisor');
});

test('comments, inline comments, continuation lines and expansions are read as supervisord reads them', () => {
  const config = parseIni(
    [
      '; a comment',
      '# another',
      '[program:web]',
      'command = /bin/cat %(here)s/file ; trailing comment',
      'directory=%(ENV_HOME)s;not-a-comment',
      'environment=A="1",',
      '    B="two words"',
      'Autostart: yes',
      'stopsignal=sigint',
      '[include]',
      'files = a.conf',
      '  b/*.conf',
    ].join('\n'),
  );
  const web = config.program?.web;
  assert.equal(web?.command, '/bin/cat %(here)s/file');
  assert.equal(web?.directory, '%(ENV_HOME)s;not-a-comment');
  assert.deepEqual(web?.environment, { A: '1', B: 'two words' });
  assert.equal(web?.autostart, true);
  assert.equal(web?.stopsignal, 'INT');
  assert.deepEqual(config.include?.files, ['a.conf', 'b/*.conf']);
});

test('a bad value and an unknown key are reported with their place and reason', () => {
  const issues = issuesOf(() =>
    parseIni(
      '[program:web]\ncommand=x\nstopsignal=FOO\nbogus=1\n[frobnicate]\na=1\n[program:ok]\nnumprocs=2\ncommand=y\n',
    ),
  );
  assert.deepEqual(issues.sort(), [
    '[frobnicate]: unknown section',
    'program.ok.process_name: must contain %(process_num)s (e.g. %(program_name)s_%(process_num)02d) when numprocs > 1',
    'program.web.bogus: unknown option',
    'program.web.stopsignal: expected one of TERM, HUP, INT, QUIT, KILL, USR1, USR2',
  ]);
  assert.deepEqual(
    issuesOf(() => parseIni('command=x\n')),
    ['line 1: option outside any [section]'],
  );
  assert.deepEqual(
    issuesOf(() => parseIni('[program:a]\njust words\n')),
    ["line 2: expected 'name = value', got 'just words'"],
  );
});

test('render writes only the options that are set, in supervisord syntax', () => {
  const text = renderIni({
    program: {
      web: {
        command: 'python -m http.server',
        exitcodes: [0, 2],
        autostart: false,
        autorestart: 'unexpected',
        environment: { A: 'x,y', B: 'say "hi" now' },
      },
    },
    group: { g: { programs: ['web'] } },
    include: { files: ['a.conf', 'b.conf'] },
  });
  assert.equal(
    text,
    [
      '[include]',
      'files=a.conf b.conf',
      '',
      '[program:web]',
      'command=python -m http.server',
      'autostart=false',
      'autorestart=unexpected',
      'exitcodes=0,2',
      `environment=A="x,y",B='say "hi" now'`,
      '',
      '[group:g]',
      'programs=web',
      '',
    ].join('\n'),
  );
});

test('render(parse(render(x))) is stable', () => {
  const text = renderIni(
    parseIni(
      '[supervisord]\nloglevel=DEBUG\numask=022\n[inet_http_server]\nport=*:9001\nusername=u\npassword={SHA}abc\n' +
        '[program:a]\ncommand=sleep 1\nnumprocs=3\nprocess_name=%(program_name)s_%(process_num)02d\n' +
        'stdout_logfile=NONE\nstderr_logfile_maxbytes=1KB\n' +
        '[eventlistener:l]\ncommand=listen\nevents=PROCESS_STATE,TICK_60\nbuffer_size=100\n' +
        '[fcgi-program:f]\ncommand=fcgi\nsocket=tcp://localhost:9002\nsocket_backlog=10\n' +
        '[rpcinterface:supervisor]\nsupervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface\nretries=3\n',
    ),
  );
  assert.equal(renderIni(parseIni(text)), text);
  assert.match(text, /^loglevel=debug$/m);
  assert.match(text, /^retries=3$/m);
});

test('render refuses a value supervisord would cut at a comment', () => {
  assert.deepEqual(
    issuesOf(() => renderIni({ program: { a: { command: 'sh -c "echo a ; echo b"' } } })),
    ["program.a.command: contains whitespace followed by ';' or '#', which supervisord reads as a comment"],
  );
});
