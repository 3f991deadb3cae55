/** `supervisor-triggerer config …` as a user runs it. */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { parseIni } from '../../src/config/index.js';
import { runCli } from '../fixtures/cli.js';
import { waitUntil } from '../fixtures/processes.js';
import { rawCall, runSupervisord } from '../fixtures/supervisord.js';
import { tempDir } from '../fixtures/tmp.js';

const data = (name: string) => fileURLToPath(new URL(`../data/${name}`, import.meta.url));
let dir: { path: string; remove(): Promise<void> };
const stops: (() => Promise<void>)[] = [];
before(async () => {
  dir = await tempDir('cli-');
});
after(async () => {
  for (const stop of stops) await stop();
  await dir.remove();
});

test('config render --write of a minimal job gives a file a real supervisord runs', async () => {
  const wd = join(dir.path, 'run');
  const jobFile = join(dir.path, 'job.yaml');
  await writeFile(
    jobFile,
    `working_dir: ${wd}\nprogram:\n  hello:\n    command: sh -c 'echo hello && exec sleep 1000'\n    autostart: true\n`,
  );
  const rendered = await runCli(['config', 'render', jobFile, '--write']);
  assert.equal(rendered.code, 0, rendered.stderr);
  const configPath = join(wd, 'supervisord.conf');
  assert.equal(await readFile(configPath, 'utf8'), rendered.stdout);
  const again = await runCli(['config', 'render', jobFile]);
  assert.equal(again.stdout, rendered.stdout, 'the generated password is stable once written');

  const conf = parseIni(rendered.stdout);
  const server = conf.unix_http_server!;
  const endpoint = { url: `unix://${server.file}`, username: server.username, password: server.password };
  const running = await runSupervisord(configPath, endpoint, { cwd: wd });
  stops.push(() => running.stop());
  await waitUntil(
    async () =>
      (await rawCall(endpoint, 'supervisor.getAllProcessInfo')).includes('RUNNING') ? true : undefined,
    { intervalMs: 100, what: 'program hello RUNNING' },
  );
  const log = await waitUntil(async () => {
    const text = await readFile(join(wd, 'hello', 'output.log'), 'utf8').catch(() => '');
    return text.includes('hello') ? text : undefined;
  });
  assert.equal(log, 'hello\n');
  await assert.rejects(rawCall({ url: endpoint.url }, 'supervisor.getState'), /HTTP 401/, 'auth is required');
});

test('config validate prints ok, or one line per problem with exit code 1', async () => {
  const env = { JOB_DIR: join(dir.path, 'v') };
  const ok = await runCli(['config', 'validate', data('minimal-job.yaml'), data('overlay.yaml')], { env });
  assert.deepEqual([ok.code, ok.stdout], [0, 'ok\n']);
  const bad = await runCli(
    [
      'config',
      'validate',
      data('minimal-job.yaml'),
      '--set',
      'program.hello.stopsignal=STOP',
      '--set',
      'program.hello.colour=red',
    ],
    { env },
  );
  assert.equal(bad.code, 1);
  assert.equal(
    bad.stderr,
    'program.hello.stopsignal: expected one of TERM, HUP, INT, QUIT, KILL, USR1, USR2\nprogram.hello.colour: unknown option\n',
  );
});

test('usage errors exit 2', async () => {
  const none = await runCli(['config', 'validate']);
  assert.equal(none.code, 2);
  assert.match(none.stderr, /validate needs at least one job file/);
  const unknown = await runCli(['config', 'frob']);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /unknown subcommand 'frob'/);
  const flag = await runCli(['config', 'render', 'x.yaml', '--nope']);
  assert.equal(flag.code, 2);
});

test('config import prints a job that validates and renders the same supervisord sections', async () => {
  const imported = await runCli([
    'config',
    'import',
    '/etc/supervisor/supervisord.conf',
    '--working-dir',
    '/tmp/imp',
  ]);
  assert.equal(imported.code, 0, imported.stderr);
  const job = parseYaml(imported.stdout) as Record<string, unknown>;
  assert.equal(job.working_dir, '/tmp/imp');
  assert.equal(job.include, undefined, 'the include is resolved at import (here it matches nothing)');
  assert.match(imported.stdout, /# include: no file matches \/etc\/supervisor\/conf\.d\/\*\.conf/);
  const file = join(dir.path, 'imported.yaml');
  await writeFile(file, `${imported.stdout}program:\n  a:\n    command: sleep 1\n`);
  const rendered = await runCli(['config', 'render', file]);
  assert.equal(rendered.code, 0, rendered.stderr);
  const conf = parseIni(rendered.stdout);
  assert.equal(conf.unix_http_server?.file, '/var/run/supervisor.sock');
  assert.equal(conf.supervisord?.childlogdir, '/var/log/supervisor');
});

test('config schema prints the JSON Schema of the job file', async () => {
  const result = await runCli(['config', 'schema']);
  assert.equal(result.code, 0);
  const schema = JSON.parse(result.stdout) as { $schema: string; properties: Record<string, unknown> };
  assert.match(schema.$schema, /json-schema\.org/);
  assert.ok('program' in schema.properties && 'check_timeout' in schema.properties);
});

test('config schema --record and --event print the schemas of the triggerer contracts', async () => {
  const record = await runCli(['config', 'schema', '--record']);
  assert.equal(record.code, 0, record.stderr);
  const recordSchema = JSON.parse(record.stdout) as {
    properties: Record<string, unknown>;
    required: string[];
  };
  assert.deepEqual(Object.keys(recordSchema.properties).sort(), [
    'classpath',
    'deadline',
    'kwargs',
    'task',
    'v',
  ]);
  assert.ok(recordSchema.required.includes('classpath') && recordSchema.required.includes('v'));
  const event = await runCli(['config', 'schema', '--event']);
  assert.equal(event.code, 0, event.stderr);
  const eventSchema = JSON.parse(event.stdout) as { properties: { status: { enum: string[] } } };
  assert.deepEqual(eventSchema.properties.status.enum, ['fired', 'timeout', 'failed', 'cancelled']);
  const both = await runCli(['config', 'schema', '--record', '--event']);
  assert.equal(both.code, 2);
});
