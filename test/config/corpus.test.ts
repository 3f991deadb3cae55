/**
 * Real supervisord.conf files (test/data/corpus) imported, rendered and run: for each, the original
 * and the job `config import` makes of it run under a real supervisord, each in a temporary root,
 * and supervisord must report the same programs with the same settings (`getAllConfigInfo`) for
 * both. The copies differ only in their root, which is normalised before comparing.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { importSupervisorFile, resolveJob, validateJob } from '../../src/config/index.js';
import { configure } from '../../src/supervisor/lifecycle/index.js';
import { corpusEntries, localise, type LocalCopy } from '../fixtures/corpus.js';
import { rawCall, runSupervisord } from '../fixtures/supervisord.js';
import { tempDir } from '../fixtures/tmp.js';

/**
 * Entries that cannot pass, each with its reason (also in test/data/corpus/README.md). The test
 * asserts that exactly these fail, so a fix or a regression shows.
 */
const EXPECTED_FAILURES: Record<string, RegExp> = {
  // numprocs=%(ENV_NUMPROCS)s: supervisord expands it at start; a job's numprocs is a number
  'cvat-worker-import.conf': /numprocs: expected an integer/,
};

/** Configs run at once (each runs two supervisords). */
const BATCH = 3;

const cleanups: (() => Promise<void>)[] = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

/** One `<struct>` per process: member name -> raw value XML, with the root replaced by <ROOT>. */
function configInfo(body: string, root: string): Map<string, Record<string, string>> {
  const out = new Map<string, Record<string, string>>();
  for (const struct of body.split('<struct>').slice(1)) {
    const members: Record<string, string> = {};
    for (const [, name, value] of struct.matchAll(/<name>([^<]*)<\/name>\s*<value>(.*?)<\/value>/gs)) {
      // AUTO log files get a random name from supervisord (tempfile.mkstemp)
      members[name!] = value!
        .split(root)
        .join('<ROOT>')
        .replace(/---supervisor-[A-Za-z0-9_]{8}\.log/g, '---supervisor-<RANDOM>.log');
    }
    out.set(`${members.group}:${members.name}`, members);
  }
  return out;
}

async function runOriginal(name: string): Promise<{ info: Map<string, Record<string, string>> }> {
  const dir = await tempDir('co-');
  cleanups.push(() => dir.remove());
  const copy = await localise(name, dir.path);
  return { info: await infoOf(copy, copy.main, copy.endpoint, copy.cwd) };
}

async function runImported(name: string): Promise<{ info: Map<string, Record<string, string>> }> {
  const dir = await tempDir('ci-');
  cleanups.push(() => dir.remove());
  const copy = await localise(name, dir.path);
  const imported = await importSupervisorFile(copy.main, { workingDir: copy.cwd, env: copy.env });
  const job = await resolveJob(validateJob(imported.job));
  await configure(job);
  return { info: await infoOf(copy, job.configPath, job.endpoint, job.workingDir) };
}

async function infoOf(
  copy: LocalCopy,
  configPath: string,
  endpoint: LocalCopy['endpoint'],
  cwd: string,
): Promise<Map<string, Record<string, string>>> {
  const running = await runSupervisord(configPath, endpoint, { cwd, env: copy.env, timeoutMs: 40_000 });
  try {
    return configInfo(await rawCall(endpoint, 'supervisor.getAllConfigInfo'), copy.root);
  } finally {
    await running.stop();
  }
}

/** The differences between two getAllConfigInfo results, one line each. */
function differences(
  original: Map<string, Record<string, string>>,
  imported: Map<string, Record<string, string>>,
): string[] {
  const lines: string[] = [];
  for (const name of new Set([...original.keys(), ...imported.keys()])) {
    const a = original.get(name);
    const b = imported.get(name);
    if (!a || !b) {
      lines.push(`${name}: only in the ${a ? 'original' : 'import'}`);
      continue;
    }
    for (const key of new Set([...Object.keys(a), ...Object.keys(b)])) {
      if (a[key] !== b[key]) lines.push(`${name}.${key}: ${a[key]} != ${b[key]}`);
    }
  }
  return lines;
}

/** Why the imported copy of `name` does not behave as the original, or undefined when it does. */
async function compare(name: string): Promise<string | undefined> {
  try {
    const [original, imported] = await Promise.all([runOriginal(name), runImported(name)]);
    if (original.info.size === 0) return 'the original runs no program';
    const diff = differences(original.info, imported.info);
    return diff.length ? diff.join('\n') : undefined;
  } catch (error) {
    return (error as Error).message;
  }
}

const entries = await corpusEntries();

test('the corpus holds at least 30 configs, and every expected failure is one of them', () => {
  assert.ok(entries.length >= 30, `the corpus has ${entries.length} configs`);
  for (const name of Object.keys(EXPECTED_FAILURES)) assert.ok(entries.includes(name), name);
});

describe(
  'each corpus config imported runs the same programs with the same settings',
  { concurrency: BATCH },
  () => {
    for (const name of entries) {
      const expected = EXPECTED_FAILURES[name];
      test(expected ? `${name} (expected to fail: ${expected.source})` : name, async () => {
        const why = await compare(name);
        if (expected) assert.match(why ?? 'it passed', expected);
        else assert.equal(why, undefined, why);
      });
    }
  },
);
