/**
 * Hooks at a run's points, end to end: a shell `on_unhealthy` takes the place of the restart and
 * sees the run's context in ST_* variables; one that fails falls back to the restart; a failing
 * `before_*` fails the run (torn down); a hook that hangs is killed at `hook_timeout`; TypeScript
 * hooks from the worker's module run at the same points with the same context.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { HookContext } from '../../src/jobs/hooks.js';
import {
  isAlive,
  pidsOf,
  startJobsHarness,
  supervisordOf,
  writeJob,
  type JobsHarness,
} from '../fixtures/jobs.js';
import { waitUntil } from '../fixtures/processes.js';

const HOOK_MODULE = fileURLToPath(new URL('./hooks/record.ts', import.meta.url));
// Crashes after start-programs counted it started (RUNNING for a second): the watch sees it.
const crasher = { crasher: { command: "sh -c 'sleep 2.5; exit 3'", startsecs: 0 } };

describe('hooks', () => {
  let h: JobsHarness;
  before(async () => {
    h = await startJobsHarness('jh-', ['--hooks', HOOK_MODULE]);
  });
  after(() => h?.stop());

  test('a shell on_unhealthy hook replaces the restart and sees the run’s context', async () => {
    const out = join(h.dir, 'unhealthy.env');
    await writeJob(h.dir, 'hooked', {
      check_interval: '300ms',
      maxretrigger: 1,
      hooks: { on_unhealthy: `env | grep '^ST_' >> ${out}; echo --- >> ${out}` },
      program: crasher,
    });
    const runId = await h.start('hooked');
    const ended = await h.runs.ended('hooked', runId);
    assert.equal(ended.outcome?.reason, 'maxretrigger', JSON.stringify(ended.outcome));
    const text = await readFile(out, 'utf8');
    assert.equal(
      text.match(/^---$/gm)?.length,
      1,
      'ran once: the second unhealthy watch was past maxretrigger',
    );
    const env = Object.fromEntries(
      text
        .split('\n')
        .filter((line) => line.startsWith('ST_'))
        .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
    );
    assert.equal(env.ST_HOOK, 'on_unhealthy');
    assert.equal(env.ST_JOB_NAME, 'hooked');
    assert.equal(env.ST_RUN_ID, runId);
    assert.equal(env.ST_CYCLE, '1');
    assert.equal(env.ST_STEP, 'evaluate');
    assert.equal(env.ST_RETRIGGERS, '0');
    assert.deepEqual(JSON.parse(env.ST_BAD_PROGRAMS!), ['crasher:crasher']);
    const programs = JSON.parse(env.ST_PROGRAMS!) as { name: string; state: string; exitstatus: number }[];
    assert.deepEqual(
      programs.map((p) => [p.name, p.state, p.exitstatus]),
      [['crasher:crasher', 'EXITED', 3]],
    );
    assert.match(env.ST_MESSAGE!, /crasher:crasher \(EXITED 3\)/);
    assert.equal(JSON.parse(env.ST_EVENT!).status, 'fired');
    assert.ok(!ended.events.some((e) => e.step === 'restart-programs'), 'no restart');
  });

  test('an on_unhealthy hook that fails falls back to the restart', async () => {
    await writeJob(h.dir, 'fallback', {
      check_interval: '300ms',
      maxretrigger: 1,
      hooks: { on_unhealthy: 'echo cannot help; exit 7' },
      program: crasher,
    });
    const ended = await h.runs.ended('fallback', await h.start('fallback'));
    assert.equal(ended.outcome?.reason, 'maxretrigger');
    assert.ok(ended.events.some((e) => /on_unhealthy \(shell\) exited 7: cannot help/.test(e.message)));
    assert.equal(ended.events.filter((e) => /restarting crasher:crasher/.test(e.message)).length, 1);
  });

  test('a before_* hook that exits non-zero fails the run, which is torn down', async () => {
    await writeJob(h.dir, 'refused', {
      hooks: { before_start_programs: 'echo not today >&2; exit 3' },
      program: { sleeper: { command: 'sleep 1000', startsecs: 0 } },
    });
    const runId = await h.start('refused');
    const supervisord = await waitUntil(() => supervisordOf(h.dir, 'refused'), { what: 'supervisord' });
    const ended = await h.runs.ended('refused', runId);
    assert.equal(ended.outcome?.status, 'failed');
    assert.equal(ended.outcome?.reason, 'hook');
    assert.match(ended.outcome?.message ?? '', /before_start_programs \(shell\) exited 3: not today/);
    assert.equal(isAlive(supervisord), false, 'torn down');
  });

  test('a hook that hangs is killed at hook_timeout and fails the run', async () => {
    await writeJob(h.dir, 'hangs', {
      hook_timeout: '1s',
      hooks: { before_watch: 'sleep 299.5; echo never' },
      program: { sleeper: { command: 'sleep 1000', startsecs: 0 } },
    });
    const runId = await h.start('hangs');
    const ended = await h.runs.ended('hangs', runId);
    assert.equal(ended.outcome?.reason, 'hook');
    assert.match(ended.outcome?.message ?? '', /before_watch \(shell\) timed out after 1s/);
    // orphans of the hook's shell would be re-parented to init: look at every process
    assert.deepEqual(pidsOf('sleep 299.5'), [], 'the hook and its children are gone');
  });

  test('TypeScript hooks from the worker’s module run with the same context; one that throws fails the run', async (t) => {
    await writeJob(h.dir, 'ts-hooked', {
      check_interval: '300ms',
      runtime: '2s',
      program: { sleeper: { command: 'sleep 1000', startsecs: 0 } },
    });
    const runId = await h.start('ts-hooked');
    const file = join(tmpdir(), `st-hooks-${runId}.jsonl`);
    t.after(() => rm(file, { force: true }));
    await h.runs.ended('ts-hooked', runId);
    const calls = (await readFile(file, 'utf8'))
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as HookContext & { outcome?: { status: string; reason: string } });
    assert.deepEqual(
      calls.map((c) => [c.point, c.step, c.cycle, c.runId]),
      [
        ['before_start_programs', 'start-programs', 1, runId],
        ['after_start_programs', 'start-programs', 1, runId],
        ['on_end', 'end', 1, runId],
      ],
    );
    assert.deepEqual(
      calls[1]!.programs.map((p) => [p.name, p.state]),
      [['sleeper:sleeper', 'RUNNING']],
    );
    assert.deepEqual(calls[2]!.outcome && [calls[2]!.outcome.status, calls[2]!.outcome.reason], [
      'succeeded',
      'runtime',
    ]);

    await writeJob(h.dir, 'ts-throws', { program: { sleeper: { command: 'sleep 1000', startsecs: 0 } } });
    const thrown = await h.start('ts-throws');
    t.after(() => rm(join(tmpdir(), `st-hooks-${thrown}.jsonl`), { force: true }));
    const ended = await h.runs.ended('ts-throws', thrown);
    assert.equal(ended.outcome?.reason, 'hook');
    assert.match(
      ended.outcome?.message ?? '',
      /before_start_programs \(module\) threw: refused by the TypeScript hook/,
    );
  });
});
