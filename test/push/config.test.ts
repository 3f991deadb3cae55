import { test } from 'node:test';
import assert from 'node:assert/strict';
import { jobSchema, renderIni, resolveJob } from '../../src/config/index.js';
import { selectProcesses } from '../../src/supervisor/select.js';
import { blankProcessInfo } from '../../src/supervisor/states.js';

/** A job resolved offline (no state file). */
async function resolved(extra: Record<string, unknown>) {
  const job = jobSchema.parse({ working_dir: '/srv/job', program: { web: { command: 'serve' } }, ...extra });
  return resolveJob(job, { files: null });
}

test('push: true adds the listener section, its script path and the push endpoint', async () => {
  const job = await resolved({ push: true });
  const listener = job.supervisor.eventlistener?.['st-push'];
  assert.equal(listener?.command, 'python3 /srv/job/st-push.py 100');
  assert.deepEqual(listener?.events, ['PROCESS_STATE']);
  assert.equal(listener?.buffer_size, 1000);
  assert.equal(listener?.autorestart, true);
  assert.equal(listener?.stderr_logfile, '/srv/job/st-push.log');
  assert.equal(job.push?.scriptPath, '/srv/job/st-push.py');
  assert.deepEqual(job.endpoint.push, { listener: 'st-push', reconcileMs: 30_000 });
  assert.match(
    renderIni(job.supervisor),
    /\[eventlistener:st-push\]\ncommand=python3 \/srv\/job\/st-push.py 100\n/,
  );
});

test('push settings set the wake, the reconcile interval and the python; the job’s own section keys win', async () => {
  const job = await resolved({
    push: { wake: '250ms', reconcile: '2m', python: '/usr/bin/python3' },
    eventlistener: { 'st-push': { command: 'ignored', events: 'PROCESS_STATE', buffer_size: 5000 } },
  });
  const listener = job.supervisor.eventlistener?.['st-push'];
  assert.equal(listener?.command, 'ignored');
  assert.equal(listener?.buffer_size, 5000);
  assert.equal(listener?.autorestart, true, 'what the job left out is filled in');
  assert.deepEqual(job.endpoint.push, { listener: 'st-push', reconcileMs: 120_000 });
  const own = await resolved({ push: { python: '/usr/bin/python3', wake: '20ms' } });
  assert.equal(own.supervisor.eventlistener?.['st-push']?.command, '/usr/bin/python3 /srv/job/st-push.py 20');
});

test('without push there is no listener and the endpoint does not push', async () => {
  for (const push of [undefined, false]) {
    const job = await resolved(push === undefined ? {} : { push });
    assert.equal(job.supervisor.eventlistener, undefined);
    assert.equal(job.endpoint.push, undefined);
    assert.equal(job.push, undefined);
  }
});

test('bad push settings are one clear issue each', () => {
  const issues = (push: unknown) =>
    jobSchema
      .safeParse({ working_dir: '/srv/job', program: { web: { command: 'serve' } }, push })
      .error?.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
  assert.deepEqual(issues({ wake: '5ms' }), ['push.wake: expected a wake interval from 10ms to 1s']);
  assert.deepEqual(issues({ reconcile: '500ms' }), [
    'push.reconcile: expected a reconcile interval of at least 1s',
  ]);
  assert.equal(issues({ reconcile: 'soon' })?.length, 1);
  assert.equal(issues({ colour: 'red' })?.length, 1);
  assert.equal(issues('yes')?.length, 1);
});

test('every process means every program but the push listener; naming the listener selects it', () => {
  const infos = [blankProcessInfo('web', 'web'), blankProcessInfo('st-push', 'st-push')];
  assert.deepEqual(
    selectProcesses(infos, []).selected.map((i) => i.name),
    ['web'],
  );
  assert.deepEqual(
    selectProcesses(infos, ['st-push']).selected.map((i) => i.name),
    ['st-push'],
  );
});
