import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Pacer } from '../../src/util/pacer.js';

/** One turn of the event loop: an immediate queued now runs after the ones queued before it. */
const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('Pacer', () => {
  test('lets at most `batch` callers on per turn of the event loop, in order', async () => {
    const pacer = new Pacer(2);
    const released: number[] = [];
    const all = [0, 1, 2, 3, 4].map((i) => pacer.turn().then(() => void released.push(i)));
    assert.deepEqual(released, []);
    await nextTurn();
    assert.deepEqual(released, [0, 1]);
    await nextTurn();
    assert.deepEqual(released, [0, 1, 2, 3]);
    await nextTurn();
    assert.deepEqual(released, [0, 1, 2, 3, 4]);
    await Promise.all(all);
  });

  test('a timer due during a burst runs before the burst is through', async () => {
    const pacer = new Pacer(10);
    const order: string[] = [];
    // Each caller then works 0.2 ms on the CPU, like a watcher being set up: 200 ms in all.
    const work = () => {
      const until = performance.now() + 0.2;
      while (performance.now() < until);
      order.push('work');
    };
    const burst = Array.from({ length: 1000 }, () => pacer.turn().then(work));
    const timer = new Promise<void>((resolve) =>
      setTimeout(() => {
        order.push('timer');
        resolve();
      }, 0),
    );
    await Promise.all([...burst, timer]);
    const at = order.indexOf('timer');
    // Due after 1 ms: it runs once the first turns are done, long before the 1000th caller.
    assert.ok(at >= 0 && at < 500, `the timer ran after ${at} of ${order.length - 1} callers`);
  });

  test('flush lets every waiting caller go on at once', async () => {
    const pacer = new Pacer(1);
    const released: number[] = [];
    const all = [0, 1, 2].map((i) => pacer.turn().then(() => void released.push(i)));
    pacer.flush();
    await Promise.resolve();
    assert.deepEqual(released, [0, 1, 2]);
    await Promise.all(all);
  });

  test('refuses a batch below 1', () => {
    assert.throws(() => new Pacer(0), /batch must be >= 1, got 0/);
  });
});
