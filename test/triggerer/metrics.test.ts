import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { TriggererMetrics } from '../../src/triggerer/metrics.js';

/** The value of one sample line `name{labels} value` in Prometheus text, or undefined. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('TriggererMetrics', () => {
  test('running and capacity left follow started, finished and handed-off triggers', async () => {
    const metrics = new TriggererMetrics({ capacity: 10, defaultMetrics: false });
    try {
      metrics.triggerStarted();
      metrics.triggerStarted();
      metrics.triggerStarted();
      metrics.triggerFinished('fired', 120);
      metrics.triggerHandedOff();
      const text = await metrics.render();
      assert.equal(sample(text, 'supervisor_triggerer_triggers_running'), 1);
      assert.equal(sample(text, 'supervisor_triggerer_capacity'), 10);
      assert.equal(sample(text, 'supervisor_triggerer_capacity_left'), 9);
      assert.equal(sample(text, 'supervisor_triggerer_triggers_handed_off_total'), 1);
      metrics.setCapacity(2);
      assert.equal(sample(await metrics.render(), 'supervisor_triggerer_capacity_left'), 1);
    } finally {
      metrics.close();
    }
  });

  test('finished triggers are counted by status and their event latency observed in seconds', async () => {
    const metrics = new TriggererMetrics({ capacity: 5, defaultMetrics: false });
    try {
      for (let i = 0; i < 4; i++) metrics.triggerStarted();
      metrics.triggerFinished('fired', 40);
      metrics.triggerFinished('fired');
      metrics.observeEventLatency(300); // measured once the event is committed
      metrics.triggerFinished('timeout');
      metrics.triggerFinished('failed');
      const text = await metrics.render();
      assert.equal(sample(text, 'supervisor_triggerer_triggers_finished_total{status="fired"}'), 2);
      assert.equal(sample(text, 'supervisor_triggerer_triggers_finished_total{status="timeout"}'), 1);
      assert.equal(sample(text, 'supervisor_triggerer_triggers_finished_total{status="failed"}'), 1);
      assert.equal(sample(text, 'supervisor_triggerer_event_latency_seconds_count'), 2);
      const sum = sample(text, 'supervisor_triggerer_event_latency_seconds_sum') ?? NaN;
      assert.ok(Math.abs(sum - 0.34) < 1e-9, `sum is ${sum}`);
      assert.equal(sample(text, 'supervisor_triggerer_event_latency_seconds_bucket{le="0.05"}'), 1);
      assert.equal(sample(text, 'supervisor_triggerer_event_latency_seconds_bucket{le="0.5"}'), 2);
      assert.equal(sample(text, 'supervisor_triggerer_triggers_running'), 0);
    } finally {
      metrics.close();
    }
  });

  test('polls are counted by endpoint and outcome, with their duration per endpoint', async () => {
    const metrics = new TriggererMetrics({ defaultMetrics: false });
    try {
      metrics.observePoll('box-1', 'ok', 20);
      metrics.observePoll('box-1', 'ok', 30);
      metrics.observePoll('box-1', 'error', 1000);
      metrics.observePoll('box-2', 'ok', 5);
      const text = await metrics.render();
      assert.equal(sample(text, 'supervisor_triggerer_polls_total{endpoint="box-1",outcome="ok"}'), 2);
      assert.equal(sample(text, 'supervisor_triggerer_polls_total{endpoint="box-1",outcome="error"}'), 1);
      assert.equal(sample(text, 'supervisor_triggerer_polls_total{endpoint="box-2",outcome="ok"}'), 1);
      assert.equal(sample(text, 'supervisor_triggerer_poll_duration_seconds_count{endpoint="box-1"}'), 3);
      const sum = sample(text, 'supervisor_triggerer_poll_duration_seconds_sum{endpoint="box-1"}') ?? NaN;
      assert.ok(Math.abs(sum - 1.05) < 1e-9, `sum is ${sum}`);
      assert.equal(sample(text, 'supervisor_triggerer_poll_duration_seconds_count{endpoint="box-2"}'), 1);
    } finally {
      metrics.close();
    }
  });

  test('watchers per endpoint are read from the source at each scrape', async () => {
    const metrics = new TriggererMetrics({ defaultMetrics: false });
    try {
      let watchers: Record<string, number> = { 'box-1': 200, 'box-2': 3 };
      metrics.watchEndpoints(() => watchers);
      let text = await metrics.render();
      assert.equal(sample(text, 'supervisor_triggerer_endpoint_watchers{endpoint="box-1"}'), 200);
      assert.equal(sample(text, 'supervisor_triggerer_endpoint_watchers{endpoint="box-2"}'), 3);
      watchers = { 'box-2': 1 };
      text = await metrics.render();
      assert.equal(sample(text, 'supervisor_triggerer_endpoint_watchers{endpoint="box-1"}'), undefined);
      assert.equal(sample(text, 'supervisor_triggerer_endpoint_watchers{endpoint="box-2"}'), 1);
    } finally {
      metrics.close();
    }
  });

  test('event-loop delay is exported: our p99 gauge and the default nodejs_eventloop_lag series', async () => {
    const metrics = new TriggererMetrics({ capacity: 1 });
    try {
      const text = await metrics.render();
      const p99 = sample(text, 'supervisor_triggerer_eventloop_delay_p99_seconds');
      assert.ok(p99 !== undefined && p99 >= 0 && Number.isFinite(p99), `p99 is ${p99}`);
      assert.match(text, /^nodejs_eventloop_lag_seconds /m);
      assert.match(text, /^nodejs_eventloop_lag_p99_seconds /m);
      assert.match(text, /^process_cpu_seconds_total /m);
    } finally {
      metrics.close();
    }
  });

  test('each instance has its own registry: two triggerers in one process do not mix', async () => {
    const a = new TriggererMetrics({ capacity: 3 });
    const b = new TriggererMetrics({ capacity: 7 });
    try {
      a.triggerStarted();
      a.observePoll('box-a', 'ok', 1);
      const textA = await a.render();
      const textB = await b.render();
      assert.equal(sample(textA, 'supervisor_triggerer_triggers_running'), 1);
      assert.equal(sample(textB, 'supervisor_triggerer_triggers_running'), 0);
      assert.equal(sample(textB, 'supervisor_triggerer_capacity'), 7);
      assert.doesNotMatch(textB, /box-a/);
    } finally {
      a.close();
      b.close();
    }
  });

  test('a negative capacity is refused with a clear error', () => {
    const metrics = new TriggererMetrics({ defaultMetrics: false });
    try {
      assert.throws(() => metrics.setCapacity(-1), /capacity must be a non-negative number, got -1/);
    } finally {
      metrics.close();
    }
  });
});
