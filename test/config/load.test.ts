/** Loading: layered files, overrides, ${ENV} interpolation, then validation; and the JSON Schema. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { ConfigError, jobJsonSchema, loadJobFiles } from '../../src/config/index.js';

const data = (name: string) => fileURLToPath(new URL(`../data/${name}`, import.meta.url));
const env = { JOB_DIR: '/tmp/st-job' };

async function issues(promise: Promise<unknown>): Promise<string[]> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof ConfigError, String(error));
    return error.issues.map((i) => `${i.path}: ${i.message}`);
  }
  assert.fail('expected a ConfigError');
}

test('a YAML job loads with ${ENV} and ${ENV:-default} interpolated', async () => {
  const job = await loadJobFiles([data('minimal-job.yaml')], { env });
  assert.equal(job.working_dir, '/tmp/st-job');
  assert.equal(job.program?.hello?.command, "sh -c 'echo hello from supervisord && exec sleep 1000'");
  const greeted = await loadJobFiles([data('minimal-job.yaml')], { env: { ...env, GREETER: 'us' } });
  assert.equal(greeted.program?.hello?.command, "sh -c 'echo hello from us && exec sleep 1000'");
});

test('later files win and objects merge deeply', async () => {
  const job = await loadJobFiles([data('minimal-job.yaml'), data('overlay.yaml')], { env });
  assert.equal(job.check_interval, '30s');
  assert.equal(job.program?.hello?.autostart, true);
  assert.match(job.program?.hello?.command ?? '', /echo hello/);
  assert.equal(job.program?.second?.stopsignal, 'INT');
});

test('a JSON job loads too', async () => {
  const job = await loadJobFiles([data('job.json')], { env });
  assert.equal(job.inet_http_server?.port, 'auto');
  assert.equal(job.timezone, 'Europe/Berlin');
});

test('key.path=value overrides are read as YAML scalars and validated', async () => {
  const job = await loadJobFiles([data('minimal-job.yaml')], {
    env,
    overrides: [
      'program.hello.numprocs=2',
      'program.hello.process_name=%(program_name)s_%(process_num)s',
      'stop_on_exit=false',
      'program.hello.exitcodes=[0, 2]',
    ],
  });
  assert.equal(job.program?.hello?.numprocs, 2);
  assert.equal(job.stop_on_exit, false);
  assert.deepEqual(job.program?.hello?.exitcodes, [0, 2]);
  const dotted = await loadJobFiles([data('minimal-job.yaml')], {
    env,
    overrides: ['rpcinterface.x.supervisor\\.rpcinterface_factory=my.module:factory'],
  });
  assert.equal(dotted.rpcinterface?.x?.['supervisor.rpcinterface_factory'], 'my.module:factory');
  assert.deepEqual(
    await issues(loadJobFiles([data('minimal-job.yaml')], { env, overrides: ['no-equals'] })),
    ["no-equals: expected an override like program.web.command='sleep 10'"],
  );
});

test('every problem is reported: unset variables, bad values, unknown keys, unreadable files', async () => {
  assert.deepEqual(
    await issues(
      loadJobFiles([data('minimal-job.yaml')], {
        env: {},
        overrides: ['program.hello.stopsignal=STOP', 'program.hello.colour=red'],
      }),
    ),
    [
      'working_dir: environment variable JOB_DIR is not set (write ${JOB_DIR:-default} for a default)',
      'program.hello.stopsignal: expected one of TERM, HUP, INT, QUIT, KILL, USR1, USR2',
      'program.hello.colour: unknown option',
    ],
  );
  const missing = await issues(loadJobFiles([data('nope.yaml')], { env }));
  assert.match(missing[0] ?? '', /nope\.yaml: cannot read: ENOENT/);
});

test('$${X} keeps a literal ${X} for the program shell', async () => {
  const job = await loadJobFiles([data('minimal-job.yaml')], {
    env,
    overrides: ['program.hello.command=echo $${HOME}'],
  });
  assert.equal(job.program?.hello?.command, 'echo ${HOME}');
});

test('the JSON Schema describes the job file format', () => {
  const schema = jobJsonSchema() as {
    required?: string[];
    properties: Record<
      string,
      { additionalProperties?: { properties?: Record<string, { enum?: string[] }> } }
    >;
  };
  assert.deepEqual(schema.required, ['working_dir']);
  for (const key of [
    'working_dir',
    'check_interval',
    'supervisord',
    'program',
    'eventlistener',
    'fcgi-program',
    'rpcinterface',
  ]) {
    assert.ok(key in schema.properties, key);
  }
  assert.deepEqual(schema.properties.program?.additionalProperties?.properties?.stopsignal?.enum, [
    'TERM',
    'HUP',
    'INT',
    'QUIT',
    'KILL',
    'USR1',
    'USR2',
  ]);
});
