/**
 * The README's quick start, run as written (bash, line by line, inside the checkout): it ends with
 * the TriggerEvent printed, its folder removed and nothing of it left running.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { tempDir } from './fixtures/tmp.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** The first ```sh block under the README's "## Quick start" heading. */
async function quickStart(): Promise<string> {
  const readme = await readFile(new URL('../README.md', import.meta.url), 'utf8');
  const section = readme.slice(readme.indexOf('## Quick start'));
  const block = /```sh\n([\s\S]*?)```/.exec(section);
  assert.ok(block, 'the README has a quick start in a sh block');
  return block[1]!;
}

/** Pids of live processes whose command line mentions `text`. */
function processesMentioning(text: string): number[] {
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .filter((pid) => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(text);
      } catch {
        return false;
      }
    })
    .map(Number);
}

test('the README quick start runs as written: the event is printed, nothing is left running or on disk', async (t) => {
  const script = await quickStart();
  const tmp = await tempDir('readme-');
  t.after(async () => {
    // Whatever the script left (only ours: it mentions our temporary folder), then the folder.
    for (const pid of processesMentioning(tmp.path)) process.kill(pid, 'SIGKILL');
    await tmp.remove();
  });
  const result = await new Promise<{ code: number | null; stdout: string; stderr: string }>(
    (resolve, reject) => {
      // The README's install step first (it compiles dist/, which the CLI runs), then the quick start.
      const child = spawn('bash', ['-euo', 'pipefail', '-c', `scripts/setup >&2\n${script}`], {
        cwd: ROOT,
        // mktemp makes the demo folder in our temporary folder; no Redis from the caller's environment.
        env: { ...process.env, TMPDIR: tmp.path, REDIS_URL: '' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      // A quick start that hangs fails here with what it printed; its processes are stopped below.
      const timer = setTimeout(() => child.kill('SIGKILL'), 150_000);
      child.on('error', reject);
      child.on('close', (code) => {
        clearTimeout(timer);
        resolve({ code, stdout, stderr });
      });
    },
  );
  assert.equal(result.code, 0, `${result.stdout}\n${result.stderr}`);
  const event = result.stdout
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as { status?: string; payload?: { matched?: string[] } })
    .find((parsed) => parsed.status !== undefined);
  assert.equal(event?.status, 'fired', result.stdout);
  assert.deepEqual(event?.payload?.matched, ['web:web']);
  assert.deepEqual(readdirSync(tmp.path), [], 'the demo folder is removed');
  assert.deepEqual(processesMentioning(tmp.path), [], 'nothing of the quick start is still running');
});
