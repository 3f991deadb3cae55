import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Subscription } from 'rxjs';
import { SupervisorClient } from '../../src/supervisor/client.js';
import type { ProcessInfo } from '../../src/supervisor/states.js';
import { InvalidTriggererConfig, parseTriggererConfig } from '../../src/triggerer/config-file.js';
import { SharedPollers } from '../../src/triggerer/pollers.js';
import { waitUntil } from '../fixtures/processes.js';
import { startSupervisord, type SupervisordHandle } from '../fixtures/supervisord.js';

/** A real client that counts its getAllProcessInfo calls, independently of the pollers' stats. */
class CountingClient extends SupervisorClient {
  calls = 0;
  override getAllProcessInfo(): Promise<ProcessInfo[]> {
    this.calls += 1;
    return super.getAllProcessInfo();
  }
}

describe('SharedPollers with share: false (the benchmark baseline)', () => {
  let supervisord: SupervisordHandle;
  const opened: SharedPollers[] = [];
  const subscriptions: Subscription[] = [];

  before(async () => {
    supervisord = await startSupervisord({
      programs: { sleeper: 'command=sleep 1000\nautostart=true\nstartsecs=0' },
    });
  });

  after(async () => {
    for (const subscription of subscriptions) subscription.unsubscribe();
    await Promise.all(opened.map((p) => p.close()));
    await supervisord?.stop();
  });

  function pollers(share?: boolean): SharedPollers {
    const created = new SharedPollers({
      resolveEndpoint: () => supervisord.endpoint,
      createClient: (endpoint) => new CountingClient(endpoint),
      ...(share !== undefined && { share }),
    });
    opened.push(created);
    return created;
  }

  /** Subscribes `count` watchers at 100 ms and waits until each has seen two snapshots. */
  async function watch(p: SharedPollers, count: number): Promise<ProcessInfo[][][]> {
    const seen: ProcessInfo[][][] = Array.from({ length: count }, () => []);
    // Triggers created before the poll starts: each may take its first call.
    const since = Date.now();
    for (const list of seen) {
      subscriptions.push(p.processInfo('live', { intervalMs: 100, since }).subscribe((s) => list.push(s)));
    }
    await waitUntil(() => (seen.every((list) => list.length >= 2) ? true : undefined), {
      what: 'two snapshots per subscriber',
    });
    return seen;
  }

  test('every subscriber gets its own poll and its own snapshots', async () => {
    const p = pollers(false);
    const seen = await watch(p, 3);
    assert.equal(p.stats().live?.activePolls, 3, 'one running poll per subscriber');
    assert.ok((p.client('live') as CountingClient).calls >= 6, 'each subscriber caused its own calls');
    const firsts = seen.map((list) => list[0]);
    assert.equal(new Set(firsts).size, 3, 'no snapshot object is shared between subscribers');
    assert.equal(firsts[0]?.[0]?.name, 'sleeper');
  });

  test('by default the subscribers share one poll and the same snapshot', async () => {
    const p = pollers();
    const seen = await watch(p, 3);
    assert.equal(p.stats().live?.activePolls, 1, 'one running poll for all subscribers');
    const firsts = seen.map((list) => list[0]);
    assert.equal(new Set(firsts).size, 1, 'every subscriber got the same snapshot');
  });
});

describe('triggerer config share_pollers', () => {
  test('defaults to true and accepts false', () => {
    assert.equal(parseTriggererConfig('').share_pollers, true);
    assert.equal(parseTriggererConfig('share_pollers: false').share_pollers, false);
  });

  test('a non-boolean is an error naming the key', () => {
    assert.throws(
      () => parseTriggererConfig('share_pollers: sometimes', 'bench.yaml'),
      (error: unknown) =>
        error instanceof InvalidTriggererConfig && /bench\.yaml: share_pollers:/.test(error.message),
    );
  });
});
