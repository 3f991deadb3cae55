/**
 * Which push design: the latency from a program's death (SIGKILL) to the triggerer learning of it,
 * for the candidate designs, on an idle supervisord (one program and the listener, nothing else):
 * - `logtail`: the listener writes a line per state change to its stderr log; the client follows
 *   `GET /logtail/<listener>/stderr`. With `wake N` the listener also writes a "." line every N ms
 *   while it waits (each line wakes supervisord's loop).
 * - `file`: the listener appends each line to a file the client follows with `tail -F` (what a
 *   command over the host interface would do), supervisord only dispatching the event.
 * - `poll`: getAllProcessInfo every interval (the figure without push).
 * Each sample: the program running, a random pause of 0-1.5 s (so the death falls anywhere in
 * supervisord's 1 s loop), SIGKILL, then the time until the line arrives and until one
 * getAllProcessInfo after it shows the program EXITED. Also supervisord's CPU over an idle window.
 * The listener is the packaged one (src/push/listener-script.ts); for `file` its state lines go to
 * the file named by a second argument instead of stderr.
 * Run: node --import tsx bench/push-candidates.ts   (SAMPLES=40; ONLY=a candidate's name prefix)
 */
import { request, type IncomingMessage } from 'node:http';
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { PUSH_LISTENER_SCRIPT } from '../src/push/listener-script.js';
import { SupervisorClient } from '../src/supervisor/client.js';
import { waitUntil } from '../test/fixtures/processes.js';
import { startSupervisord } from '../test/fixtures/supervisord.js';
import { machine, quantile } from './stats.js';

const SAMPLES = Number(process.env.SAMPLES ?? 40);

/** The packaged listener, its state lines appended to the file named by a second argument, if any. */
const STATE_LINE = "say(json.dumps(event, separators=(',', ':')))";
if (!PUSH_LISTENER_SCRIPT.includes(STATE_LINE)) throw new Error('the listener changed: update this bench');
const FILE_LISTENER = PUSH_LISTENER_SCRIPT.replace(
  STATE_LINE,
  [
    'if len(sys.argv) > 2:',
    "                with open(sys.argv[2], 'a') as out:",
    "                    out.write(json.dumps(event, separators=(',', ':')) + '\\n')",
    '            else:',
    `                ${STATE_LINE}`,
  ].join('\n'),
);

interface Candidate {
  name: string;
  wakeMs: number;
  via: 'logtail' | 'file' | 'poll';
  pollMs?: number;
}

const candidates: Candidate[] = [
  { name: 'logtail, no wake', wakeMs: 0, via: 'logtail' },
  { name: 'logtail, wake 100 ms', wakeMs: 100, via: 'logtail' },
  { name: 'logtail, wake 250 ms', wakeMs: 250, via: 'logtail' },
  { name: 'file + tail -F, no wake', wakeMs: 0, via: 'file' },
  { name: 'file + tail -F, wake 100 ms', wakeMs: 100, via: 'file' },
  { name: 'poll every 1 s', wakeMs: 0, via: 'poll', pollMs: 1000 },
];

/** Lines from a stream: calls `onLine` for each complete line. */
function lines(onLine: (line: string) => void): (chunk: Buffer) => void {
  let rest = '';
  return (chunk) => {
    rest += chunk.toString('utf8');
    let at;
    while ((at = rest.indexOf('\n')) >= 0) {
      onLine(rest.slice(0, at));
      rest = rest.slice(at + 1);
    }
  };
}

/** supervisord's CPU time in ms (user + system) from /proc. */
function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
}

async function measure(candidate: Candidate): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'push-bench-'));
  const lineFile = join(dir, 'push.lines');
  writeFileSync(lineFile, '');
  const script = join(dir, 'listener.py');
  writeFileSync(script, FILE_LISTENER);
  const args = candidate.via === 'file' ? `${candidate.wakeMs} ${lineFile}` : `${candidate.wakeMs}`;
  const extra = [
    `[program:victim]\ncommand=sleep 100000\nautostart=true\nautorestart=false\nstartsecs=0\n`,
    candidate.via === 'poll'
      ? ''
      : `[eventlistener:push]\ncommand=python3 ${script} ${args}\nevents=PROCESS_STATE\nbuffer_size=1000\nautorestart=true\n`,
  ].join('\n');
  const run = await startSupervisord({ extra });
  const client = new SupervisorClient({ url: run.endpoint.url });
  const arrivals: { at: number; line: string }[] = [];
  const onLine = (line: string) => {
    if (line.includes('EXITED')) arrivals.push({ at: performance.now(), line });
  };
  const cleanups: (() => void)[] = [];
  try {
    await waitUntil(
      async () => (await client.getAllProcessInfo()).every((p) => p.statename === 'RUNNING') || undefined,
      { timeoutMs: 10_000, what: 'victim and listener running' },
    );
    if (candidate.via === 'logtail') {
      const req = request({ socketPath: run.socketPath, path: '/logtail/push/stderr', method: 'GET' });
      req.on('response', (res: IncomingMessage) => res.on('data', lines(onLine)));
      req.on('error', () => undefined);
      req.end();
      cleanups.push(() => req.destroy());
    } else if (candidate.via === 'file') {
      const tail = spawn('tail', ['-F', '-n', '0', lineFile], { stdio: ['ignore', 'pipe', 'ignore'] });
      tail.stdout.on('data', lines(onLine));
      cleanups.push(() => tail.kill());
    }
    await sleep(500);
    const cpuBefore = cpuMs(run.pid);
    const idleStart = performance.now();
    await sleep(10_000);
    const idleCores = (cpuMs(run.pid) - cpuBefore) / (performance.now() - idleStart);
    const lineMs: number[] = [];
    const seenMs: number[] = [];
    for (let i = 0; i < SAMPLES; i++) {
      const info = await client.getProcessInfo('victim');
      if (info.statename !== 'RUNNING') {
        await client.startProcess('victim', false);
        await waitUntil(
          async () => (await client.getProcessInfo('victim')).statename === 'RUNNING' || undefined,
          {
            timeoutMs: 10_000,
            what: 'victim running',
          },
        );
        await sleep(300); // the RUNNING event's line has come and gone
      }
      await sleep(Math.random() * 1500);
      const { pid } = await client.getProcessInfo('victim');
      const count = arrivals.length;
      const t0 = performance.now();
      process.kill(pid, 'SIGKILL');
      if (candidate.via === 'poll') {
        // The next poll falls anywhere in the interval: wait for a beat, then call.
        const beat = candidate.pollMs! - (Date.now() % candidate.pollMs!);
        await sleep(beat);
        while ((await client.getProcessInfo('victim')).statename !== 'EXITED') await sleep(candidate.pollMs!);
        seenMs.push(performance.now() - t0);
        continue;
      }
      await waitUntil(() => (arrivals.length > count ? true : undefined), {
        timeoutMs: 10_000,
        what: 'the line',
      });
      lineMs.push(arrivals[count]!.at - t0);
      const state = (await client.getProcessInfo('victim')).statename;
      if (state !== 'EXITED') throw new Error(`line came but victim is ${state}`);
      seenMs.push(performance.now() - t0);
    }
    const fmt = (xs: number[]) =>
      xs.length === 0
        ? '-'
        : `${quantile(xs, 0.5).toFixed(0)} / ${quantile(xs, 0.99).toFixed(0)} / ${Math.max(...xs).toFixed(0)}`;
    return `| ${candidate.name} | ${SAMPLES} | ${fmt(lineMs)} | ${fmt(seenMs)} | ${(idleCores * 100).toFixed(3)} % |`;
  } finally {
    for (const cleanup of cleanups) cleanup();
    client.close();
    await run.stop();
  }
}

console.log(`${machine()}, ${new Date().toISOString()}`);
console.log(
  '| candidate | samples | line p50 / p99 / max ms | EXITED seen p50 / p99 / max ms | supervisord CPU idle |',
);
console.log('|---|---|---|---|---|');
const only = process.env.ONLY;
for (const candidate of candidates) {
  if (only !== undefined && !candidate.name.startsWith(only)) continue;
  console.log(await measure(candidate));
}
