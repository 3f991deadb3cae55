/**
 * Teardown's rules, without servers where none is needed: what a step that failed for good leads to
 * (a teardown that could not stop supervisord never ends `succeeded`), how long teardown is retried,
 * and that a host that cannot be reached is an error to retry, never a reason to skip.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_TEARDOWN_RETRY_MS, mayRetry, retryDelayMs, SETUP_ATTEMPTS } from '../../src/jobs/retries.js';
import type { RunData } from '../../src/jobs/run-data.js';
import { afterError, type StepContext } from '../../src/jobs/step-context.js';
import { teardownOf } from '../../src/jobs/teardown-target.js';
import { HostError } from '../../src/supervisor/host/errors.js';
import { closeSshHosts } from '../../src/supervisor/host/shared.js';
import { freePort } from '../fixtures/ports.js';

function runData(step: RunData['step'], extra: Partial<RunData> = {}): RunData {
  return {
    v: 1,
    job: { name: 'web', files: ['/srv/web.yaml'], overrides: [] },
    runId: 'web.1',
    step,
    cycle: 2,
    retriggers: 1,
    referenceTime: '2030-01-01T00:00:00.000Z',
    limits: {},
    watchFailures: 0,
    ...extra,
  };
}

describe('a step that failed for good', () => {
  const succeeded = { status: 'succeeded' as const, reason: 'runtime', message: 'runtime (1h) elapsed' };

  test('a stop that failed for good makes the run failed (teardown), naming what it ended with before', () => {
    const then = afterError(runData('stop', { outcome: succeeded }), 'host unreachable');
    assert.equal(then.kind, 'step');
    assert.equal(then.kind === 'step' && then.data.step, 'unconfigure');
    const outcome = then.kind === 'step' ? then.data.outcome : undefined;
    assert.equal(outcome?.status, 'failed');
    assert.equal(outcome?.reason, 'teardown');
    assert.match(
      outcome?.message ?? '',
      /^stop failed: host unreachable; before that the run succeeded \(runtime/,
    );
  });

  test('the first teardown failure is kept; stop-programs failing leaves the outcome to stop', () => {
    const first = afterError(runData('stop', { outcome: succeeded }), 'gone');
    const kept = first.kind === 'step' ? first.data.outcome : undefined;
    const second = afterError(runData('unconfigure', { outcome: kept }), 'still running');
    assert.deepEqual(second.kind === 'step' && second.data.outcome, kept);
    const programs = afterError(runData('stop-programs', { outcome: succeeded }), 'timeout');
    assert.equal(programs.kind === 'step' && programs.data.step, 'stop');
    assert.deepEqual(programs.kind === 'step' && programs.data.outcome, succeeded);
  });

  test('a setup step fails the run through teardown; end leads nowhere (the worker releases the run)', () => {
    const setup = afterError(runData('start'), 'boom');
    assert.equal(setup.kind === 'step' && setup.data.step, 'stop-programs');
    assert.equal(setup.kind === 'step' && setup.data.outcome?.reason, 'error');
    assert.deepEqual(afterError(runData('end'), 'boom'), { kind: 'none' });
  });
});

describe('retries', () => {
  test('a teardown step is tried again for minutes, within the budget; a setup step three times', () => {
    const tenMinutes = 600_000;
    assert.ok(mayRetry('stop', 12, tenMinutes), 'still retried after 12 failures (about 4.5 min)');
    let failures = 1;
    while (mayRetry('stop', failures, tenMinutes)) failures += 1;
    let waited = 0;
    for (let n = 1; n < failures; n++) waited += retryDelayMs(n);
    assert.ok(waited >= tenMinutes - 30_000 && waited <= tenMinutes, `gave up after ${waited} ms`);
    assert.ok(mayRetry('stop', 30, MAX_TEARDOWN_RETRY_MS));
    assert.ok(mayRetry('configure', SETUP_ATTEMPTS - 1, tenMinutes));
    assert.ok(!mayRetry('configure', SETUP_ATTEMPTS, tenMinutes));
    assert.deepEqual([1, 2, 3, 4, 5, 9].map(retryDelayMs), [2000, 4000, 8000, 16_000, 30_000, 30_000]);
  });
});

describe('what teardown acts on', () => {
  after(() => closeSshHosts());

  test('a recorded remote target whose host cannot be reached: a host error (retried), never a skip', async () => {
    const port = await freePort(); // nothing listens there
    const ctx = {
      data: runData('stop', {
        teardown: {
          workingDir: '/srv/web',
          configPath: '/srv/web/supervisord.conf',
          statePath: '/srv/web/.state.json',
          pidfile: '/srv/web/supervisord.pid',
          endpoint: { url: 'unix:///srv/web/supervisor.sock', username: 'web' },
          host: { hostname: '127.0.0.1', port, agent: true, connectTimeoutMs: 2000, reconnectMaxMs: 100 },
          programs: {},
          stopOnExit: true,
          cleanup: true,
        },
      }),
      baseLifecycle: {},
      live: () => Promise.reject(new Error('teardown must not load the job files')),
    } as unknown as StepContext;
    await assert.rejects(teardownOf(ctx), (e: unknown) => e instanceof HostError);
  });
});
