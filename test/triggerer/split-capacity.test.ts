import { test } from 'node:test';
import assert from 'node:assert/strict';
import { splitCapacity } from '../../src/triggerer/daemon.js';

test('the capacity is split among the fetching workers without losing or adding a slot', () => {
  assert.deepEqual(splitCapacity(1000, 4), [250, 250, 250, 250]);
  assert.deepEqual(splitCapacity(10, 4), [3, 3, 2, 2]);
  assert.deepEqual(splitCapacity(2, 4), [1, 1]);
  assert.deepEqual(splitCapacity(7, 1), [7]);
  assert.deepEqual(splitCapacity(5, 0), [5]);
});
