/** The always-on example is complete and valid: its job file, worker config and hooks module load. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { loadHookModule } from '../../src/jobs/hooks.js';
import { loadJob } from '../../src/jobs/load.js';
import { loadWorkerConfig } from '../../src/jobs/worker-config.js';

const example = (name: string) => fileURLToPath(new URL(`../../examples/${name}`, import.meta.url));

test('examples/always-on.yaml, worker.yaml and hooks.mjs load', async () => {
  const job = await loadJob([example('always-on.yaml')]);
  assert.equal(job.spec.name, 'always-on');
  assert.equal(job.config.schedule, '0 8 * * 1-5');
  assert.ok(job.resolved.options.hooks.on_end);
  const worker = await loadWorkerConfig(example('worker.yaml'));
  assert.equal(worker.hooks, example('hooks.mjs'));
  const hooks = await loadHookModule(worker.hooks!);
  assert.deepEqual(Object.keys(hooks).sort(), ['on_end', 'on_unhealthy']);
});
