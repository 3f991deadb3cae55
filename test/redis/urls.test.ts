/**
 * Naming a Redis as data: server, Sentinel and Cluster URLs parsed into what they name, their
 * passwords never repeated (redacted, nor in an error), and the prefix rule of a cluster. Pure logic.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Cluster } from 'ioredis';
import { keyPrefix, toConnectionOptions } from '../../src/client/index.js';
import {
  InvalidRedisUrl,
  parseRedisUrl,
  redactRedisUrl,
  redisConnection,
  redisOptions,
  releaseConnection,
} from '../../src/redis/connection.js';
import { hashTag, InvalidPrefix, prefixFor } from '../../src/redis/prefix.js';

const SECRET = 's3cr:et@pw';
const ENCODED = encodeURIComponent(SECRET);

describe('Redis URLs', () => {
  test('a redis+cluster:// URL names its nodes and the credentials of each', () => {
    const target = parseRedisUrl(`redis+cluster://app:${ENCODED}@10.0.0.1:7000,[::1]:7001,node3`);
    assert.deepEqual(target, {
      kind: 'cluster',
      nodes: [
        { host: '10.0.0.1', port: 7000 },
        { host: '::1', port: 7001 },
        { host: 'node3', port: 6379 },
      ],
      options: { username: 'app', password: SECRET },
    });
  });

  test('a redis+sentinel:// URL names its sentinels, the master and the database', () => {
    const target = parseRedisUrl(`redis+sentinel://:${ENCODED}@s1:26380,s2/mymaster/2`);
    assert.deepEqual(target, {
      kind: 'sentinel',
      options: {
        sentinels: [
          { host: 's1', port: 26380 },
          { host: 's2', port: 26379 },
        ],
        name: 'mymaster',
        db: 2,
        password: SECRET,
      },
    });
  });

  test('server URLs are parsed as before', () => {
    assert.deepEqual(redisOptions('redis://u:p@h:1234/3'), {
      host: 'h',
      port: 1234,
      db: 3,
      username: 'u',
      password: 'p',
    });
    assert.deepEqual(redisOptions('unix:///tmp/r.sock'), { path: '/tmp/r.sock' });
  });

  test('bad sentinel and cluster URLs are one-line errors that never repeat the password', () => {
    const bad = [
      `redis+sentinel://:${ENCODED}@s1:26379`,
      `redis+sentinel://:${ENCODED}@s1:26379/m/x`,
      `redis+cluster://:${ENCODED}@n1:7000/0`,
      `redis+cluster://:${ENCODED}@n1:99999`,
      `redis+cluster://:${ENCODED}@`,
      `redis+cluster://:${ENCODED}@n1:7000?x=1`,
      'redis+cluster://:%E0%A4%A@n1',
    ];
    for (const url of bad) {
      assert.throws(
        () => parseRedisUrl(url),
        (error: unknown) =>
          error instanceof InvalidRedisUrl &&
          !error.message.includes('\n') &&
          !error.message.includes(SECRET) &&
          !error.message.includes(ENCODED),
        url,
      );
    }
  });

  test('redaction keeps where and who, never the password', () => {
    assert.equal(
      redactRedisUrl(`redis+cluster://app:${ENCODED}@n1:7000,n2:7001`),
      'redis+cluster://app:***@n1:7000,n2:7001',
    );
    assert.equal(
      redactRedisUrl(`redis+sentinel://:${ENCODED}@s1:26379,[::1]:26380/mymaster`),
      'redis+sentinel://:***@s1:26379,[::1]:26380/mymaster',
    );
    assert.equal(redactRedisUrl('redis+cluster://n1:7000/x'), '(invalid Redis URL)');
  });

  test('a cluster URL gives a Cluster client for BullMQ; options are refused for it', async () => {
    const connection = redisConnection('redis+cluster://127.0.0.1:1');
    assert.ok(connection instanceof Cluster);
    await releaseConnection(connection);
    const sdk = toConnectionOptions('redis+cluster://127.0.0.1:1');
    assert.ok(sdk instanceof Cluster);
    await releaseConnection(sdk);
    assert.throws(() => redisOptions('redis+cluster://127.0.0.1:1'), InvalidRedisUrl);
  });
});

describe('the prefix on a cluster', () => {
  test('the hash tag is what Redis Cluster hashes: the first {...} that is not empty', () => {
    assert.equal(hashTag('{bull}'), 'bull');
    assert.equal(hashTag('app:{q}:x'), 'q');
    assert.equal(hashTag('bull'), undefined);
    assert.equal(hashTag('{}bull{x}'), undefined);
    assert.equal(hashTag('bull{'), undefined);
  });

  test('unset, it is {bull} on a cluster and bull elsewhere', () => {
    assert.equal(keyPrefix('redis+cluster://n1:7000'), '{bull}');
    assert.equal(keyPrefix('redis+sentinel://s1/m'), 'bull');
    assert.equal(keyPrefix('redis://h'), 'bull');
    assert.equal(prefixFor({ isCluster: true }, '{app}'), '{app}');
  });

  test('a prefix without a hash tag is refused on a cluster, with the tagged one to use', () => {
    assert.throws(() => keyPrefix('redis+cluster://n1:7000', 'app'), {
      name: 'InvalidPrefix',
      message: /prefix 'app' has no hash tag.*'\{app\}'/,
    });
    assert.throws(() => prefixFor({ isCluster: true }, '{}app'), InvalidPrefix);
    assert.equal(keyPrefix('redis://h', 'app'), 'app');
  });
});
