import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { loadJobFiles, resolveJob, writeJobState } from '../../src/config/index.js';
import { ConnectionResolver, UnknownEndpoint, envName } from '../../src/triggerer/connections.js';
import {
  parseTriggererConfig,
  InvalidTriggererConfig,
  loadTriggererConfig,
} from '../../src/triggerer/config-file.js';
import { InvalidRedisUrl, redactRedisUrl, redisOptions } from '../../src/redis/connection.js';
import { tempDir } from '../fixtures/tmp.js';

const SECRET = 'pa55-w0rd-never-shown';

describe('connections', () => {
  let dir: { path: string; remove(): Promise<void> };
  before(async () => {
    dir = await tempDir('conn-');
  });
  after(async () => {
    await dir?.remove();
  });

  test('a config connection takes its password by value, from a file, or from an environment variable', async () => {
    const file = join(dir.path, 'pw');
    await writeFile(file, `${SECRET}\nignored second line\n`);
    const resolver = await ConnectionResolver.create({
      connections: {
        a: { url: 'http://127.0.0.1:9001/RPC2', username: 'u', password: SECRET },
        b: { url: 'unix:///run/sup.sock', username: 'u', password_file: file, timeout: 2500 },
        c: { url: 'unix:///run/sup.sock', username: 'u', password_env: 'BOX_PW' },
      },
      env: { BOX_PW: SECRET },
    });
    assert.deepEqual(resolver.resolve('a'), {
      url: 'http://127.0.0.1:9001/RPC2',
      username: 'u',
      password: SECRET,
    });
    assert.deepEqual(resolver.resolve('b'), {
      url: 'unix:///run/sup.sock',
      username: 'u',
      password: SECRET,
      timeoutMs: 2500,
    });
    assert.deepEqual(resolver.resolve('c'), { url: 'unix:///run/sup.sock', username: 'u', password: SECRET });
  });

  test('SUPERVISOR_CONN_<NAME> names an endpoint: upper-cased, - and . become _; URL credentials are split off', async () => {
    assert.equal(envName('box-3.prod'), 'BOX_3_PROD');
    const resolver = await ConnectionResolver.create({
      env: { SUPERVISOR_CONN_BOX_3_PROD: `http://admin:${SECRET}@10.0.0.3:9001/RPC2` },
    });
    assert.deepEqual(resolver.resolve('box-3.prod'), {
      url: 'http://10.0.0.3:9001/RPC2',
      username: 'admin',
      password: SECRET,
    });
  });

  test('an unknown name is an UnknownEndpoint naming the variable that would define it', async () => {
    const resolver = await ConnectionResolver.create({ env: {} });
    assert.throws(
      () => resolver.resolve('box-9'),
      (error: unknown) =>
        error instanceof UnknownEndpoint &&
        /unknown endpoint 'box-9'.*SUPERVISOR_CONN_BOX_9/.test(error.message),
    );
  });

  test('a broken connection does not stop the others and its error names the problem, never the password', async () => {
    const resolver = await ConnectionResolver.create({
      connections: {
        nofile: { url: 'unix:///x.sock', password_file: join(dir.path, 'missing') },
        noenv: { url: 'unix:///x.sock', password_env: 'UNSET_PW' },
        ok: { url: 'unix:///x.sock' },
      },
      env: { SUPERVISOR_CONN_FTP: `ftp://u:${SECRET}@host/` },
    });
    assert.deepEqual(resolver.resolve('ok'), { url: 'unix:///x.sock' });
    assert.throws(() => resolver.resolve('nofile'), /cannot read password_file .*missing: ENOENT/);
    assert.throws(() => resolver.resolve('noenv'), /password_env UNSET_PW is not set/);
    assert.throws(
      () => resolver.resolve('ftp'),
      (error: unknown) =>
        error instanceof UnknownEndpoint &&
        /unsupported scheme ftp:/.test(error.message) &&
        !error.message.includes(SECRET),
    );
  });

  test('a job connection takes the endpoint and credentials the convenience layer generated for the job', async () => {
    const jobFile = join(dir.path, 'job.yaml');
    await writeFile(
      jobFile,
      `working_dir: ${join(dir.path, 'work')}\nprogram:\n  hello:\n    command: sleep 100\n`,
    );
    // What `supervisor start job.yaml` leaves behind: the resolved job and its generated password.
    const started = await resolveJob(await loadJobFiles([jobFile]));
    await writeJobState(started);
    const resolver = await ConnectionResolver.create({
      connections: { mine: { job: jobFile } },
      env: { SUPERVISOR_CONN_VIA_ENV: jobFile },
    });
    assert.deepEqual(resolver.resolve('mine'), started.endpoint);
    assert.deepEqual(resolver.resolve('via-env'), started.endpoint);
    assert.ok(started.endpoint.password, 'the job has generated credentials');
  });

  test('a job file that does not load is reported by kind, without quoting the file', async () => {
    const jobFile = join(dir.path, 'broken.yaml');
    await writeFile(jobFile, `working_dir: [\npassword: ${SECRET}\n`);
    const resolver = await ConnectionResolver.create({ connections: { broken: { job: jobFile } }, env: {} });
    assert.throws(
      () => resolver.resolve('broken'),
      (error: unknown) =>
        error instanceof UnknownEndpoint &&
        /cannot load job file/.test(error.message) &&
        !error.message.includes(SECRET),
    );
  });
});

describe('triggerer config and Redis URLs', () => {
  test('the config file is validated, defaulted and its durations parsed', () => {
    const config = parseTriggererConfig('capacity: 50\nlock_duration: 5s\nstalled_interval: 2\n');
    assert.equal(config.capacity, 50);
    assert.equal(config.lock_duration, 5000);
    assert.equal(config.stalled_interval, 2000);
    assert.equal(config.default_interval, 5000);
    assert.deepEqual(config.plugins, []);
    assert.throws(
      () => parseTriggererConfig('capacity: -1\nbogus: 1\n'),
      (error: unknown) => {
        return (
          error instanceof InvalidTriggererConfig &&
          /capacity/.test(error.message) &&
          /bogus/.test(error.message)
        );
      },
    );
  });

  test('relative paths in a config file resolve against its directory', async () => {
    const dir = await tempDir('cfg-');
    try {
      const path = join(dir.path, 'triggerer.yaml');
      await writeFile(path, 'plugins: [./my-triggers.js]\nconnections:\n  box: { job: jobs/box.yaml }\n');
      const config = await loadTriggererConfig(path);
      assert.deepEqual(config.plugins, [join(dir.path, 'my-triggers.js')]);
      assert.deepEqual(config.connections.box, { job: join(dir.path, 'jobs/box.yaml') });
    } finally {
      await dir.remove();
    }
  });

  test('Redis URLs become ioredis options with ACL user, TLS and unix sockets; errors hide the password', () => {
    assert.deepEqual(redisOptions(`redis://app:${SECRET}@cache:6380/2`), {
      host: 'cache',
      port: 6380,
      db: 2,
      username: 'app',
      password: SECRET,
    });
    assert.deepEqual(redisOptions('rediss://cache.example').tls, { servername: 'cache.example' });
    assert.deepEqual(redisOptions('unix:///run/redis.sock'), { path: '/run/redis.sock' });
    assert.throws(
      () => redisOptions(`http://u:${SECRET}@host`),
      (error: unknown) => error instanceof InvalidRedisUrl && !error.message.includes(SECRET),
    );
    assert.equal(redactRedisUrl(`redis://app:${SECRET}@cache:6380`), 'redis://app:***@cache:6380');
  });
});
