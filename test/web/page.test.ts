/**
 * The status page in a real headless Chromium, against a triggerer process with a real supervisord
 * and Redis: live updates without reload, values rendered as text, no secret shown, a strict CSP
 * that the page works under, and the cancel action guarded by the token.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { defer, describeTrigger } from '../../src/client/index.js';
import { launchBrowser, type BrowserHandle, type WatchedPage } from '../fixtures/browser.js';
import { waitUntil } from '../fixtures/processes.js';
import { supervisorctl } from '../fixtures/triggerers.js';
import { startPageWorld, STATUS_TOKEN, type PageWorld } from './harness.js';

// Browser globals inside page.evaluate callbacks, which run in the page (the project compiles
// without the DOM library).
declare const document: any; // eslint-disable-line @typescript-eslint/no-explicit-any
declare const window: any; // eslint-disable-line @typescript-eslint/no-explicit-any
declare function getComputedStyle(element: unknown): { backgroundColor: string };
type Row = {
  dataset: Record<string, string | undefined>;
  cells: { textContent: string | null }[];
  click(): void;
};

const HOSTILE_KWARG = '<img src=x id=injected>';
const KWARG_SECRET = 'hunter2-kwarg-secret';
const ENV_SECRET = 'env-secret-value-42';

/** The state the page shows for a program of endpoint `box`, or undefined. */
function programState(watched: WatchedPage, name: string): Promise<string | undefined> {
  return watched.page.evaluate((program) => {
    const rows: Row[] = [...document.querySelectorAll('[data-endpoint="box"] tr[data-program]')];
    return rows.find((row) => row.dataset.program === program)?.dataset.state;
  }, name);
}

/** The state the page lists a trigger in, or undefined. */
function listedTrigger(watched: WatchedPage, id: string): Promise<string | undefined> {
  return watched.page.evaluate((triggerId) => {
    const rows: Row[] = [...document.querySelectorAll('tr[data-trigger]')];
    return rows.find((row) => row.dataset.trigger === triggerId)?.dataset.state;
  }, id);
}

async function openDetail(watched: WatchedPage, id: string): Promise<void> {
  await waitUntil(async () => ((await listedTrigger(watched, id)) ? true : undefined), {
    timeoutMs: 10_000,
    what: `trigger ${id} listed on the page`,
  });
  await watched.page.evaluate((triggerId) => {
    const rows: Row[] = [...document.querySelectorAll('tr[data-trigger]')];
    rows.find((row) => row.dataset.trigger === triggerId)?.click();
  }, id);
  await watched.page.waitForFunction(
    (triggerId) => document.querySelector('[data-detail]')?.dataset.detail === triggerId,
    { timeout: 10_000 },
    id,
  );
}

describe('status page in Chromium', () => {
  let world: PageWorld;
  let browser: BrowserHandle;

  before(async () => {
    world = await startPageWorld({
      programs: {
        sleeper: 'command=sleep 1000\nautostart=true\nstartsecs=0',
        steady: 'command=sleep 1000\nautostart=true\nstartsecs=0',
        '<script>': 'command=sleep 1000\nautostart=true\nstartsecs=0',
        '<b>bold': `command=sleep 1000\nautostart=true\nstartsecs=0\nenvironment=API_TOKEN="${ENV_SECRET}"`,
      },
    });
    browser = await launchBrowser();
  });

  after(async () => {
    await browser?.close();
    await world?.stop();
  });

  test('the page shows a program state change within a few seconds, without a reload', async () => {
    const watched = await browser.open(world.url);
    await waitUntil(async () => ((await programState(watched, 'sleeper')) === 'RUNNING' ? true : undefined), {
      timeoutMs: 10_000,
      what: 'sleeper RUNNING on the page',
    });
    await watched.page.evaluate(() => (window.sameDocument = true));
    await supervisorctl(world.supervisord.configPath, 'stop', 'sleeper');
    await waitUntil(async () => ((await programState(watched, 'sleeper')) === 'STOPPED' ? true : undefined), {
      timeoutMs: 5_000,
      what: 'sleeper STOPPED on the page',
    });
    const same = await watched.page.evaluate(() => window.sameDocument as unknown);
    assert.equal(same, true, 'the page was not reloaded');
    assert.deepEqual(watched.errors, []);
    await watched.page.close();
  });

  test('works under a strict Content-Security-Policy: its scripts and styles load, nothing is refused', async () => {
    const response = await fetch(world.url);
    const csp = response.headers.get('content-security-policy') ?? '';
    assert.match(csp, /default-src 'self'/);
    assert.match(csp, /script-src 'self'/);
    assert.match(csp, /style-src 'self'/);
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval|\*/);
    const watched = await browser.open(world.url);
    await watched.page.waitForSelector('[data-endpoint="box"] tr[data-program]', { timeout: 10_000 });
    // The stylesheet applied (the header's background comes from it) and the chart drew its SVG.
    const background = await watched.page.$eval(
      'header',
      (e: unknown) => getComputedStyle(e).backgroundColor,
    );
    assert.equal(background, 'rgb(29, 35, 48)');
    assert.deepEqual(watched.violations, []);
    assert.deepEqual(watched.errors, []);
    await watched.page.close();
  });

  test('a hostile program name or record value renders as text, and no secret is shown', async () => {
    const connection = world.redis.url;
    // Kwargs no trigger accepts: the triggerer fails the record, and the page shows it all the same.
    await defer(
      {
        classpath: 'supervisor.ProgramStateTrigger',
        kwargs: { endpoint: 'box', note: HOSTILE_KWARG, password: KWARG_SECRET },
      },
      { connection, id: 'hostile-1' },
    );
    const watched = await browser.open(world.url);
    await waitUntil(async () => ((await programState(watched, '<script>')) ? true : undefined), {
      timeoutMs: 10_000,
      what: 'the <script> program listed',
    });
    const cells = await watched.page.evaluate(() =>
      [...document.querySelectorAll('[data-endpoint="box"] tr[data-program]')].map(
        (row: Row) => row.cells[0]?.textContent,
      ),
    );
    assert.ok(cells.includes('<script>'), `program cells: ${JSON.stringify(cells)}`);
    assert.ok(cells.includes('<b>bold'), `program cells: ${JSON.stringify(cells)}`);
    await waitUntil(
      async () => ((await listedTrigger(watched, 'hostile-1')) === 'failed' ? true : undefined),
      {
        timeoutMs: 10_000,
        what: 'hostile-1 failed on the page',
      },
    );
    await openDetail(watched, 'hostile-1');
    const kwargs = await watched.page.$eval(
      '[data-detail] pre',
      (e: { textContent: string | null }) => e.textContent ?? '',
    );
    assert.match(kwargs, /"note": "<img src=x id=injected>"/);
    assert.match(kwargs, /"password": "\[redacted\]"/);
    // What the trigger left: its own log lines (the triggerer's line refusing it), as text.
    const logs = await waitUntil(
      async () => {
        const body = (await (await fetch(`${world.url}/api/triggers/hostile-1`)).json()) as {
          logs: { text?: string };
        };
        return body.logs.text?.includes('  (none)\nprogram logs') === false ? body.logs.text : undefined;
      },
      { timeoutMs: 10_000, what: "hostile-1's log lines kept" },
    );
    assert.match(logs, /^trigger hostile-1: its log \([1-9]\d* lines?\)\n/);
    const shown = await watched.page.$eval(
      '[data-detail] [data-logs]',
      (e: { tagName: string; textContent: string | null }) => `${e.tagName} ${e.textContent ?? ''}`,
    );
    assert.match(shown, /^PRE trigger hostile-1: its log/);
    const markup = await watched.page.evaluate(() => ({
      scripts: document.scripts.length,
      injected: document.querySelectorAll('#injected, main script, main b, main img').length,
      html: document.documentElement.outerHTML,
    }));
    assert.equal(markup.scripts, 1, 'only the page own module script');
    assert.equal(markup.injected, 0, 'no element made from a value');
    for (const secret of [KWARG_SECRET, ENV_SECRET]) {
      assert.ok(!markup.html.includes(secret), `the page shows ${secret}`);
    }
    const api = [
      await (await fetch(`${world.url}/api/overview`)).text(),
      await (await fetch(`${world.url}/api/triggers/hostile-1`)).text(),
      await (await fetch(`${world.url}/api/triggers?state=failed`)).text(),
    ].join('\n');
    for (const secret of [KWARG_SECRET, ENV_SECRET])
      assert.ok(!api.includes(secret), `the API shows ${secret}`);
    assert.deepEqual(watched.violations, []);
    assert.deepEqual(watched.errors, []);
    await watched.page.close();
  });

  test('the chart draws the last hour of poll latency per endpoint and resume latency as inline SVG', async () => {
    const connection = world.redis.url;
    // Fires at its first poll of box: one watched poll and one resume to chart.
    await defer(
      {
        classpath: 'supervisor.ProgramStateTrigger',
        kwargs: { endpoint: 'box', programs: ['steady'], states: ['RUNNING'] },
      },
      { connection, id: 'charted' },
    );
    await waitUntil(
      async () =>
        (await describeTrigger('charted', { connection })).event?.status === 'fired' ? true : undefined,
      { what: 'the charted trigger fired' },
    );
    const overview = (await (await fetch(`${world.url}/api/overview`)).json()) as {
      chart: {
        poll: Record<string, { count: number; p50Ms: number; p99Ms: number }[]>;
        resume: { count: number }[];
      };
    };
    assert.ok((overview.chart.poll.box?.at(-1)?.count ?? 0) >= 1, JSON.stringify(overview.chart));
    assert.ok((overview.chart.resume.at(-1)?.count ?? 0) >= 1, JSON.stringify(overview.chart));
    const watched = await browser.open(world.url);
    await watched.page.waitForSelector('[data-chart="poll"] svg polyline', { timeout: 10_000 });
    await watched.page.waitForSelector('[data-chart="resume"] svg circle', { timeout: 10_000 });
    const legend = await watched.page.$eval(
      '[data-chart="poll"] .legend',
      (e: { textContent: string | null }) => e.textContent ?? '',
    );
    assert.match(legend, /box/);
    const tip = await watched.page.$eval(
      '[data-chart="resume"] circle title',
      (e: { textContent: string | null }) => e.textContent ?? '',
    );
    assert.match(tip, /^resume .*: p50 [\d.]+ m?s, p99 [\d.]+ m?s, \d+ samples$/);
    assert.deepEqual(watched.violations, []);
    assert.deepEqual(watched.errors, []);
    await watched.page.close();
  });

  test('cancel is refused without the token and, with it, cancels the trigger', async () => {
    const connection = world.redis.url;
    const { triggerId } = await defer(
      {
        classpath: 'supervisor.ProgramStateTrigger',
        kwargs: { endpoint: 'box', programs: ['steady'], states: ['EXITED'] },
      },
      { connection, id: 'to-cancel' },
    );
    await waitUntil(
      async () => ((await describeTrigger(triggerId, { connection })).state === 'active' ? true : undefined),
      { what: 'the trigger claimed' },
    );
    const cancelUrl = `${world.url}/api/triggers/${triggerId}/cancel`;
    assert.equal((await fetch(cancelUrl, { method: 'POST' })).status, 401);
    const wrong = await fetch(cancelUrl, {
      method: 'POST',
      headers: { authorization: `Bearer ${'x'.repeat(24)}` },
    });
    assert.equal(wrong.status, 401);
    assert.equal(wrong.headers.get('www-authenticate'), 'Bearer realm="supervisor-triggerer"');

    const watched = await browser.open(world.url);
    await openDetail(watched, triggerId);
    await watched.page.click('[data-detail] [data-action="cancel"]');
    await watched.page.waitForFunction(
      () => /refused \(401\)/.test(document.querySelector('[data-message]')?.textContent ?? ''),
      { timeout: 5_000 },
    );
    assert.equal((await describeTrigger(triggerId, { connection })).state, 'active', 'still watched');

    await watched.page.type('#token', STATUS_TOKEN);
    await watched.page.click('#token-form button[type="submit"]');
    await watched.page.click('[data-detail] [data-action="cancel"]');
    await watched.page.waitForFunction(
      () => /cancel requested/.test(document.querySelector('[data-message]')?.textContent ?? ''),
      { timeout: 5_000 },
    );
    const ended = await waitUntil(
      async () => {
        const detail = await describeTrigger(triggerId, { connection });
        return detail.event ? detail : undefined;
      },
      { what: 'the trigger ended' },
    );
    assert.equal(ended.event?.status, 'cancelled');
    await waitUntil(
      async () => ((await listedTrigger(watched, triggerId)) === 'completed' ? true : undefined),
      {
        timeoutMs: 10_000,
        what: 'the page lists the trigger completed',
      },
    );
    assert.deepEqual(watched.errors, []);
    await watched.page.close();
  });
});
