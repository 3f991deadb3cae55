/** Rendered configurations run on a real supervisord 4.2: every section we render is one it accepts. */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseIni, renderIni, resolveJob, validateJob, writeJobFiles } from '../../src/config/index.js';
import { rawCall, runSupervisord } from '../fixtures/supervisord.js';
import { waitUntil } from '../fixtures/processes.js';
import { tempDir } from '../fixtures/tmp.js';

const LISTENER = `import sys
while True:
    sys.stdout.write('READY\\n'); sys.stdout.flush()
    header = dict(x.split(':') for x in sys.stdin.readline().split())
    sys.stdin.read(int(header['len']))
    sys.stdout.write('RESULT 2\\nOK'); sys.stdout.flush()
`;

/** name -> statename from a getAllProcessInfo response body. */
function states(body: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const struct of body.split('<struct>').slice(1)) {
    const name = /<name>name<\/name>\s*<value><string>([^<]*)</.exec(struct)?.[1];
    const group = /<name>group<\/name>\s*<value><string>([^<]*)</.exec(struct)?.[1];
    const state = /<name>statename<\/name>\s*<value><string>([^<]*)</.exec(struct)?.[1];
    if (name && group && state) out.set(`${group}:${name}`, state);
  }
  return out;
}

let dir: { path: string; remove(): Promise<void> };
const stops: (() => Promise<void>)[] = [];

before(async () => {
  dir = await tempDir('cfg-');
});
after(async () => {
  for (const stop of stops) await stop();
  await dir.remove();
});

test('a config using every kind of section renders, re-parses stably, and supervisord runs all its programs', async () => {
  const wd = join(dir.path, 'all');
  await mkdir(join(wd, 'logs'), { recursive: true });
  await writeFile(join(wd, 'listener.py'), LISTENER);
  const socket = join(wd, 's.sock');
  const resolved = await resolveJob(
    validateJob({
      working_dir: wd,
      supervisord: {
        loglevel: 'debug',
        logfile_maxbytes: '1MB',
        umask: '022',
        environment: { FROM_DAEMON: 'd' },
      },
      unix_http_server: { file: socket, chmod: '0700' },
      program: {
        env: {
          command: `sh -c 'printenv GREETING LIST QUOTED HOMEISH FROM_DAEMON && exec sleep 1000'`,
          autostart: true,
          environment: {
            GREETING: 'hello world',
            LIST: 'a,b,c',
            QUOTED: 'say "hi" twice',
            HOMEISH: '%(ENV_HOME)s/x',
          },
          redirect_stderr: true,
          stdout_logfile: join(wd, 'logs', 'env.log'),
        },
        many: {
          command: 'sleep 1000',
          autostart: true,
          numprocs: 2,
          process_name: '%(program_name)s_%(process_num)s',
          exitcodes: [0, 2],
          stopsignal: 'INT',
          stdout_logfile_maxbytes: '10KB',
          stdout_logfile_backups: 2,
        },
        grouped: { command: 'sleep 1000', autostart: true, autorestart: 'unexpected', umask: '077' },
      },
      group: { pair: { programs: ['grouped'], priority: 10 } },
      eventlistener: {
        listener: {
          command: `python3 ${join(wd, 'listener.py')}`,
          events: ['PROCESS_STATE'],
          buffer_size: 1000,
          autostart: true,
        },
      },
      'fcgi-program': {
        fcgi: {
          command: 'sleep 1000',
          socket: `unix://${join(wd, 'f.sock')}`,
          socket_mode: '0700',
          autostart: true,
        },
      },
      include: { files: ['conf.d/*.conf'] },
    }),
  );
  const text = renderIni(resolved.supervisor);
  assert.equal(renderIni(parseIni(text)), text, 'render(parse(render(x))) is the same text');
  await writeJobFiles(resolved);
  await mkdir(join(wd, 'conf.d'));
  await writeFile(join(wd, 'conf.d', 'extra.conf'), '[program:included]\ncommand=sleep 1000\n');

  const running = await runSupervisord(resolved.configPath, resolved.endpoint, { cwd: wd });
  stops.push(() => running.stop());
  const expected = [
    'env:env',
    'many:many_0',
    'many:many_1',
    'pair:grouped',
    'listener:listener',
    'fcgi:fcgi',
    'included:included',
  ];
  let last = new Map<string, string>();
  const seen = await waitUntil(
    async () => {
      last = states(await rawCall(resolved.endpoint, 'supervisor.getAllProcessInfo'));
      return expected.every((name) => last.get(name) === 'RUNNING') ? last : undefined;
    },
    { timeoutMs: 15_000, intervalMs: 100, what: 'all programs RUNNING' },
  ).catch((error: Error) => {
    throw new Error(`${error.message}; states: ${JSON.stringify([...last])}`);
  });
  assert.deepEqual([...seen.keys()].sort(), [...expected].sort());
  const log = await waitUntil(async () => {
    const content = await readFile(join(wd, 'logs', 'env.log'), 'utf8').catch(() => '');
    return content.split('\n').length > 5 ? content : undefined;
  });
  assert.deepEqual(log.split('\n').slice(0, 5), [
    'hello world',
    'a,b,c',
    'say "hi" twice',
    `${process.env.HOME}/x`,
    'd',
  ]);
});
