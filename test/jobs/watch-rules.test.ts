/**
 * The watch's rules, on a job whose supervisord is not running: a watch that failed because
 * supervisord is gone starts it again, whatever the `on_unhealthy` hook says (a hook cannot bring it
 * back), carrying the failed watches so the run cannot loop forever; and a watch ends the run at the
 * limits fixed at its start, not at the job file's `runtime` as it reads now.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { loadJobFiles, resolveJob } from '../../src/config/index.js';
import type { RunData } from '../../src/jobs/run-data.js';
import type { StepContext, Successor } from '../../src/jobs/step-context.js';
import { localJobHost } from '../../src/jobs/host.js';
import { watchFailed, watchStep } from '../../src/jobs/steps/watch.js';
import { tempDir } from '../fixtures/tmp.js';

describe('the watch', () => {
  let dir: { path: string; remove(): Promise<void> };
  before(async () => {
    dir = await tempDir('st-unhealthy-');
  });
  after(() => dir?.remove());

  /** Evaluates a failed watch of a job whose supervisord never ran; `hook` is what on_unhealthy did. */
  async function evaluate(hookOk: boolean | undefined, watchFailures = 0): Promise<[Successor, string[]]> {
    const file = join(dir.path, 'dead.yaml');
    const hooks = hookOk === undefined ? {} : { hooks: { on_unhealthy: hookOk ? 'true' : 'false' } };
    await writeFile(
      file,
      JSON.stringify({
        working_dir: join(dir.path, 'work'),
        program: { p: { command: 'sleep 100' } },
        ...hooks,
      }),
    );
    const declared = await resolveJob(await loadJobFiles([file]), { files: null });
    const data: RunData = {
      v: 1,
      job: { name: 'dead', files: [file], overrides: [] },
      runId: 'dead.1',
      step: 'evaluate',
      cycle: 3,
      retriggers: 2,
      referenceTime: new Date().toISOString(),
      limits: {},
      watchFailures,
    };
    const notes: string[] = [];
    const ctx = {
      data,
      declared,
      lifecycle: {},
      hook: () => Promise.resolve({ ok: hookOk === true, ran: true, summary: hookOk ? '' : 'exit 1' }),
      note: (message: string) => {
        notes.push(message);
        return Promise.resolve();
      },
    } as unknown as StepContext;
    return [await watchFailed(ctx, 'connection refused'), notes];
  }

  test('an on_unhealthy hook that succeeds is a notification: supervisord is started again', async () => {
    const [then, notes] = await evaluate(true, 1);
    assert.equal(then.kind, 'step');
    assert.equal(then.kind === 'step' && then.data.step, 'start');
    assert.equal(then.kind === 'step' && then.data.watchFailures, 2, 'the failed watches are carried');
    assert.equal(then.kind === 'step' && then.data.retriggers, 3);
    assert.match(notes.join('\n'), /on_unhealthy ran; starting supervisord again/);
  });

  test('a failing hook, or none: supervisord is started again too', async () => {
    for (const hookOk of [false, undefined]) {
      const [then] = await evaluate(hookOk);
      assert.equal(then.kind === 'step' && then.data.step, 'start', `hook ${String(hookOk)}`);
      assert.equal(then.kind === 'step' && then.data.watchFailures, 1);
    }
  });

  test('the watch ends the run at the runtime fixed at its start, not the files’ runtime now', async () => {
    const file = join(dir.path, 'fixed.yaml');
    await writeFile(
      file,
      JSON.stringify({
        working_dir: join(dir.path, 'w2'),
        runtime: '1h',
        program: { p: { command: 'sleep 1' } },
      }),
    );
    const declared = await resolveJob(await loadJobFiles([file]), { files: null });
    const reference = Date.now();
    const data: RunData = {
      v: 1,
      job: { name: 'fixed', files: [file], overrides: [] },
      runId: 'fixed.1',
      step: 'watch',
      cycle: 1,
      retriggers: 0,
      referenceTime: new Date(reference).toISOString(),
      // the run started with `runtime: 10m`; its file says 1h now
      limits: { runtimeEndsAt: new Date(reference + 600_000).toISOString() },
      watchFailures: 0,
    };
    const ctx = {
      data,
      declared,
      host: localJobHost(),
      spec: { name: 'fixed', files: [file], overrides: [], queue: 'q', host: 'h' },
      store: {
        stopRequested: () => Promise.resolve(undefined),
        registerEndpoint: () => Promise.resolve(),
        record: () => Promise.resolve(),
      },
      hook: () => Promise.resolve({ ok: true, ran: false, summary: '' }),
      note: () => Promise.resolve(),
      bullJob: { queueName: 'q' },
      now: Date.now,
    } as unknown as StepContext;
    const then = await watchStep(ctx);
    assert.equal(then.kind, 'watch');
    const kwargs = then.kind === 'watch' ? (then.record.kwargs as Record<string, unknown>) : {};
    assert.equal(kwargs.runtime, '600000ms');
    assert.equal(kwargs.reference_time, data.referenceTime);
  });
});
