/** A job file's host: section: validated without secrets, turned into SSH options, kept apart from this machine's files. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import {
  ConfigError,
  formatIssues,
  hostOptions,
  jobJsonSchema,
  resolveJob,
  validateJob,
  writeJobFiles,
} from '../../src/config/index.js';
import { tempDir } from '../fixtures/tmp.js';

const host = { hostname: 'box-3.example', identity_file: '~/.ssh/id_ed25519' };
const job = (extra: Record<string, unknown> = {}, section: Record<string, unknown> = host) => ({
  working_dir: '/srv/jobs/etl',
  program: { etl: { command: 'sleep 1' } },
  host: section,
  ...extra,
});

/** The one-line problems of an invalid job. */
function problems(data: unknown): string {
  try {
    validateJob(data);
  } catch (error) {
    assert.ok(error instanceof ConfigError);
    return formatIssues(error.issues);
  }
  assert.fail('the job was accepted');
}

test('a host section becomes SSH options: durations in ms, ~ and relative paths made absolute here', () => {
  const parsed = validateJob(
    job(
      {},
      {
        ...host,
        port: 2222,
        username: 'deploy',
        passphrase_env: 'BOX3_KEY_PASSPHRASE',
        known_hosts: 'conf/known_hosts',
        command_prefix: '. /opt/sv/bin/activate',
        connect_timeout: '5s',
        command_timeout: '2m',
        keepalive_interval: 0,
        keepalive_count_max: 5,
      },
    ),
  );
  assert.deepEqual(hostOptions(parsed.host!), {
    hostname: 'box-3.example',
    port: 2222,
    username: 'deploy',
    identityFile: join(homedir(), '.ssh/id_ed25519'),
    passphraseEnv: 'BOX3_KEY_PASSPHRASE',
    agent: undefined,
    knownHosts: join(process.cwd(), 'conf/known_hosts'),
    hostKey: undefined,
    commandPrefix: '. /opt/sv/bin/activate',
    connectTimeoutMs: 5000,
    commandTimeoutMs: 120_000,
    keepaliveIntervalMs: 0,
    keepaliveCountMax: 5,
  });
});

test('a passphrase is never accepted in the job file, and its value is not echoed', () => {
  const text = problems(job({}, { ...host, passphrase: 'hunter2-secret' }));
  assert.match(
    text,
    /host\.passphrase: never in the job file: put the passphrase in an environment variable and name it in passphrase_env/,
  );
  assert.ok(!text.includes('hunter2-secret'));
});

test('bad host sections are one clear line each', () => {
  assert.match(problems(job({}, { hostname: 'box' })), /host\.identity_file: give identity_file or agent/);
  assert.match(
    problems(job({}, { hostname: 'box', agent: true, passphrase_env: 'X' })),
    /host\.passphrase_env: passphrase_env needs identity_file/,
  );
  assert.match(
    problems(job({}, { ...host, known_hosts: '/k', host_key: `SHA256:${'A'.repeat(43)}` })),
    /host\.host_key: give known_hosts or host_key, not both/,
  );
  assert.match(
    problems(job({}, { ...host, host_key: 'MD5:aa:bb' })),
    /host\.host_key: expected a SHA256 fingerprint/,
  );
  assert.match(
    problems(job({}, { ...host, passphrase_env: 'not a name' })),
    /host\.passphrase_env: expected an environment variable name/,
  );
  assert.match(problems(job({}, { ...host, port: 70000 })), /host\.port: must be at most 65535/);
  assert.match(
    problems(job({}, { ...host, connect_timeout: 0 })),
    /host\.connect_timeout: must be from 1s to 10m/,
  );
  assert.match(
    problems(job({}, { ...host, keepalive_interval: '500ms' })),
    /host\.keepalive_interval: must be 0 or from 1s to 1h/,
  );
  assert.match(problems(job({}, { ...host, user: 'x' })), /host\.user: unknown option/);
});

test('a remote job needs an absolute working_dir and a port of its own', () => {
  assert.match(
    problems(job({ working_dir: 'jobs/etl' })),
    /working_dir: a job with a host needs an absolute working_dir/,
  );
  assert.match(
    problems(job({ inet_http_server: { port: 'auto' } })),
    /inet_http_server\.port: auto picks a port free on this machine, not on the host/,
  );
  assert.ok(validateJob(job({ inet_http_server: { port: '127.0.0.1:9101' } })));
});

test("a remote job's state is not read from this machine, and its files are not written here", async (t) => {
  const dir = await tempDir('hostcfg-');
  t.after(() => dir.remove());
  const workingDir = join(dir.path, 'wd');
  // A local state file at the same path: another job's, not the remote one's.
  await mkdir(workingDir);
  await writeFile(
    join(workingDir, '.supervisor-triggerer.json'),
    JSON.stringify({ v: 1, password: 'local-one' }),
  );
  // Resolved offline (as `config validate` does): no state is read, least of all this machine's.
  const remote = await resolveJob(validateJob(job({ working_dir: workingDir })), { files: null });
  assert.equal(remote.generated, true);
  assert.notEqual(remote.endpoint.password, 'local-one');
  assert.equal(remote.host?.hostname, 'box-3.example');
  await assert.rejects(
    writeJobFiles(remote),
    /host: the job runs on box-3\.example: write its files with 'supervisor configure'/,
  );
});

test('the JSON Schema of the job file describes the host section', () => {
  const schema = jobJsonSchema() as { properties: { host: { properties: Record<string, unknown> } } };
  for (const key of [
    'hostname',
    'port',
    'username',
    'identity_file',
    'passphrase_env',
    'agent',
    'known_hosts',
    'host_key',
    'command_prefix',
    'connect_timeout',
    'command_timeout',
    'keepalive_interval',
    'keepalive_count_max',
  ]) {
    assert.ok(key in schema.properties.host.properties, key);
  }
});
