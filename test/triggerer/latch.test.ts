import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Latch } from '../../src/util/latch.js';

describe('Latch', () => {
  test('the first fire wins; a listener set later is called at once with it', () => {
    const latch = new Latch<string>();
    latch.fire('hand-off');
    latch.fire('lost');
    const heard: string[] = [];
    latch.listen((value) => heard.push(value));
    assert.deepEqual(heard, ['hand-off']);
  });

  test('a listener set before is called once, when it fires; cleared, it is not', () => {
    const latch = new Latch<number>();
    const heard: number[] = [];
    latch.listen((value) => heard.push(value));
    latch.fire(1);
    latch.fire(2);
    assert.deepEqual(heard, [1]);
    const other = new Latch<number>();
    other.listen((value) => heard.push(value));
    other.clear();
    other.fire(3);
    assert.deepEqual(heard, [1]);
  });
});
