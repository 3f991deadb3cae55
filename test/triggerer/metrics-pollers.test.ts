import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Subscription } from 'rxjs';
import type { SupervisorEndpoint } from '../../src/supervisor/endpoint.js';
import { TriggererMetrics } from '../../src/triggerer/metrics.js';
import { SharedPollers } from '../../src/triggerer/pollers.js';
import { freePort } from '../fixtures/ports.js';
import { waitUntil } from '../fixtures/processes.js';
import { startSupervisord, type SupervisordHandle } from '../fixtures/supervisord.js';

/** The value of one sample line in Prometheus text, or undefined. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('poll metrics fed by SharedPollers (real supervisord)', () => {
  let supervisord: SupervisordHandle;
  let deadUrl: string;
  let pollers: SharedPollers;
  const metrics = new TriggererMetrics({ defaultMetrics: false });
  const subscriptions: Subscription[] = [];

  before(async () => {
    [supervisord, deadUrl] = await Promise.all([
      startSupervisord(),
      freePort().then((port) => `http://127.0.0.1:${port}/RPC2`),
    ]);
    const endpoints: Record<string, SupervisorEndpoint> = {
      live: supervisord.endpoint,
      dead: { url: deadUrl },
    };
    pollers = new SharedPollers({
      resolveEndpoint: (name) => endpoints[name] ?? assert.fail(`unknown endpoint ${name}`),
      onPoll: (endpoint, outcome, durationMs) => metrics.observePoll(endpoint, outcome, durationMs),
    });
    metrics.watchEndpoints(() =>
      Object.fromEntries(Object.entries(pollers.stats()).map(([name, s]) => [name, s.subscribers])),
    );
  });

  after(async () => {
    for (const subscription of subscriptions) subscription.unsubscribe();
    await pollers?.close();
    await supervisord?.stop();
    metrics.close();
  });

  test('every poll of a live endpoint counts as ok, with its duration, and watchers are exported', async () => {
    for (let i = 0; i < 3; i++) {
      subscriptions.push(pollers.processInfo('live', { intervalMs: 100 }).subscribe());
    }
    await waitUntil(() => ((pollers.stats().live?.polls ?? 0) >= 3 ? true : undefined), { what: '3 polls' });
    const text = await metrics.render();
    const polls = pollers.stats().live?.polls ?? 0;
    const ok = sample(text, 'supervisor_triggerer_polls_total{endpoint="live",outcome="ok"}') ?? 0;
    // A poll may finish between the two reads; the counter never runs ahead of the stats.
    assert.ok(ok >= 3 && ok <= polls, `ok=${ok}, polls=${polls}`);
    assert.equal(sample(text, 'supervisor_triggerer_poll_duration_seconds_count{endpoint="live"}'), ok);
    assert.equal(
      sample(text, 'supervisor_triggerer_polls_total{endpoint="live",outcome="error"}'),
      undefined,
    );
    assert.equal(sample(text, 'supervisor_triggerer_endpoint_watchers{endpoint="live"}'), 3);
  });

  test('polls of an unreachable endpoint count as errors', async () => {
    subscriptions.push(
      pollers
        .processInfo('dead', { intervalMs: 100, unreachableBudgetMs: 60_000 })
        .subscribe({ error: () => {} }),
    );
    await waitUntil(() => ((pollers.stats().dead?.failures ?? 0) >= 2 ? true : undefined), {
      what: '2 failed polls',
    });
    const text = await metrics.render();
    assert.ok((sample(text, 'supervisor_triggerer_polls_total{endpoint="dead",outcome="error"}') ?? 0) >= 2);
    assert.equal(sample(text, 'supervisor_triggerer_polls_total{endpoint="dead",outcome="ok"}'), undefined);
  });
});
