import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { firstValueFrom } from 'rxjs';
import { formatIssues, issuesFromZod } from '../../src/config/errors.js';
import { SupervisorClient } from '../../src/supervisor/client.js';
import type { SupervisorEndpoint } from '../../src/supervisor/endpoint.js';
import { EndpointUnreachable } from '../../src/supervisor/errors.js';
import { UnknownProgramError } from '../../src/triggerer/operators/to-program-states.js';
import { SharedPollers } from '../../src/triggerer/pollers.js';
import { ProgramStateTrigger } from '../../triggers/program-state.js';
import { ProgramWatchTrigger } from '../../triggers/program-watch.js';
import { SupervisorReadyTrigger } from '../../triggers/supervisor-ready.js';
import { waitUntil } from '../fixtures/processes.js';
import { runSupervisord, startSupervisord, type SupervisordHandle } from '../fixtures/supervisord.js';
import { tempDir } from '../fixtures/tmp.js';
import { runTrigger, triggerContext } from '../fixtures/trigger-context.js';

const run = promisify(execFile);
const forever = 'command=sleep 1000\nstartsecs=0\nautorestart=false\nstopwaitsecs=2';
const later = 'command=sleep 1000\nstartsecs=0\nautostart=false\nautorestart=false\nstopwaitsecs=2';
const exitsWith = (code: number) =>
  `command=sh -c "sleep 0.5; exit ${code}"\nstartsecs=0\nautostart=false\nautorestart=false`;

describe('supervisor triggers against a real supervisord', () => {
  let supervisord: SupervisordHandle;
  let pollers: SharedPollers;
  const endpoints = new Map<string, SupervisorEndpoint>();

  /** supervisorctl, the real command-line client, on the fixture's config. */
  const ctl = (...args: string[]) => run('supervisorctl', ['-c', supervisord.configPath, ...args]);
  const statename = async (name: string) => {
    const { stdout } = await ctl('status', name).catch((e: { stdout: string }) => e);
    return stdout.trim().split(/\s+/)[1];
  };
  /** Resolves once the shared poll of `box` has run `more` more times. */
  const polls = async (more: number) => {
    const target = (pollers.stats().box?.polls ?? 0) + more;
    await waitUntil(() => ((pollers.stats().box?.polls ?? 0) >= target ? true : undefined), {
      what: `${more} polls`,
    });
  };

  before(async () => {
    supervisord = await startSupervisord({
      programs: {
        sleeper: forever,
        p1: forever,
        p2: forever,
        crasher: exitsWith(3),
        f1: exitsWith(0),
        f2: exitsWith(0),
        c1: forever,
        c2: forever,
        idle: later,
      },
      extra: '[group:pair]\nprograms=p1,p2\n[group:fin]\nprograms=f1,f2\n[group:cancelme]\nprograms=c1,c2\n',
    });
    endpoints.set('box', supervisord.endpoint);
    pollers = new SharedPollers({
      resolveEndpoint: (name) => {
        const endpoint = endpoints.get(name);
        if (endpoint === undefined) throw new Error(`unknown endpoint "${name}"`);
        return endpoint;
      },
      defaultIntervalMs: 100,
    });
  });

  after(async () => {
    await pollers?.close();
    await supervisord?.stop();
  });

  describe('supervisor.ProgramStateTrigger', () => {
    test('fires when a watched program is stopped with supervisorctl', async () => {
      const ctx = triggerContext(pollers);
      const outcome = runTrigger(
        ProgramStateTrigger,
        { endpoint: 'box', programs: ['sleeper'], states: ['STOPPED'], interval: '100ms' },
        ctx,
      );
      await polls(1);
      await ctl('stop', 'sleeper');
      const { status, payload } = await outcome;
      assert.equal(status, 'fired');
      // a program stopped by a signal reports exitstatus -1
      assert.deepEqual(payload.programs, [
        { name: 'sleeper', group: 'sleeper', statename: 'STOPPED', exitstatus: -1 },
      ]);
    });

    test('mode any fires on the first program, mode all only once every program is there', async () => {
      const ctx = triggerContext(pollers);
      const kwargs = { endpoint: 'box', programs: ['pair:*'], states: ['STOPPED'], interval: '100ms' };
      const any = runTrigger(ProgramStateTrigger, { ...kwargs, mode: 'any' }, ctx);
      let allSettled = false;
      const all = runTrigger(ProgramStateTrigger, kwargs, ctx).finally(() => (allSettled = true));
      await polls(1);
      await ctl('stop', 'pair:p1');
      const first = await any;
      assert.deepEqual(first.payload.matched, ['pair:p1']);
      await polls(2);
      assert.equal(allSettled, false, 'mode all waits for p2');
      await ctl('stop', 'pair:p2');
      const both = await all;
      assert.deepEqual(both.payload.matched, ['pair:p1', 'pair:p2']);
    });

    test('a named program that does not exist fails the trigger with a clear reason', async () => {
      const ctx = triggerContext(pollers);
      await assert.rejects(
        runTrigger(ProgramStateTrigger, { endpoint: 'box', programs: ['ghost'], states: ['RUNNING'] }, ctx),
        (error: unknown) =>
          error instanceof UnknownProgramError && /unknown program "ghost"/.test(error.message),
      );
    });

    test('bad kwargs are refused with a message naming the field', () => {
      const parse = (kwargs: unknown) => ProgramStateTrigger.kwargs.safeParse(kwargs);
      // as the triggerer reports them: the path names the field, the message says what is wrong
      const message = (kwargs: unknown) => {
        const { error } = parse(kwargs);
        return error ? formatIssues(issuesFromZod(error, { schema: ProgramStateTrigger.kwargs }), '; ') : '';
      };
      assert.match(message({ endpoint: 'box', states: ['STOPED'] }), /^states\[0\]: expected one of STOPPED/);
      assert.match(
        message({ endpoint: 'box', states: ['STOPPED'], interval: '5 parsecs' }),
        /interval: expected a duration/,
      );
      assert.match(
        message({ endpoint: 'box', states: ['STOPPED'], mode: 'most' }),
        /mode: expected "all" or "any"/,
      );
      assert.match(
        message({ states: ['STOPPED'] }),
        /endpoint: expected the name of a supervisor connection/,
      );
      assert.equal(
        parse({ endpoint: 'box', states: ['EXITED'], program: ['x'] }).success,
        false,
        'typo keys are refused',
      );
      assert.equal(parse({ endpoint: 'box', states: ['EXITED'], interval: '1m' }).data?.interval, 60_000);
      assert.equal(
        parse({ endpoint: 'box', states: ['EXITED'], interval: 2 }).data?.interval,
        2000,
        'a bare number is seconds, as in job files and the triggerer config',
      );
    });
  });

  describe('supervisor.ProgramWatchTrigger', () => {
    test('decides restart, naming the program, when it exits with an unexpected code', async () => {
      await ctl('start', 'crasher');
      const ctx = triggerContext(pollers);
      const { payload } = await runTrigger(
        ProgramWatchTrigger,
        { endpoint: 'box', programs: ['crasher'], interval: '100ms' },
        ctx,
      );
      assert.equal(payload.decision, 'restart');
      assert.equal(payload.reason, 'unhealthy');
      assert.deepEqual(payload.bad, ['crasher:crasher']);
      assert.match(String(payload.message), /crasher:crasher \(EXITED 3\)/);
    });

    test('decides stop when every program finishes cleanly', async () => {
      await ctl('start', 'fin:*');
      const ctx = triggerContext(pollers);
      const { payload } = await runTrigger(
        ProgramWatchTrigger,
        { endpoint: 'box', programs: ['fin:*'], interval: '100ms' },
        ctx,
      );
      assert.equal(payload.decision, 'stop');
      assert.equal(payload.reason, 'done');
      assert.deepEqual(
        (payload.programs as { statename: string; exitstatus: number }[]).map((p) => [
          p.statename,
          p.exitstatus,
        ]),
        [
          ['EXITED', 0],
          ['EXITED', 0],
        ],
      );
    });

    test('decides stop with reason runtime once the runtime from reference_time is over', async () => {
      await ctl('start', 'idle');
      const ctx = triggerContext(pollers);
      const reference_time = new Date(Date.now()).toISOString();
      const { payload } = await runTrigger(
        ProgramWatchTrigger,
        { endpoint: 'box', programs: ['idle'], interval: '100ms', runtime: '400ms', reference_time },
        ctx,
      );
      assert.equal(payload.decision, 'stop');
      assert.equal(payload.reason, 'runtime');
      assert.equal(
        await statename('idle'),
        'RUNNING',
        'the trigger decides; it does not stop programs itself',
      );
    });

    test('decides stop with reason endtime once the endtime has passed', async () => {
      const ctx = triggerContext(pollers);
      const endtime = new Date(Date.now() + 300).toISOString();
      const { payload } = await runTrigger(
        ProgramWatchTrigger,
        { endpoint: 'box', programs: ['idle'], interval: '100ms', endtime },
        ctx,
      );
      assert.equal(payload.reason, 'endtime');
    });

    test('on_cancel stop_programs stops every watched program', async () => {
      const ctx = triggerContext(pollers);
      const kwargs = ProgramWatchTrigger.kwargs.parse({
        endpoint: 'box',
        programs: ['cancelme:*'],
        on_cancel: 'stop_programs',
      });
      const watching = ProgramWatchTrigger.run(kwargs, ctx).subscribe();
      await polls(1);
      assert.equal(await statename('cancelme:c1'), 'RUNNING');
      watching.unsubscribe();
      await ProgramWatchTrigger.onCancel?.(kwargs, ctx);
      assert.deepEqual(
        [await statename('cancelme:c1'), await statename('cancelme:c2')],
        ['STOPPED', 'STOPPED'],
      );
    });
  });

  describe('supervisor.SupervisorReadyTrigger', () => {
    test('fires when the supervisord answers RUNNING', async () => {
      const ctx = triggerContext(pollers);
      const { status, payload } = await runTrigger(SupervisorReadyTrigger, { endpoint: 'box' }, ctx);
      assert.equal(status, 'fired');
      assert.equal(payload.state, 'RUNNING');
    });

    test('waits through early failures for a supervisord that starts later', async (t) => {
      const dir = await tempDir('sup-late-');
      t.after(() => dir.remove());
      const socket = join(dir.path, 's.sock');
      const configPath = join(dir.path, 'supervisord.conf');
      await writeFile(
        configPath,
        `[supervisord]\nlogfile=${dir.path}/log\npidfile=${dir.path}/pid\nchildlogdir=${dir.path}\n` +
          `[unix_http_server]\nfile=${socket}\n[rpcinterface:supervisor]\n` +
          'supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface\n',
      );
      endpoints.set('late', { url: `unix://${socket}` });
      const ctx = triggerContext(pollers);
      const ready = runTrigger(
        SupervisorReadyTrigger,
        { endpoint: 'late', interval: '100ms', unreachable_budget: '30s' },
        ctx,
      );
      await waitUntil(() => ((pollers.stats().late?.failures ?? 0) >= 2 ? true : undefined));
      const late = await runSupervisord(configPath, { url: `unix://${socket}` }, { cwd: dir.path });
      t.after(() => late.stop());
      assert.equal((await ready).status, 'fired');
    });

    test('fails with the last error when the supervisord stays unreachable past the budget', async () => {
      endpoints.set('never', { url: 'unix:///nonexistent/supervisor.sock' });
      const ctx = triggerContext(pollers);
      await assert.rejects(
        runTrigger(
          SupervisorReadyTrigger,
          { endpoint: 'never', interval: '100ms', unreachable_budget: '300ms' },
          ctx,
        ),
        EndpointUnreachable,
      );
    });
  });

  test('the real client sees no program left running by the cancel test', async () => {
    const client = new SupervisorClient(supervisord.endpoint);
    try {
      const infos = await client.getAllProcessInfo();
      assert.ok(infos.filter((i) => i.group === 'cancelme').every((i) => i.statename === 'STOPPED'));
    } finally {
      client.close();
    }
  });
});

void firstValueFrom;
