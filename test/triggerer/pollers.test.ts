import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer as createNetServer, type Server as NetServer, type Socket } from 'node:net';
import { firstValueFrom } from 'rxjs';
import type { SupervisorEndpoint } from '../../src/supervisor/endpoint.js';
import { EndpointUnreachable } from '../../src/supervisor/errors.js';
import type { ProcessInfo } from '../../src/supervisor/states.js';
import { PollersClosedError, pollPhase, SharedPollers } from '../../src/triggerer/pollers.js';
import { freePort } from '../fixtures/ports.js';
import { waitUntil } from '../fixtures/processes.js';
import { CountingClient, intervalWithBeatIn } from '../fixtures/polls.js';
import { startSupervisord, type SupervisordHandle } from '../fixtures/supervisord.js';

const EMPTY_ARRAY_RESPONSE =
  "<?xml version='1.0'?>\n<methodResponse><params><param><value><array><data>\n</data></array></value></param></params></methodResponse>\n";

/** An HTTP server that answers every XML-RPC call with an empty array, but only after `delayMs`. */
async function startSlowServer(delayMs: number) {
  const counts = { requests: 0, inFlight: 0, maxInFlight: 0 };
  const server: HttpServer = createHttpServer((req, res) => {
    counts.requests += 1;
    counts.inFlight += 1;
    counts.maxInFlight = Math.max(counts.maxInFlight, counts.inFlight);
    req.resume();
    const timer = setTimeout(() => {
      counts.inFlight -= 1;
      res.writeHead(200, { 'content-type': 'text/xml' }).end(EMPTY_ARRAY_RESPONSE);
    }, delayMs);
    res.on('close', () => clearTimeout(timer));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return {
    counts,
    url: `http://127.0.0.1:${address.port}/RPC2`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())).then(() => undefined),
    server,
  };
}

/** A TCP server that accepts connections and never answers: a hung supervisord. */
async function startHungServer() {
  const sockets = new Set<Socket>();
  const server: NetServer = createNetServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return {
    url: `http://127.0.0.1:${address.port}/RPC2`,
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

describe('SharedPollers against a real supervisord', () => {
  let supervisord: SupervisordHandle;
  let slow: Awaited<ReturnType<typeof startSlowServer>>;
  let hung: Awaited<ReturnType<typeof startHungServer>>;
  let deadUrl: string;
  const opened: SharedPollers[] = [];

  before(async () => {
    [supervisord, slow, hung, deadUrl] = await Promise.all([
      startSupervisord({ programs: { sleeper: 'command=sleep 1000\nautostart=true\nstartsecs=0' } }),
      startSlowServer(350),
      startHungServer(),
      freePort().then((port) => `http://127.0.0.1:${port}/RPC2`),
    ]);
  });

  after(async () => {
    await Promise.all(opened.map((p) => p.close()));
    await Promise.all([supervisord?.stop(), slow?.close(), hung?.close()]);
  });

  function pollers(): SharedPollers {
    const endpoints: Record<string, SupervisorEndpoint> = {
      live: supervisord.endpoint,
      clock: supervisord.endpoint,
      slow: { url: slow.url },
      hung: { url: hung.url, timeoutMs: 30_000 },
      dead: { url: deadUrl },
    };
    const created = new SharedPollers({
      resolveEndpoint: (name) => {
        const endpoint = endpoints[name];
        if (endpoint === undefined) throw new Error(`unknown endpoint "${name}"`);
        return endpoint;
      },
      createClient: (endpoint) => new CountingClient(endpoint),
    });
    opened.push(created);
    return created;
  }
  const callsOf = (p: SharedPollers, name: string) => (p.client(name) as CountingClient).calls;

  test('200 subscribers of one endpoint share one getAllProcessInfo per interval and the same snapshots', async () => {
    const p = pollers();
    const seen: ProcessInfo[][][] = Array.from({ length: 200 }, () => []);
    const started = Date.now();
    // Triggers created before the poll starts (`since`) all take its first call.
    const subscriptions = seen.map((list) =>
      p.processInfo('live', { intervalMs: 100, since: started }).subscribe((snapshot) => list.push(snapshot)),
    );
    assert.equal(p.stats().live?.subscribers, 200);
    await waitUntil(() => ((p.stats().live?.polls ?? 0) >= 5 ? true : undefined), { what: '5 polls' });
    for (const subscription of subscriptions) subscription.unsubscribe();
    const elapsed = Date.now() - started;
    const polls = p.stats().live?.polls ?? 0;
    const calls = callsOf(p, 'live');

    assert.ok(calls === polls || calls === polls + 1, `client saw ${calls} calls for ${polls} polls`);
    // Beats: the first call at once, then one on each of the endpoint's beats (every 100 ms, at
    // its phase of the clock) up to the end.
    const phase = pollPhase('live', 100);
    const beatsUpTo = (t: number) => Math.floor((t - phase) / 100);
    const beats = 1 + beatsUpTo(started + elapsed) - beatsUpTo(started);
    assert.ok(
      calls <= beats,
      `${calls} calls in ${elapsed} ms (phase ${phase} ms) is more than one per beat`,
    );
    const first = seen[0] ?? [];
    assert.equal(first.length, polls, 'each poll reached the subscribers once');
    assert.equal(first[0]?.[0]?.name, 'sleeper');
    for (const list of seen) {
      assert.equal(list.length, first.length);
      list.forEach((snapshot, i) =>
        assert.equal(snapshot, first[i], 'every subscriber got the same snapshot'),
      );
    }
    assert.equal(p.stats().live?.subscribers, 0);
  });

  test("firstPoll 'beat': the first call waits for the endpoint's next beat, then follows the beats", async () => {
    const p = pollers();
    const { intervalMs, nextBeatAt } = intervalWithBeatIn('live', 300, 900);
    const seen: ProcessInfo[][] = [];
    const subscription = p
      .processInfo('live', { intervalMs, firstPoll: 'beat' })
      .subscribe((snapshot) => seen.push(snapshot));
    await waitUntil(() => (seen.length >= 2 ? true : undefined), { what: 'two polls' });
    subscription.unsubscribe();
    const [first, second] = (p.client('live') as CountingClient).callTimes;
    // Node's timers may fire up to 1 ms early (they round to whole ms).
    assert.ok(
      first !== undefined && first >= nextBeatAt - 1,
      `called at ${first}, the beat was ${nextBeatAt}`,
    );
    assert.ok(
      second !== undefined && second >= nextBeatAt + intervalMs - 1,
      'the next call on the next beat',
    );
  });

  test('a subscriber that polls now wakes a poll still waiting for its first beat', async () => {
    const p = pollers();
    // The beat is at least a minute away; waitUntil gives up long before it.
    const { intervalMs } = intervalWithBeatIn('live', 60_000, 120_000, 120_000);
    const waiting = p.processInfo('live', { intervalMs, firstPoll: 'beat' }).subscribe();
    assert.equal(p.stats().live?.activePolls, 1, 'the poll runs, waiting for its beat');
    assert.equal((p.client('live') as CountingClient).calls, 0);
    const seen: ProcessInfo[][] = [];
    const now = p.processInfo('live', { intervalMs }).subscribe((snapshot) => seen.push(snapshot));
    await waitUntil(() => (seen.length >= 1 ? true : undefined), { what: 'the woken poll' });
    now.unsubscribe();
    waiting.unsubscribe();
    assert.equal((p.client('live') as CountingClient).calls, 1, 'one call, shared');
  });

  test('a late subscriber never gets a snapshot taken before it subscribed: its first is the next poll of the shared one', async () => {
    const p = pollers();
    const early: ProcessInfo[][] = [];
    const first = p.processInfo('live', { intervalMs: 100 }).subscribe((s) => early.push(s));
    await waitUntil(() => (early.length >= 1 ? true : undefined));
    const client = p.client('live') as CountingClient;
    const late: ProcessInfo[][] = [];
    const lateAt = Date.now();
    const callsBefore = client.calls;
    const second = p.processInfo('live', { intervalMs: 100 }).subscribe((s) => late.push(s));
    assert.equal(late.length, 0, 'nothing replayed on subscribe');
    await waitUntil(() => (late.length >= 3 ? true : undefined));
    first.unsubscribe();
    second.unsubscribe();
    assert.ok(!early.slice(0, early.indexOf(late[0]!)).includes(late[0]!), 'its first is a new snapshot');
    const firstCallAfter = client.callTimes.slice(callsBefore).find((t) => t >= lateAt);
    assert.ok(firstCallAfter !== undefined, 'a call was made after it subscribed');
    assert.ok(early.includes(late[0]!), 'and it is the shared poll, seen by the early subscriber too');
    assert.equal(late.at(-1), early.at(-1), 'both follow the one shared poll');
    const polls = p.stats().live?.polls ?? 0;
    assert.ok(callsOf(p, 'live') <= polls + 1, 'one call per poll, whatever the subscribers');
  });

  test('a subscriber joining while a snapshot is handed out does not get that snapshot; one leaving does not stop the others', async () => {
    const p = pollers();
    const got = { leaver: 0, joiner: [] as ProcessInfo[][], stayer: [] as ProcessInfo[][] };
    let joined: { unsubscribe(): void } | undefined;
    const since = Date.now();
    // The first subscriber leaves on its first snapshot and, in the same call, a new one joins.
    const leaver = p.processInfo('live', { intervalMs: 100, since }).subscribe(() => {
      got.leaver += 1;
      leaver.unsubscribe();
      joined ??= p.processInfo('live', { intervalMs: 100 }).subscribe((s) => got.joiner.push(s));
    });
    const stayer = p.processInfo('live', { intervalMs: 100, since }).subscribe((s) => got.stayer.push(s));
    await waitUntil(() => (got.stayer.length >= 3 ? true : undefined), { what: 'three snapshots' });
    stayer.unsubscribe();
    joined?.unsubscribe();
    assert.equal(got.leaver, 1, 'the leaver got one snapshot');
    assert.ok(got.joiner.length >= 1, 'the joiner got later snapshots');
    assert.ok(!got.joiner.includes(got.stayer[0]!), 'not the one being handed out when it joined');
    assert.equal(got.joiner[0], got.stayer[1], 'its first is the next poll');
    assert.equal(p.stats().live?.subscribers, 0);
  });

  test('polling stops when the last subscriber leaves', async () => {
    const p = pollers();
    const one = p.processInfo('live', { intervalMs: 100 }).subscribe();
    const two = p.processInfo('live', { intervalMs: 100 }).subscribe();
    await waitUntil(() => ((p.stats().live?.polls ?? 0) >= 2 ? true : undefined));
    one.unsubscribe();
    assert.equal(p.stats().live?.activePolls, 1, 'still polling for the remaining subscriber');
    two.unsubscribe();
    assert.equal(p.stats().live?.activePolls, 0);
    const callsAtStop = callsOf(p, 'live');
    // another poll of the same supervisord is the clock: seven of its 50 ms beats (the second at its
    // phase, then every 50 ms) span at least 250 ms, two and a half of the stopped poll's beats
    const clock = p.processInfo('clock', { intervalMs: 50 }).subscribe();
    await waitUntil(() => ((p.stats().clock?.polls ?? 0) >= 7 ? true : undefined));
    clock.unsubscribe();
    assert.equal(callsOf(p, 'live'), callsAtStop, 'no call after the last subscriber left');
  });

  test('polls of a slow endpoint never overlap: a slow answer skips beats', async () => {
    const p = pollers();
    const subscription = p.processInfo('slow', { intervalMs: 100 }).subscribe();
    await waitUntil(() => ((p.stats().slow?.polls ?? 0) >= 3 ? true : undefined));
    subscription.unsubscribe();
    assert.equal(slow.counts.maxInFlight, 1, 'the server never had two calls at once');
    assert.ok(slow.counts.requests <= (p.stats().slow?.polls ?? 0) + 1);
  });

  test('a hung endpoint does not delay a live one', async () => {
    const p = pollers();
    const hungSub = p.processInfo('hung', { intervalMs: 100 }).subscribe({ error: () => undefined });
    const snapshots: ProcessInfo[][] = [];
    const liveSub = p.processInfo('live', { intervalMs: 100 }).subscribe((s) => snapshots.push(s));
    await waitUntil(() => (snapshots.length >= 5 ? true : undefined), { what: '5 live snapshots' });
    assert.equal(p.stats().hung?.polls, 0, 'the hung endpoint is still on its first call');
    assert.equal(callsOf(p, 'hung'), 1, 'and has not piled up more');
    hungSub.unsubscribe();
    liveSub.unsubscribe();
  });

  test('a dead endpoint errors its subscribers with the last error once past the budget', async () => {
    const p = pollers();
    const error = await firstValueFrom(
      p.processInfo('dead', { intervalMs: 100, unreachableBudgetMs: 400 }),
    ).catch((e: unknown) => e);
    assert.ok(error instanceof EndpointUnreachable, `got ${String(error)}`);
    assert.equal(error.code, 'ECONNREFUSED');
    assert.ok((p.stats().dead?.failures ?? 0) >= 2, 'retried before giving up');
    assert.equal(p.stats().dead?.subscribers, 0);
  });

  test('a budget longer than a 32-bit timer (25 days) is not cut short by the first failure', async () => {
    const p = pollers();
    let failed: unknown;
    const subscription = p
      .processInfo('dead', { intervalMs: 100, unreachableBudgetMs: 25 * 86_400_000 })
      .subscribe({ error: (error: unknown) => (failed = error) });
    await waitUntil(() => ((p.stats().dead?.failures ?? 0) >= 3 ? true : undefined), {
      what: 'three failed polls',
    });
    subscription.unsubscribe();
    assert.equal(failed, undefined, 'the stream is still within its budget');
  });

  test('an unknown endpoint name errors the stream with the resolver error', async () => {
    const p = pollers();
    await assert.rejects(firstValueFrom(p.processInfo('nowhere')), /unknown endpoint "nowhere"/);
  });

  test('close() ends every stream with PollersClosedError', async () => {
    const p = pollers();
    const pending = firstValueFrom(p.processInfo('hung', { intervalMs: 100 }));
    await p.close();
    await assert.rejects(pending, PollersClosedError);
    await assert.rejects(firstValueFrom(p.processInfo('live')), PollersClosedError);
  });
});
