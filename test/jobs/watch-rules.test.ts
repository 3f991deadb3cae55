/**
 * A watch that failed because supervisord is gone: supervisord is started again, whatever the
 * `on_unhealthy` hook says (a hook cannot bring it back), and the failed watches are carried so the
 * run cannot loop on a dead supervisord forever.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { loadJobFiles, resolveJob } from '../../src/config/index.js';
import type { RunData } from '../../src/jobs/run-data.js';
import type { StepContext, Successor } from '../../src/jobs/step-context.js';
import { watchFailed } from '../../src/jobs/steps/watch.js';
import { tempDir } from '../fixtures/tmp.js';

describe('a watch failed with supervisord gone', () => {
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
});
