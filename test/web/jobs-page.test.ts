/**
 * The status page's jobs in a real headless Chromium: a real always-on job run (the job CLI, a worker
 * and the triggerer serving the page, a real supervisord and Redis) shows with its step, cycle,
 * limits and programs, never its programs' environment; the stop action is refused without the
 * token and, with it, tears the run down.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { launchBrowser, type BrowserHandle, type WatchedPage } from '../fixtures/browser.js';
import { stopDaemons } from '../fixtures/daemon.js';
import { jobCli, RunReader, startWorker, writeJob } from '../fixtures/jobs.js';
import { waitUntil, type OwnedProcess } from '../fixtures/processes.js';
import { startRedis, type RedisHandle } from '../fixtures/redis.js';
import { tempDir } from '../fixtures/tmp.js';
import { startTriggerer } from '../fixtures/triggerers.js';
import { STATUS_TOKEN } from './harness.js';

// Browser globals inside page.evaluate callbacks, which run in the page (the project compiles
// without the DOM library).
declare const document: any; // eslint-disable-line @typescript-eslint/no-explicit-any
type Row = { dataset: Record<string, string | undefined>; textContent: string | null };

const ENV_SECRET = 'job-env-secret-77';

/** The text of the page's row for job `name`, or undefined. */
function jobRow(watched: WatchedPage, name: string): Promise<string | undefined> {
  return watched.page.evaluate((job) => {
    const rows: Row[] = [...document.querySelectorAll('tr[data-job]')];
    return rows.find((row) => row.dataset.job === job)?.textContent ?? undefined;
  }, name);
}

describe('status page: always-on jobs', () => {
  let redis: RedisHandle;
  let dir: { path: string; remove(): Promise<void> };
  let triggerer: OwnedProcess;
  let worker: OwnedProcess;
  let runs: RunReader;
  let browser: BrowserHandle;
  let url: string;

  before(async () => {
    redis = await startRedis();
    dir = await tempDir('jpage-');
    const tokenFile = join(dir.path, 'token');
    await writeFile(tokenFile, `${STATUS_TOKEN}\n`, { mode: 0o600 });
    const config = join(dir.path, 'triggerer.json');
    await writeFile(
      config,
      JSON.stringify({
        default_interval: '200ms',
        lock_duration: '2s',
        stalled_interval: '1s',
        heartbeat_interval: '500ms',
        metrics_port: 0,
        status_token_file: tokenFile,
      }),
    );
    triggerer = await startTriggerer(redis.url, config);
    url = /"url":"(http:\/\/127\.0\.0\.1:\d+)"/.exec(triggerer.output())?.[1] ?? assert.fail('no page URL');
    worker = await startWorker(redis.url);
    runs = new RunReader(redis.url);
    browser = await launchBrowser();
  });

  after(async () => {
    await browser?.close();
    await worker?.stop();
    await triggerer?.stop();
    await stopDaemons();
    await runs?.close();
    await redis?.stop();
    await dir?.remove();
  });

  test('a running job shows its step, limits and programs, and the stop action needs the token', async () => {
    await writeJob(dir.path, 'shown', {
      check_interval: '300ms',
      runtime: '10m',
      maxretrigger: 4,
      program: {
        ticker: { command: 'sleep 1000', startsecs: 0, environment: { API_PASSWORD: ENV_SECRET } },
      },
    });
    const started = await jobCli(redis.url, ['start', join(dir.path, 'shown.yaml')]);
    assert.equal(started.code, 0, started.stderr);
    const runId = started.stdout.trim();
    await runs.until('shown', (s) => s.step === 'watch' && s.trigger !== undefined, { what: 'watching' });

    const watched = await browser.open(url);
    const row = await waitUntil(
      async () => {
        const text = await jobRow(watched, 'shown');
        return text?.includes('ticker:ticker') && text.includes('watch') ? text : undefined;
      },
      { timeoutMs: 10_000, what: 'the job on the page' },
    );
    assert.match(row, /active/);
    assert.match(row, /cycle 1/);
    assert.match(row, /0 \/ 4/, 'retriggers of maxretrigger');
    assert.match(row, /runtime ends in (9|10)m/);
    assert.match(row, /ticker:ticker RUNNING/);
    const html = await watched.page.evaluate(() => document.documentElement.outerHTML as string);
    assert.ok(!html.includes(ENV_SECRET), 'the page shows a program environment value');
    assert.ok(!(await (await fetch(`${url}/api/overview`)).text()).includes(ENV_SECRET));

    const stopButton = 'tr[data-job="shown"] [data-action="stop"]';
    await watched.page.click(stopButton);
    await watched.page.waitForFunction(
      () =>
        /refused \(401\)/.test(document.querySelector('tr[data-job="shown"] .message')?.textContent ?? ''),
      { timeout: 5_000 },
    );
    assert.equal((await runs.status('shown')).active, true, 'still running');

    await watched.page.type('#token', STATUS_TOKEN);
    await watched.page.click('#token-form button[type="submit"]');
    await watched.page.click(stopButton);
    const ended = await runs.ended('shown', runId);
    assert.equal(ended.outcome?.status, 'stopped');
    assert.match(ended.outcome?.message ?? '', /stopped from the status page/);
    await waitUntil(async () => ((await jobRow(watched, 'shown'))?.includes('stopped') ? true : undefined), {
      timeoutMs: 10_000,
      what: 'the page shows the run stopped',
    });
    assert.deepEqual(watched.violations, []);
    assert.deepEqual(watched.errors, []);
    await watched.page.close();
  });
});
