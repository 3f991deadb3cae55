/**
 * One frame of `status --watch` (pure): it fits the terminal, a value's control characters cannot
 * reach the terminal, and a long endpoint does not push the columns after it off the screen.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { WatchSnapshot } from '../src/cli/watch-snapshot.js';
import { renderFrame, type FrameOptions } from '../src/cli/watch-view.js';

const AT = Date.parse('2030-01-01T00:00:00Z');
const LONG_ENDPOINT = `job@box:/srv/jobs/${'x'.repeat(80)}/supervisord.conf`;

function snapshot(triggers: number): WatchSnapshot {
  return {
    at: AT,
    triggerers: [
      {
        id: 'box-1-abc',
        hostname: 'box',
        pid: 1,
        started: new Date(AT - 60_000).toISOString(),
        beat: new Date(AT - 1000).toISOString(),
        version: '0.1.0',
        intervalMs: 5000,
        capacity: 1000,
        running: 2,
        endpoints: { box: 2 },
      },
    ],
    workers: [],
    counts: { active: triggers, waiting: 0, delayed: 0, failed: 0, completed: 0 },
    triggers: Array.from({ length: triggers }, (_, i) => ({
      triggerId: i === 0 ? 'evil\u001b[2J\u0007id' : `t-${i}`,
      state: 'active',
      classpath: 'supervisor.ProgramWatchTrigger',
      endpoint: LONG_ENDPOINT,
      createdAt: new Date(AT - 5000).toISOString(),
      ageMs: 5000,
      deadline: new Date(AT + 3_600_000).toISOString(),
      lock: { held: true },
    })),
    moreTriggers: false,
    jobs: [],
    moreJobs: 0,
  };
}

const TERMINAL: FrameOptions = {
  columns: 100,
  rows: 24,
  color: false,
  where: 'redis://127.0.0.1:6379',
  intervalMs: 2000,
  interactive: true,
};

test('a frame fits the terminal: at most its rows, each line at most its columns, a "more" line for the triggers cut', () => {
  const lines = renderFrame(snapshot(60), TERMINAL);
  assert.ok(lines.length <= TERMINAL.rows, `${lines.length} lines`);
  for (const line of lines) assert.ok(line.length <= TERMINAL.columns, line);
  assert.ok(
    lines.some((line) => /^ {2}… \d+ more$/.test(line)),
    lines.join('\n'),
  );
});

test("a value's control characters are shown as ?, so no escape sequence reaches the terminal", () => {
  const lines = renderFrame(snapshot(1), { ...TERMINAL, color: true });
  const text = lines.join('\n');
  assert.match(text, /evil\?\[2J\?id/);
  // The only escapes are the view's own colours.
  const escapes = text.split('\u001b').slice(1);
  assert.ok(escapes.length > 0, 'the frame is coloured');
  for (const escape of escapes) assert.match(escape, /^\[\d+m/, 'a colour, nothing else');
});

test('a long endpoint is clipped in the middle and the columns after it stay on screen', () => {
  const lines = renderFrame(snapshot(1), { ...TERMINAL, columns: 120 });
  const row = lines.find((line) => line.includes('t-') || line.includes('evil')) ?? '';
  assert.match(row, / {2}job@box:\/srv\/job…upervisord\.conf {2}/);
  assert.match(row, /in 60m +held$/, row);
});
