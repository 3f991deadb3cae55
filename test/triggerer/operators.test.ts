import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  finalize,
  firstValueFrom,
  from,
  lastValueFrom,
  map,
  of,
  ReplaySubject,
  Subject,
  toArray,
} from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import {
  atTime,
  exponentialBackoff,
  failAfterBudget,
  firstMatching,
  pollEvery,
  selectPrograms,
  toProgramStates,
  UnknownProgramError,
  type PollResult,
} from '../../src/triggerer/operators/index.js';
import { blankProcessInfo, type ProcessInfo, type ProcessStateName } from '../../src/supervisor/states.js';
import { pollPhase } from '../../src/triggerer/pollers.js';

function scheduler(): TestScheduler {
  return new TestScheduler((actual, expected) => assert.deepEqual(actual, expected));
}

function info(group: string, name: string, statename: ProcessStateName = 'RUNNING'): ProcessInfo {
  return blankProcessInfo(group, name, { statename });
}

const ok = <T>(value: T, at: number): PollResult<T> => ({ ok: true, value, at, durationMs: 0 });
const failed = (error: unknown, at: number, failingSince: number, failures = 1): PollResult<never> => ({
  ok: false,
  error,
  at,
  durationMs: 0,
  failures,
  failingSince,
});

describe('exponentialBackoff', () => {
  test('doubles from the initial delay and stops at the cap', () => {
    const delay = exponentialBackoff({ initialMs: 100, maxMs: 500 });
    assert.deepEqual([1, 2, 3, 4, 5, 10].map(delay), [100, 200, 400, 500, 500, 500]);
  });

  test('rejects a zero cap with a message naming the values', () => {
    assert.throws(() => exponentialBackoff({ maxMs: 0 }), /maxMs > 0.*got 100, 0, 2/);
  });
});

describe('pollEvery', () => {
  test('polls at once and then on every beat of the interval', () => {
    scheduler().run(({ cold, expectObservable }) => {
      const polls = pollEvery(3, () => cold('-(a|)', { a: 'v' }));
      const values = map((r: PollResult<string>) => (r.ok ? r.value : 'x'));
      expectObservable(polls.pipe(values), '^ 10ms !').toBe('-a--a--a--a', { a: 'v' });
    });
  });

  test('with a phase, the second call comes at the phase and the later ones every interval after it', () => {
    scheduler().run(({ cold, expectObservable }) => {
      const polls = pollEvery(5, () => cold('-(a|)', { a: 'v' }), { phaseMs: 2 });
      // calls at 0, 2, 7, 12; each answers 1 frame later
      expectObservable(polls.pipe(map(() => 'a')), '^ 13ms !').toBe('-a-a----a----a');
    });
  });

  test('the beats are on the clock, not counted from the first call', () => {
    scheduler().run(({ cold, expectObservable }) => {
      // subscribed at 3: a call at once, then the beats of phase 2 (7, 12, ...), not 3 + 5
      const polls = pollEvery(5, () => cold('-(a|)', { a: 'v' }), { phaseMs: 2 });
      expectObservable(polls.pipe(map(() => 'a')), '---^ 10ms !').toBe('----a---a----a');
    });
  });

  test("firstCall 'beat' makes the first call on the next beat; wake makes it at once", () => {
    scheduler().run(({ cold, hot, expectObservable }) => {
      const poll = () => cold('-(a|)', { a: 'v' });
      // subscribed at 3: no call before the beat at 7
      const waiting = pollEvery(5, poll, { phaseMs: 2, firstCall: 'beat' });
      expectObservable(waiting.pipe(map(() => 'a')), '---^ 10ms !').toBe('--------a----a');
      // woken at 5: called at once, then on the beats (7, 12); a second wake changes nothing
      const woken = pollEvery(5, poll, { phaseMs: 2, firstCall: 'beat', wake: hot('-----w--w') });
      expectObservable(woken.pipe(map(() => 'a')), '---^ 10ms !').toBe('------a-a----a');
      // subscribed on a beat: the call is at once
      const onBeat = pollEvery(5, poll, { phaseMs: 2, firstCall: 'beat' });
      expectObservable(onBeat.pipe(map(() => 'a')), '--^ 10ms !').toBe('---a----a----');
    });
  });

  test('a nudge calls at once while waiting; nudges during a call make one more call right after it', () => {
    scheduler().run(({ cold, hot, expectObservable }) => {
      const poll = () => cold('--(a|)', { a: 'v' });
      // calls at 0, 4 (nudged), 6 (nudged twice during the call of 4), then the beat at 10
      const polls = pollEvery(10, poll, { nudge: hot('----nn-') });
      expectObservable(polls.pipe(map(() => 'a')), '^ 12ms !').toBe('--a---a-a---a');
    });
  });

  test('a nudge makes the first call of a poll waiting for its beat', () => {
    scheduler().run(({ cold, hot, expectObservable }) => {
      const poll = () => cold('-(a|)', { a: 'v' });
      // the first beat is at 8: nudged at 3, called at once, then on the beat
      const polls = pollEvery(10, poll, { phaseMs: 8, firstCall: 'beat', nudge: hot('---n') });
      expectObservable(polls.pipe(map(() => 'a')), '^ 11ms !').toBe('----a----a--');
    });
  });

  test('a phase outside (0, interval] is refused', () => {
    assert.throws(
      () => pollEvery(5, () => of(1), { phaseMs: 0 }),
      /phase must be > 0 and <= the interval 5 ms/,
    );
    assert.throws(() => pollEvery(5, () => of(1), { phaseMs: 6 }), /got 6/);
  });

  test('a poll slower than the interval skips the beats it overlapped instead of overlapping', () => {
    let running = 0;
    let maxRunning = 0;
    scheduler().run(({ cold, expectObservable }) => {
      const slow = () => {
        running += 1;
        maxRunning = Math.max(maxRunning, running);
        return cold('----(a|)', { a: 1 }).pipe(finalize(() => (running -= 1)));
      };
      // interval 3, each call takes 4: calls start at 0, 6, 12 (beats 3, 9 skipped)
      expectObservable(pollEvery(3, slow).pipe(map(() => 'a')), '^ 17ms !').toBe('----a-----a-----a');
    });
    assert.equal(maxRunning, 1, 'never more than one call in flight');
  });

  test('retries a failed poll after the backoff delay and counts consecutive failures', () => {
    scheduler().run(({ cold, expectObservable }) => {
      const answers = ['ok', 'fail', 'fail', 'ok'];
      let call = 0;
      const poll = () => {
        const answer = answers[call++] ?? 'ok';
        return answer === 'ok' ? cold('(a|)', { a: call }) : cold<number>('#', {}, new Error(`boom ${call}`));
      };
      const results = pollEvery(10, poll, { backoff: (failures) => failures * 2 }).pipe(
        map((r) => (r.ok ? `ok${r.value}` : `f${r.failures}@${r.failingSince}`)),
      );
      // ok at 0, fail at 10, retry after 2 -> fail at 12, retry after 4 -> ok at 16, back on the beat at 20
      expectObservable(results, '^ 30ms !').toBe('a 9ms b 1ms c 3ms d 3ms e 9ms f', {
        a: 'ok1',
        b: 'f1@10',
        c: 'f2@10',
        d: 'ok4',
        e: 'ok5',
        f: 'ok6',
      });
    });
  });

  test('a poll that throws synchronously is a failed result, not an error of the stream', async () => {
    const boom = new Error('cannot even start');
    const first = await firstValueFrom(
      pollEvery(1000, () => {
        throw boom;
      }),
    );
    assert.equal(first.ok, false);
    assert.equal(!first.ok && first.error, boom);
  });

  test('an interval of zero is refused with a clear message', () => {
    assert.throws(() => pollEvery(0, () => of(1)), /poll interval must be > 0 ms \(got 0\)/);
  });
});

describe('failAfterBudget', () => {
  test('passes values and tolerates failures shorter than the budget', () => {
    scheduler().run(({ cold, expectObservable }) => {
      const e = new Error('down');
      const source = cold<PollResult<string>>('a-x-x-b', {
        a: ok('A', 0),
        x: failed(e, 2, 2),
        b: ok('B', 6),
      });
      expectObservable(source.pipe(failAfterBudget(5))).toBe('a-----b', { a: 'A', b: 'B' });
    });
  });

  test('errors with the last failure once the source failed continuously past the budget', () => {
    scheduler().run(({ hot, expectObservable }) => {
      const first = new Error('refused 1');
      const last = new Error('refused 2');
      // failing since frame 2; budget 5 -> error at frame 7 with the latest error seen
      const source = hot<PollResult<string>>('a-x-y------', {
        a: ok('A', 0),
        x: failed(first, 2, 2),
        y: failed(last, 4, 2, 2),
      });
      expectObservable(source.pipe(failAfterBudget(5))).toBe('a------#', { a: 'A' }, last);
    });
  });

  test('a late subscriber gets its whole budget even if the source failed long before', () => {
    scheduler().run(({ hot, expectObservable }) => {
      const e = new Error('down');
      const source = hot<PollResult<string>>('x---------y----', {
        x: failed(e, 0, 0),
        y: failed(e, 10, 0, 2),
      });
      // subscribed at 7 with budget 5: errors at 12, not at once on the failure seen at 10
      expectObservable(source.pipe(failAfterBudget(5)), '-------^').toBe('------------#', {}, e);
    });
  });

  test('fails at once on an error marked fatal', () => {
    scheduler().run(({ cold, expectObservable }) => {
      const denied = new Error('401');
      const source = cold<PollResult<string>>('-x', { x: failed(denied, 1, 1) });
      expectObservable(source.pipe(failAfterBudget(1000, { isFatal: (err) => err === denied }))).toBe(
        '-#',
        {},
        denied,
      );
    });
  });
});

describe('firstMatching', () => {
  test('emits the first defined decision and completes', async () => {
    const decisions = await lastValueFrom(
      from([1, 2, 3, 4]).pipe(
        firstMatching((n) => (n > 2 ? `big ${n}` : undefined)),
        toArray(),
      ),
    );
    assert.deepEqual(decisions, ['big 3']);
  });

  test('a decision of null or false still counts: only undefined means keep watching', async () => {
    assert.equal(await firstValueFrom(of(1, 2).pipe(firstMatching(() => false))), false);
  });

  test('after its decision it leaves the source; an error thrown by decide is the error of the stream', () => {
    scheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('a-b-c-d', { a: 1, b: 2, c: 3, d: 4 });
      expectObservable(source.pipe(firstMatching((n) => (n > 1 ? n * 10 : undefined)))).toBe('--(x|)', {
        x: 20,
      });
      expectSubscriptions(source.subscriptions).toBe('^-!');
      const failing = cold('a-b', { a: 1, b: 2 });
      const boom = new Error('boom');
      expectObservable(
        failing.pipe(
          firstMatching((n) => {
            if (n === 2) throw boom;
            return undefined;
          }),
        ),
      ).toBe('--#', undefined, boom);
      expectSubscriptions(failing.subscriptions).toBe('^-!');
    });
  });

  test('a match in a value replayed at subscription ends it at once', async () => {
    const replayed = new ReplaySubject<number>(1);
    replayed.next(5);
    assert.equal(await firstValueFrom(replayed.pipe(firstMatching((n) => n))), 5);
    assert.equal(replayed.observed, false);
  });
});

describe('selectPrograms / toProgramStates', () => {
  const table = [
    info('web', 'web'),
    info('workers', 'a'),
    info('workers', 'b'),
    info('app', 'api'),
    info('db', 'db'),
  ];
  const names = (infos: ProcessInfo[]) => infos.map((i) => `${i.group}:${i.name}`);

  test('no specs select every process', () => {
    assert.deepEqual(names(selectPrograms(table, [])), names(table));
  });

  test('name, group:name and group:* select the matching processes once, in table order', () => {
    assert.deepEqual(names(selectPrograms(table, ['workers:*', 'web', 'workers:a', 'app:api'])), [
      'web:web',
      'workers:a',
      'workers:b',
      'app:api',
    ]);
  });

  test('a bare name falls back to a process of that name in another group', () => {
    assert.deepEqual(names(selectPrograms(table, ['api'])), ['app:api']);
  });

  test('unknown names throw UnknownProgramError naming each of them and what exists', () => {
    assert.throws(
      () => selectPrograms(table, ['web', 'ghost', 'nope:*']),
      (error: unknown) =>
        error instanceof UnknownProgramError &&
        assert.deepEqual(error.programs, ['ghost', 'nope:*']) === undefined &&
        /unknown programs "ghost", "nope:\*" \(supervisord has: web:web, workers:a/.test(error.message),
    );
  });

  test('toProgramStates errors the stream on the first snapshot lacking a named program', async () => {
    const snapshots = new Subject<ProcessInfo[]>();
    const done = lastValueFrom(snapshots.pipe(toProgramStates(['web']), toArray())).catch((e: unknown) => e);
    snapshots.next(table);
    snapshots.next([info('db', 'db')]);
    const error = await done;
    assert.ok(error instanceof UnknownProgramError);
    assert.deepEqual(error.programs, ['web']);
  });
});

describe('atTime', () => {
  test('fires when the clock reaches the target', () => {
    const testScheduler = scheduler();
    testScheduler.run(({ expectObservable }) => {
      expectObservable(atTime(5, () => testScheduler.now())).toBe('-----(t|)', { t: 5 });
    });
  });

  test('fires at once when the target has passed', () => {
    const testScheduler = scheduler();
    testScheduler.run(({ expectObservable }) => {
      expectObservable(atTime(5, () => testScheduler.now() + 100)).toBe('(t|)', { t: 5 });
    });
  });

  test('re-reads the clock when the timer ends, so a lagging clock never fires it early', () => {
    const testScheduler = scheduler();
    testScheduler.run(({ expectObservable }) => {
      expectObservable(atTime(5, () => testScheduler.now() - 2)).toBe('-------(t|)', { t: 5 });
    });
  });

  test('waits longer than a day in steps that re-read the clock', () => {
    const testScheduler = scheduler();
    testScheduler.run(({ expectObservable }) => {
      const day = 24 * 60 * 60 * 1000;
      let reads = 0;
      const now = () => {
        reads += 1;
        return testScheduler.now();
      };
      expectObservable(atTime(3 * day, now)).toBe(`${3 * day}ms (t|)`, { t: 3 * day });
      testScheduler.flush();
      assert.equal(reads, 4, 'one clock read per step: 0, 1, 2 and 3 days');
    });
  });
});

describe('pollPhase', () => {
  test('is within (0, interval], the same for the same name, and spreads similar names over the interval', () => {
    const names = Array.from({ length: 20 }, (_, i) => `sup-${i}`);
    const phases = names.map((name) => pollPhase(name, 5000));
    for (const phase of phases) assert.ok(phase > 0 && phase <= 5000, `phase ${phase}`);
    assert.deepEqual(
      names.map((name) => pollPhase(name, 5000)),
      phases,
    );
    // Every fifth of the interval gets at least one of the 20 endpoints.
    const fifths = new Set(phases.map((phase) => Math.min(4, Math.floor(phase / 1000))));
    assert.equal(fifths.size, 5, `phases ${phases.join(' ')}`);
    assert.ok(pollPhase('x', 1) === 1);
  });
});
