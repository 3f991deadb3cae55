import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runCli } from './fixtures/cli.js';

test('the CLI lists its commands and rejects an unknown one with exit code 2', async () => {
  const help = await runCli(['--help']);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /config/);
  assert.match(help.stdout, /triggerer/);
  const unknown = await runCli(['frobnicate']);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /unknown command 'frobnicate'/);
});
