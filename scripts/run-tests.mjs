#!/usr/bin/env node
// Runs every test file under test/ (or the files/folders given) with node's own test runner and the tsx
// loader, after building dist/ when it is stale. Node 20's runner does not expand globs, so the files are found here.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

function findTests(path) {
  if (statSync(path).isFile()) return [path];
  return readdirSync(path, { withFileTypes: true })
    .flatMap((entry) => {
      const child = join(path, entry.name);
      if (entry.isDirectory()) return entry.name === 'fixtures' ? [] : findTests(child);
      return entry.name.endsWith('.test.ts') ? [child] : [];
    })
    .sort();
}

/** The newest modification time under `path` (a file or a folder), in ms. */
function newest(path) {
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  return Math.max(stat.mtimeMs, ...readdirSync(path).map((name) => newest(join(path, name))));
}

// Test fixtures run the compiled CLI (bin/supervisor-triggerer.js), as a user does: build dist/ first
// when it is missing or a source is newer, so a test never runs stale code.
const built = 'dist/src/cli/main.js';
const sources = ['src', 'triggers', 'tsconfig.json', 'tsconfig.build.json', 'package.json'];
if (!existsSync(built) || Math.max(...sources.map(newest)) > statSync(built).mtimeMs) {
  console.error('run-tests: building dist/ (sources changed)');
  const build = spawnSync('npm', ['run', '--silent', 'build'], { stdio: 'inherit' });
  if (build.status !== 0) process.exit(build.status ?? 1);
}

const targets = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const passThrough = process.argv.slice(2).filter((a) => a.startsWith('--'));
const files = (targets.length ? targets : ['test']).flatMap(findTests);
if (files.length === 0) {
  console.error('no test files found');
  process.exit(1);
}
const result = spawnSync(
  process.execPath,
  [
    '--import',
    'tsx',
    '--test',
    `--test-concurrency=${process.env.TEST_CONCURRENCY ?? 2}`,
    '--test-timeout=300000',
    ...passThrough,
    ...files,
  ],
  { stdio: 'inherit' },
);
process.exit(result.status ?? 1);
