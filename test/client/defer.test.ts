import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildRecord, defer, InvalidDeferral } from '../../src/client/index.js';
import { recordJsonSchema } from '../../src/protocol/index.js';

const NOW = Date.parse('2030-01-01T00:00:00.000Z');

test('a timeout becomes an absolute deadline fixed at enqueue time', () => {
  const record = buildRecord(
    { classpath: 'time.TimeDeltaTrigger', kwargs: { delta: '1h' } },
    { timeout: '10m', now: () => NOW },
  );
  assert.deepEqual(record, {
    v: 1,
    classpath: 'time.TimeDeltaTrigger',
    kwargs: { delta: '1h' },
    deadline: '2030-01-01T00:10:00.000Z',
  });
  assert.equal(
    buildRecord({ classpath: 'x.Y' }, { timeout: 1.5, now: () => NOW }).deadline,
    '2030-01-01T00:00:01.500Z',
    'a bare number is seconds, as everywhere a duration is written as data',
  );
  assert.equal(
    buildRecord({ classpath: 'x.Y' }, { timeout: '1500ms', now: () => NOW }).deadline,
    '2030-01-01T00:00:01.500Z',
  );
});

test('an invalid record or timeout is an InvalidDeferral naming the problem', () => {
  assert.throws(
    () => buildRecord({ classpath: '' }),
    (e: unknown) => e instanceof InvalidDeferral && /classpath/.test(e.message),
  );
  assert.throws(
    () => buildRecord({ classpath: 'x.Y' }, { timeout: 'soonish' }),
    (e: unknown) => e instanceof InvalidDeferral && /invalid timeout/.test(e.message),
  );
});

test('a trigger id with a colon is refused before anything is enqueued', async () => {
  await assert.rejects(
    defer({ classpath: 'x.Y' }, { connection: 'redis://127.0.0.1:1', id: 'a:b' }),
    (e: unknown) => e instanceof InvalidDeferral && /contain no ':'/.test(e.message),
  );
});

test('the record JSON Schema requires v and classpath and describes the deadline', () => {
  const schema = recordJsonSchema() as {
    required: string[];
    properties: Record<string, { description?: string }>;
  };
  assert.deepEqual([...schema.required].sort(), ['classpath', 'v']);
  assert.match(schema.properties.deadline?.description ?? '', /absolute/);
});
