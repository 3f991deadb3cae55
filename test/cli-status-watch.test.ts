/**
 * `status --watch` as a user runs it: full-screen in a real pseudo-terminal (tmux) against a
 * triggerer, a real supervisord and Redis, showing a trigger change state and quitting cleanly on
 * `q` and Ctrl-C; plain periodic frames when stdout is a pipe; JSON lines with --json.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { defer } from '../src/client/index.js';
import { runCli } from './fixtures/cli.js';
import { freePort } from './fixtures/ports.js';
import { ownChild, waitUntil, type OwnedProcess } from './fixtures/processes.js';
import { startRedis, type RedisHandle } from './fixtures/redis.js';
import { startSupervisord, type SupervisordHandle } from './fixtures/supervisord.js';
import { startTmux } from './fixtures/tmux.js';
import { startTriggerer, supervisorctl, writeTriggererConfig } from './fixtures/triggerers.js';

const MAIN = fileURLToPath(new URL('../src/cli/main.ts', import.meta.url));
const TSX = import.meta.resolve('tsx');
const WATCH = `node --import ${TSX} ${MAIN} status --watch --interval 300ms`;

describe('status --watch', () => {
  let redis: RedisHandle;
  let supervisord: SupervisordHandle;
  let triggerer: OwnedProcess;

  before(async () => {
    redis = await startRedis();
    supervisord = await startSupervisord({
      programs: {
        sleeper: 'command=sleep 1000\nautostart=true\nstartsecs=0',
        other: 'command=sleep 1000\nautostart=true\nstartsecs=0',
      },
    });
    triggerer = await startTriggerer(
      redis.url,
      await writeTriggererConfig(supervisord.dir, supervisord.endpoint.url),
    );
  });

  after(async () => {
    await triggerer?.stop();
    await supervisord?.stop();
    await redis?.stop();
  });

  test('in a terminal: full-screen, shows a trigger go from active to fired, and q gives the screen back', async () => {
    const tmux = await startTmux({ REDIS_URL: redis.url, PATH: process.env.PATH ?? '' });
    try {
      await tmux.keys('clear; echo before-the-view', 'Enter');
      await tmux.waitFor(/^before-the-view$/m, 'the shell');
      await tmux.keys(`${WATCH}; echo "exit=$?"`, 'Enter');
      await tmux.waitFor(/TRIGGERERS \(1 live\)/, 'the first frame');
      await defer(
        {
          classpath: 'supervisor.ProgramStateTrigger',
          kwargs: { endpoint: 'box', programs: ['sleeper'], states: ['STOPPED'] },
        },
        { connection: redis.url, id: 'watched-1' },
      );
      const active = await tmux.waitFor(
        /watched-1 +active +supervisor\.ProgramStateTrigger +box/,
        'watched-1 active',
      );
      assert.match(active, /q quits/);
      assert.doesNotMatch(active, /before-the-view/, 'the view has the screen to itself');
      await supervisorctl(supervisord.configPath, 'stop', 'sleeper');
      await tmux.waitFor(
        /watched-1 +completed +supervisor\.ProgramStateTrigger +box +.*fired/,
        'watched-1 fired',
      );
      await tmux.keys('q');
      const after = await tmux.waitFor(/^exit=0$/m, 'the view to quit');
      assert.match(after, /before-the-view/, 'the screen from before the view is back');
      assert.doesNotMatch(after, /TRIGGERERS|watched-1/, 'nothing of the view is left on the screen');
    } finally {
      await tmux.stop();
    }
  });

  test('in a terminal: Ctrl-C quits with exit 0', async () => {
    const tmux = await startTmux({ REDIS_URL: redis.url, PATH: process.env.PATH ?? '' });
    try {
      await tmux.keys(`${WATCH}; echo "exit=$?"`, 'Enter');
      await tmux.waitFor(/TRIGGERERS \(1 live\)/, 'the first frame');
      await tmux.keys('C-c');
      const after = await tmux.waitFor(/^exit=0$/m, 'the view to quit');
      assert.doesNotMatch(after, /TRIGGERERS/);
    } finally {
      await tmux.stop();
    }
  });

  test('not a terminal: a plain frame every interval, no escape codes; SIGINT ends it with exit 0', async () => {
    for (const json of [false, true]) {
      const child = ownChild(
        spawn(
          process.execPath,
          ['--import', TSX, MAIN, 'status', '--watch', '--interval', '200ms', ...(json ? ['--json'] : [])],
          {
            env: { ...process.env, REDIS_URL: redis.url },
            stdio: ['ignore', 'pipe', 'pipe'],
          },
        ),
      );
      let out = '';
      child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
      const closed = new Promise<number | null>((resolve) => child.on('close', resolve));
      const frames = () =>
        json ? out.split('\n').filter(Boolean).length : out.split('supervisor-triggerer status ·').length - 1;
      await waitUntil(() => (frames() >= 2 ? true : undefined), { timeoutMs: 15_000, what: 'two frames' });
      child.kill('SIGINT');
      assert.equal(await closed, 0);
      assert.ok(!out.includes('\u001b'), 'no escape codes in a pipe');
      if (json) {
        const first = JSON.parse(out.split('\n')[0] ?? '') as {
          triggerers: { id: string }[];
          counts: { completed: number };
        };
        assert.equal(first.triggerers.length, 1);
        assert.equal(typeof first.counts.completed, 'number');
      } else {
        assert.match(out, /TRIGGERERS \(1 live\)\n\s+ID\s+HOST\s+PID\s+HEALTH\s+LOAD\s+WATCHING\n/);
        assert.doesNotMatch(out, /q quits/);
      }
    }
  });

  test('Redis away: each frame says why in one line, and the view keeps going until SIGINT', async () => {
    const port = await freePort();
    const child = ownChild(
      spawn(process.execPath, ['--import', TSX, MAIN, 'status', '--watch', '--interval', '200ms'], {
        env: { ...process.env, REDIS_URL: `redis://:hunter2@127.0.0.1:${port}` },
        stdio: ['ignore', 'pipe', 'pipe'],
      }),
    );
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    const closed = new Promise<number | null>((resolve) => child.on('close', resolve));
    await waitUntil(() => ((out.match(/^! .+$/gm) ?? []).length >= 2 ? true : undefined), {
      timeoutMs: 20_000,
      what: 'two frames that say Redis is away',
    });
    child.kill('SIGINT');
    assert.equal(await closed, 0);
    assert.match(out, new RegExp(`^! .*127\\.0\\.0\\.1:${port}`, 'm'), 'the reason names the Redis');
    assert.ok(!out.includes('hunter2'), 'the password is never shown');
  });

  test('Redis unresponsive for a while under the view: frames say so, then come back once it answers', async () => {
    const own = await startRedis();
    try {
      const child = ownChild(
        spawn(process.execPath, ['--import', TSX, MAIN, 'status', '--watch', '--interval', '200ms'], {
          env: { ...process.env, REDIS_URL: own.url },
          stdio: ['ignore', 'pipe', 'pipe'],
        }),
      );
      let out = '';
      child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
      const closed = new Promise<number | null>((resolve) => child.on('close', resolve));
      const frames = (text: string) => text.split('supervisor-triggerer status ·').length - 1;
      await waitUntil(() => (frames(out) >= 1 ? true : undefined), { timeoutMs: 15_000, what: 'a frame' });
      process.kill(own.pid, 'SIGSTOP');
      const stopped = out.length;
      try {
        await waitUntil(() => (/^! /m.test(out.slice(stopped)) ? true : undefined), {
          timeoutMs: 20_000,
          what: 'a frame that says Redis is away',
        });
      } finally {
        process.kill(own.pid, 'SIGCONT');
      }
      const back = out.length;
      await waitUntil(() => (frames(out.slice(back)) >= 2 ? true : undefined), {
        timeoutMs: 20_000,
        what: 'whole frames again once Redis answers',
      });
      child.kill('SIGINT');
      assert.equal(await closed, 0);
    } finally {
      await own.stop();
    }
  });

  test('usage errors: --watch with an id or a filter, --interval without --watch or under 200ms', async () => {
    const env = { REDIS_URL: redis.url };
    const results = await Promise.all([
      runCli(['status', '--watch', 'some-id'], { env }),
      runCli(['status', '--watch', '--state', 'active'], { env }),
      runCli(['status', '--interval', '1s'], { env }),
      runCli(['status', '--watch', '--interval', '50ms'], { env }),
      runCli(['top', '--interval', 'soon'], { env }),
    ]);
    for (const result of results) assert.equal(result.code, 2, result.stderr);
    assert.match(results[0]!.stderr, /--watch shows everything/);
    assert.match(results[2]!.stderr, /--interval goes with --watch/);
    assert.match(results[3]!.stderr, /--interval: at least 200ms/);
    assert.match(results[4]!.stderr, /--interval: /);
  });
});
