/**
 * Makes the documentation's pictures of the status views from a real fleet (Redis, a supervisord, a
 * triggerer serving the page, a job step worker and an always-on job), not a mock-up:
 * docs/images/status-page.png (a normal state), docs/images/status-page-failing.png (a FATAL
 * program, a failed and a timed-out trigger, a job that crashed, one trigger opened) and
 * docs/images/status-watch.txt (`status --watch` in a 120×40 tmux pane, as text).
 * Not a test: run it by hand after changing the views, `node --import tsx test/web/screenshots.ts`.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defer, describeTrigger } from '../../src/client/index.js';
import { launchBrowser, type WatchedPage } from '../fixtures/browser.js';
import { stopDaemons } from '../fixtures/daemon.js';
import { jobCli, programPid, RunReader, startWorker, writeJob } from '../fixtures/jobs.js';
import { waitUntil } from '../fixtures/processes.js';
import { startTmux } from '../fixtures/tmux.js';
import { supervisorctl } from '../fixtures/triggerers.js';
import { startPageWorld } from './harness.js';

// Browser globals inside page.evaluate callbacks (the project compiles without the DOM library).
declare const document: any; // eslint-disable-line @typescript-eslint/no-explicit-any

const IMAGES = fileURLToPath(new URL('../../docs/images/', import.meta.url));
const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
const RUNNING = 'autostart=true\nstartsecs=0';

const world = await startPageWorld({
  programs: {
    web: `command=sleep 100000\n${RUNNING}`,
    api: `command=sleep 100000\n${RUNNING}`,
    mailer: `command=sleep 100000\n${RUNNING}`,
    // Exits at once: FATAL when started (the failing picture).
    importer: "command=sh -c 'exit 3'\nautostart=false\nstartsecs=1\nstartretries=0",
  },
});
const worker = await startWorker(world.redis.url);
const runs = new RunReader(world.redis.url);
const browser = await launchBrowser();
const connection = world.redis.url;
try {
  await writeJob(world.dir, 'nightly-etl', {
    check_interval: '300ms',
    runtime: '8h',
    maxretrigger: 5,
    program: { etl: { command: 'sleep 100000', startsecs: 0 } },
  });
  const started = await jobCli(connection, ['start', join(world.dir, 'nightly-etl.yaml')]);
  if (started.code !== 0) throw new Error(`job start: ${started.stderr}`);
  await runs.until('nightly-etl', (s) => s.step === 'watch' && s.trigger !== undefined, { what: 'watching' });

  // Normal: triggers waiting on programs to stop, and one that fired at once (a point on the chart).
  for (const [id, program] of [
    ['deploy-web-1187', 'web'],
    ['deploy-api-1188', 'api'],
    ['drain-mailer-77', 'mailer'],
  ] as const) {
    await defer(
      {
        classpath: 'supervisor.ProgramStateTrigger',
        kwargs: { endpoint: 'box', programs: [program], states: ['STOPPED'] },
      },
      { connection, id, timeout: '1h' },
    );
  }
  await defer(
    {
      classpath: 'supervisor.ProgramStateTrigger',
      kwargs: { endpoint: 'box', programs: ['web'], states: ['RUNNING'] },
    },
    { connection, id: 'web-is-up-1186' },
  );
  await fired('web-is-up-1186');
  await shoot('status-page.png', (page) => rowsShown(page, ['deploy-web-1187', 'drain-mailer-77']));

  // Failing: a program FATAL, a bad record, a timeout, the job's program killed (a retrigger).
  await supervisorctl(world.supervisord.configPath, 'start', 'importer');
  await defer(
    { classpath: 'supervisor.ProgramStateTrigger', kwargs: { endpoint: 'box', programs: 'api' } },
    { connection, id: 'bad-record-1189' },
  );
  await defer(
    {
      classpath: 'supervisor.ProgramStateTrigger',
      kwargs: { endpoint: 'box', programs: ['importer'], states: ['RUNNING'] },
    },
    { connection, id: 'import-start-1190', timeout: '1s' },
  );
  process.kill(await programPid(world.dir, 'nightly-etl', 'etl'), 'SIGKILL');
  await runs.until('nightly-etl', (s) => s.retriggers >= 1 && s.step === 'watch', { what: 'retriggered' });
  await waitUntil(
    async () => ((await describeTrigger('import-start-1190', { connection })).event ? true : undefined),
    { what: 'import-start-1190 timed out' },
  );
  await shoot('status-page-failing.png', async (page) => {
    if (!(await rowsShown(page, ['bad-record-1189', 'import-start-1190']))) return false;
    // Opens the failed trigger's record (once: a click on an open one does not reopen it).
    return page.page.evaluate(() => {
      if (document.querySelector('[data-detail]')?.dataset.detail === 'bad-record-1189') return true;
      document.querySelector('tr[data-trigger="bad-record-1189"]')?.click();
      return false;
    });
  });

  const tmux = await startTmux({ REDIS_URL: connection, PATH: process.env.PATH ?? '' });
  try {
    await tmux.keys(`clear; node --import tsx ${MAIN} status --watch --interval 500ms`, 'Enter');
    const screen = await tmux.waitFor(/JOBS \(1\)[\s\S]*nightly-etl/, 'the watch view');
    await writeFile(join(IMAGES, 'status-watch.txt'), `${screen.trimEnd()}\n`);
    await tmux.keys('q');
  } finally {
    await tmux.stop();
  }
  console.log(`wrote status-page.png, status-page-failing.png and status-watch.txt in ${IMAGES}`);
} finally {
  await browser.close();
  await jobCli(connection, ['stop', 'nightly-etl']).catch(() => undefined);
  await worker.stop();
  await stopDaemons();
  await runs.close();
  await world.stop();
}

async function fired(id: string): Promise<void> {
  await waitUntil(
    async () => ((await describeTrigger(id, { connection })).event?.status === 'fired' ? true : undefined),
    { what: `${id} fired` },
  );
}

function rowsShown(watched: WatchedPage, ids: string[]): Promise<boolean> {
  return watched.page.evaluate(
    (wanted: string[]) =>
      wanted.every((id) => document.querySelector(`tr[data-trigger="${id}"]`) !== null) &&
      document.querySelector('tr[data-job="nightly-etl"]') !== null,
    ids,
  );
}

/** Opens the page, waits until `ready` (and a tick more for the chart), saves a full-page PNG. */
async function shoot(file: string, ready: (watched: WatchedPage) => Promise<boolean>): Promise<void> {
  const watched = await browser.open(world.url);
  await watched.page.setViewport({ width: 1280, height: 900 });
  await waitUntil(async () => ((await ready(watched)) ? true : undefined), {
    timeoutMs: 15_000,
    what: `the page ready for ${file}`,
  });
  await watched.page.waitForSelector('[data-chart="poll"] svg polyline', { timeout: 10_000 });
  await watched.page.screenshot({ path: join(IMAGES, file) as `${string}.png`, fullPage: true });
  if (watched.errors.length + watched.violations.length > 0) {
    throw new Error(`the page reported ${[...watched.errors, ...watched.violations].join('; ')}`);
  }
  await watched.page.close();
}
