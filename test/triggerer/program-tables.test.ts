/** What the status page shows of an endpoint's programs: the last table, restarts seen, errors (pure). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { blankProcessInfo, type ProcessInfo } from '../../src/supervisor/states.js';
import { ProgramTables } from '../../src/triggerer/program-tables.js';
import { EndpointUnreachable } from '../../src/supervisor/errors.js';

function running(name: string, start: number, group = name): ProcessInfo {
  return blankProcessInfo(group, name, {
    statename: 'RUNNING',
    state: 20,
    start,
    now: start + 30,
    pid: 100 + start,
  });
}

test('a program whose start time changed between two polls counts one restart; uptime from the server clock', () => {
  const tables = new ProgramTables({ now: () => 1000 });
  tables.observe('box', { infos: [running('web', 100), running('db', 50)] }, 3);
  tables.observe('box', { infos: [running('web', 100), running('db', 50)] }, 3);
  tables.observe('box', { infos: [running('web', 200), running('db', 50)] }, 4);
  const [box] = tables.rows();
  const web = box?.programs.find((p) => p.name === 'web');
  assert.equal(web?.restarts, 1);
  assert.equal(web?.uptimeS, 30);
  assert.equal(box?.programs.find((p) => p.name === 'db')?.restarts, 0);
  assert.equal(box?.reachable, true);
  assert.equal(box?.lastPollMs, 4);
});

test('a failed poll marks the endpoint unreachable with one bounded line and keeps the last table', () => {
  const tables = new ProgramTables({ now: () => 1000 });
  tables.observe('box', { infos: [running('web', 100, 'grp')] }, 3);
  const error = new EndpointUnreachable(
    `connect ECONNREFUSED\n${'x'.repeat(1000)}`,
    'unix:///s.sock',
    'ECONNREFUSED',
  );
  tables.observe('box', { error }, 1);
  const [box] = tables.rows();
  assert.equal(box?.reachable, false);
  assert.equal(box?.error, 'EndpointUnreachable: connect ECONNREFUSED');
  assert.deepEqual(
    box?.programs.map((p) => p.name),
    ['grp:web'],
  );
});

test('programs past the bound are counted, not kept; endpoints not polled for an hour are forgotten', () => {
  let now = 0;
  const tables = new ProgramTables({ maxPrograms: 2, now: () => now });
  tables.observe('big', { infos: [running('a', 1), running('b', 1), running('c', 1)] }, 1);
  assert.equal(tables.rows()[0]?.programs.length, 2);
  assert.equal(tables.rows()[0]?.morePrograms, 1);
  now = 3_600_001;
  assert.deepEqual(tables.rows(), []);
});
