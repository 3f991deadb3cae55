/** `config import` as a user runs it: what the imported job says, and what it leaves alone. */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { parseIni } from '../../src/config/index.js';
import { runCli } from '../fixtures/cli.js';
import { tempDir } from '../fixtures/tmp.js';

let dir: { path: string; remove(): Promise<void> };
before(async () => {
  dir = await tempDir('imp-');
});
after(async () => {
  await dir.remove();
});

/** Writes `files` (path relative to a new folder -> text) and returns the folder. */
async function source(name: string, files: Record<string, string>): Promise<string> {
  const root = join(dir.path, name);
  for (const [path, text] of Object.entries(files)) {
    await mkdir(join(root, path, '..'), { recursive: true });
    await writeFile(join(root, path), text);
  }
  return root;
}

async function importJob(file: string, args: string[] = []) {
  const result = await runCli(['config', 'import', file, ...args], { cwd: dir.path });
  assert.equal(result.code, 0, result.stderr);
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the YAML is asserted field by field
  return { job: parseYaml(result.stdout) as Record<string, any>, text: result.stdout };
}

test('%(here)s becomes the source directory; supervisord-expanded values stay as written', async () => {
  const src = await source('here', {
    'supervisord.conf': [
      '[unix_http_server]',
      'file=%(here)s/supervisor.sock',
      '[supervisord]',
      'logfile=%(here)s/logs/supervisord.log',
      '[program:web]',
      'command=%(here)s/bin/web --port 80%(process_num)02d',
      'process_name=%(program_name)s_%(process_num)s',
      'numprocs=2',
      'environment=HOME="%(ENV_HOME)s",NODE="%(host_node_name)s"',
      'stdout_logfile=%%(here)s-is-literal.log',
      '',
    ].join('\n'),
  });
  const { job } = await importJob(join(src, 'supervisord.conf'), [
    '--working-dir',
    join(dir.path, 'here-job'),
  ]);
  assert.equal(job.unix_http_server.file, `${src}/supervisor.sock`);
  assert.equal(job.supervisord.logfile, `${src}/logs/supervisord.log`);
  assert.equal(job.program.web.command, `${src}/bin/web --port 80%(process_num)02d`);
  assert.equal(job.program.web.process_name, '%(program_name)s_%(process_num)s');
  assert.deepEqual(job.program.web.environment, { HOME: '%(ENV_HOME)s', NODE: '%(host_node_name)s' });
  assert.equal(job.program.web.stdout_logfile, '%%(here)s-is-literal.log', 'an escaped %% stays escaped');
});

test('files pulled in by [include] are merged in, each with its own %(here)s, and unmatched patterns are named', async () => {
  const src = await source('inc', {
    'supervisord.conf': '[supervisord]\nloglevel=info\n[include]\nfiles = conf.d/*.conf missing/*.ini\n',
    'conf.d/a.conf': '[program:a]\ncommand=%(here)s/run-a\n[supervisord]\nloglevel=debug\n',
    'conf.d/b.conf': '[program:b]\ncommand=sleep 1\n',
  });
  const { job, text } = await importJob(join(src, 'supervisord.conf'), [
    '--working-dir',
    join(dir.path, 'inc-job'),
  ]);
  assert.deepEqual(Object.keys(job.program).sort(), ['a', 'b']);
  assert.equal(job.program.a.command, `${src}/conf.d/run-a`);
  assert.equal(job.supervisord.loglevel, 'debug', 'a later file overrides an option, as supervisord does');
  assert.equal(job.include, undefined, 'the include is resolved, not left to read the source again');
  assert.match(text, new RegExp(`# include: merged ${src}/conf.d/a.conf, ${src}/conf.d/b.conf`));
  assert.match(text, new RegExp(`# include: no file matches ${src}/missing/\\*\\.ini`));
});

test('imported programs keep supervisord defaults unless --convenience-defaults is given', async () => {
  const src = await source('defaults', {
    'supervisord.conf': '[supervisord]\n[program:web]\ncommand=sleep 1000\n',
  });
  const file = join(src, 'supervisord.conf');
  const wd = join(dir.path, 'defaults-job');
  const plain = await importJob(file, ['--working-dir', wd]);
  assert.equal(plain.job.program_defaults, 'supervisord');
  const jobFile = join(dir.path, 'defaults.yaml');
  await writeFile(jobFile, plain.text);
  const rendered = await runCli(['config', 'render', jobFile]);
  assert.equal(rendered.code, 0, rendered.stderr);
  assert.deepEqual(parseIni(rendered.stdout).program?.web, { command: 'sleep 1000' });

  const convenient = await importJob(file, ['--working-dir', wd, '--convenience-defaults']);
  await writeFile(jobFile, convenient.text);
  const filled = parseIni((await runCli(['config', 'render', jobFile])).stdout).program?.web;
  assert.equal(filled?.autostart, false);
  assert.equal(filled?.stopwaitsecs, 30);
});

test('an imported job never lives in the source directory: the default is ./<name>-job, the source dir is refused', async () => {
  const src = await source('where', { 'app.conf': '[supervisord]\n[program:web]\ncommand=sleep 1000\n' });
  const file = join(src, 'app.conf');
  const { job } = await importJob(file);
  assert.equal(job.working_dir, join(dir.path, 'app-job'));
  assert.equal(
    job.config_path,
    undefined,
    'the rendered config goes in the working dir, never over the source',
  );
  for (const wd of [src, join(src, 'sub')]) {
    const refused = await runCli(['config', 'import', file, '--working-dir', wd]);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /is in the source's directory/);
  }
  const inSource = await runCli(['config', 'import', file], { cwd: src });
  assert.equal(inSource.code, 1, 'run from the source directory, the default folder would be inside it');
});

test('what supervisord ignores is dropped with a note; --relocate hands its files to working_dir', async () => {
  const src = await source('notes', {
    'supervisord.conf': [
      '[supervisord]',
      'logfile=/var/log/app/supervisord.log',
      'redirect_stderr=true',
      '[unix_http_server]',
      'file=/run/app.sock',
      '[progam:typo]',
      'command=x',
      '[program:web]',
      'command=sleep 1000',
      '',
    ].join('\n'),
  });
  const wd = join(dir.path, 'notes-job');
  const { job, text } = await importJob(join(src, 'supervisord.conf'), ['--working-dir', wd, '--relocate']);
  assert.match(text, /# dropped \[supervisord\] redirect_stderr: not an option supervisord reads/);
  assert.match(text, /# dropped \[progam:typo\]: not a section supervisord reads/);
  assert.match(
    text,
    /# relocated supervisord.logfile \(was \/var\/log\/app\/supervisord.log\) into working_dir/,
  );
  assert.equal(job.supervisord.logfile, undefined);
  assert.equal(job.unix_http_server.file, undefined);
});
