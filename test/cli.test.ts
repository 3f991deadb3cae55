import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { printEventWhenFinished, stillWaitingLine } from '../src/cli/args.js';
import { main } from '../src/cli/main.js';
import { defer } from '../src/client/index.js';
import { runCli } from './fixtures/cli.js';
import { startRedis } from './fixtures/redis.js';

const VERSION = (
  JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

/** Runs the CLI in process (the parsing is the same code; a spawned CLI costs a second of start-up). */
async function inProcess(args: string[]) {
  let stdout = '';
  let stderr = '';
  const code = await main(args, { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t), env: {} });
  return { code, stdout, stderr };
}

test('the CLI lists its commands and rejects an unknown one with exit code 2', async () => {
  const help = await runCli(['--help']);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /config/);
  assert.match(help.stdout, /triggerer/);
  const unknown = await runCli(['frobnicate']);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /unknown command 'frobnicate'/);
  assert.match((await inProcess(['statsu'])).stderr, /unknown command 'statsu' \(did you mean 'status'\?\)/);
});

test('--version and -V print the package version', async () => {
  const spawned = await runCli(['--version']);
  assert.equal(spawned.code, 0, spawned.stderr);
  assert.equal(spawned.stdout, `supervisor-triggerer ${VERSION}\n`);
  assert.deepEqual(await inProcess(['-V']), {
    code: 0,
    stdout: `supervisor-triggerer ${VERSION}\n`,
    stderr: '',
  });
});

test('every command and subcommand answers --help with its own usage and exit 0', async () => {
  const cases: [string[], string][] = [
    [['config'], 'config <subcommand>'],
    [['config', 'validate'], 'config validate FILE...'],
    [['config', 'render'], 'config render FILE...'],
    [['config', 'import'], 'config import SUPERVISORD_CONF'],
    [['config', 'schema'], 'config schema'],
    [['supervisor'], 'supervisor <step>'],
    [['supervisor', 'start-programs'], 'supervisor start-programs JOBFILE...'],
    [['supervisor', 'tail'], 'supervisor tail JOBFILE... PROGRAM'],
    [['triggerer'], 'triggerer [options]'],
    [['defer'], 'defer --classpath'],
    [['cancel'], 'cancel ID'],
    [['status'], 'status'],
  ];
  for (const [command, usage] of cases) {
    for (const flag of ['--help', '-h']) {
      const result = await inProcess([...command, flag]);
      assert.equal(result.code, 0, `${command.join(' ')} ${flag}: ${result.stderr}`);
      assert.ok(
        result.stdout.startsWith(`usage: supervisor-triggerer ${usage}`),
        `${command.join(' ')} ${flag}:\n${result.stdout}`,
      );
    }
  }
});

test('a wait says it is still waiting on a terminal only', async (t) => {
  assert.equal(stillWaitingLine('abc', 12_400), 'still waiting for abc (12s)\n');
  const redis = await startRedis();
  t.after(() => redis.stop());
  // no triggerer runs: the trigger stays waiting until the wait gives up
  const { triggerId } = await defer(
    { classpath: 'time.TimeDeltaTrigger', kwargs: { delta: '1h' } },
    { connection: redis.url, id: 'nobody-fires-this' },
  );
  const waitOn = async (stderrIsTTY: boolean) => {
    let stderr = '';
    const io = { stdout: () => {}, stderr: (text: string) => (stderr += text), env: {}, stderrIsTTY };
    const code = await printEventWhenFinished('defer', triggerId, redis.url, 1200, io, 300);
    return { code, stderr };
  };
  const tty = await waitOn(true);
  assert.equal(tty.code, 3);
  assert.match(
    tty.stderr,
    /^still waiting for nobody-fires-this \(0s\)\nstill waiting for nobody-fires-this/,
  );
  const piped = await waitOn(false);
  assert.equal(piped.code, 3);
  assert.doesNotMatch(piped.stderr, /still waiting/, 'no progress lines into a pipe or a log');
});
