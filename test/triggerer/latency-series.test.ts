/** The per-minute latency series behind the status page's chart (pure: a fake clock, no server). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LatencySeries } from '../../src/triggerer/latency-series.js';

const MINUTE = 60_000;

test('each minute of a key keeps its count, p50 and p99 (within the bucket error)', () => {
  let now = 10 * MINUTE;
  const series = new LatencySeries({ now: () => now });
  for (let i = 1; i <= 100; i++) series.observe('box', i); // 1..100 ms
  now += MINUTE;
  series.observe('box', 1000);
  const points = series.history().box ?? assert.fail('no points');
  assert.equal(points.length, 2);
  const [first, current] = points;
  assert.equal(first?.minute, 10 * MINUTE);
  assert.equal(first?.count, 100);
  assert.ok(Math.abs((first?.p50Ms ?? 0) - 50) / 50 < 0.13, `p50 ${first?.p50Ms}`);
  assert.ok(Math.abs((first?.p99Ms ?? 0) - 99) / 99 < 0.13, `p99 ${first?.p99Ms}`);
  assert.equal(current?.minute, 11 * MINUTE);
  assert.equal(current?.count, 1);
  assert.ok(Math.abs((current?.p50Ms ?? 0) - 1000) / 1000 < 0.13);
});

test('points older than the window are dropped, and a key with none left disappears', () => {
  let now = 0;
  const series = new LatencySeries({ minutes: 60, now: () => now });
  series.observe('old', 5);
  series.observe('new', 5);
  now = 30 * MINUTE;
  series.observe('new', 7);
  now = 61 * MINUTE;
  const history = series.history();
  assert.equal(history.old, undefined);
  assert.deepEqual(
    history.new?.map((p) => p.minute),
    [30 * MINUTE],
  );
});

test('past maxKeys, the key observed least recently is dropped; the memory stays bounded', () => {
  let now = 0;
  const series = new LatencySeries({ maxKeys: 2, now: () => now });
  series.observe('a', 1);
  now += 1;
  series.observe('b', 1);
  now += 1;
  series.observe('a', 1);
  now += 1;
  series.observe('c', 1);
  assert.deepEqual(Object.keys(series.history()).sort(), ['a', 'c']);
  for (let i = 0; i < 100_000; i++) series.observe('a', i % 5000);
  assert.equal(series.history().a?.[0]?.count, 100_002);
});

test('zero, negative and huge latencies land in the end buckets', () => {
  const series = new LatencySeries({ now: () => 0 });
  series.observe('x', 0);
  series.observe('x', -5);
  series.observe('x', 1e9);
  const [point] = series.history().x ?? [];
  assert.equal(point?.count, 3);
  assert.ok((point?.p50Ms ?? 1) < 1);
  assert.ok((point?.p99Ms ?? 0) > 500_000, `p99 ${point?.p99Ms}`);
});
