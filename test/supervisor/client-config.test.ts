/** Config reloads, group add/remove, restart and shutdown against a real supervisord. */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { SupervisorClient } from '../../src/supervisor/client.js';
import { AlreadyAddedFault, BadNameFault, StillRunningFault } from '../../src/supervisor/errors.js';
import { startSupervisord, type SupervisordHandle } from '../fixtures/supervisord.js';
import { waitUntil } from '../fixtures/processes.js';

const body = (command: string) => `command=${command}\nautostart=true\nstartsecs=0\nstopwaitsecs=2`;

describe('applyConfigChanges', () => {
  let sup: SupervisordHandle;
  let client: SupervisorClient;
  before(async () => {
    sup = await startSupervisord({
      programs: { keep: body('sleep 1001'), gone: body('sleep 1002'), edited: body('sleep 1003') },
    });
    client = new SupervisorClient(sup.endpoint);
    await waitUntil(async () =>
      (await client.getAllProcessInfo()).every((p) => p.statename === 'RUNNING') ? true : undefined,
    );
  });
  after(async () => {
    client?.close();
    await sup?.stop();
  });

  test('with no edit nothing changes', async () => {
    assert.deepEqual(await client.applyConfigChanges(), { added: [], changed: [], removed: [] });
  });

  test('removes removed groups, re-adds changed ones and adds new ones, like supervisorctl update', async () => {
    const keepPid = (await client.getProcessInfo('keep')).pid;
    const editedPid = (await client.getProcessInfo('edited')).pid;
    const text = await readFile(sup.configPath, 'utf8');
    const edited = text
      .replace(/\[program:gone\][^[]*/, '')
      .replace('sleep 1003', 'sleep 1004')
      .concat(`\n[program:fresh]\n${body('sleep 1005')}\n`);
    await writeFile(sup.configPath, edited);

    assert.deepEqual(await client.applyConfigChanges(), {
      added: ['fresh'],
      changed: ['edited'],
      removed: ['gone'],
    });

    const names = (await client.getAllProcessInfo()).map((p) => p.name).sort();
    assert.deepEqual(names, ['edited', 'fresh', 'keep']);
    assert.equal((await client.getProcessInfo('keep')).pid, keepPid, 'an unchanged group keeps running');
    await waitUntil(async () => {
      const info = await client.getProcessInfo('edited');
      return info.statename === 'RUNNING' && info.pid !== editedPid ? true : undefined;
    });
    const config = await client.getAllConfigInfo();
    assert.equal(config.find((c) => c.name === 'edited')?.command, 'sleep 1004');
  });

  test('group add/remove fault as ALREADY_ADDED, STILL_RUNNING and BAD_NAME', async () => {
    await assert.rejects(client.addProcessGroup('keep'), AlreadyAddedFault);
    await assert.rejects(client.removeProcessGroup('keep'), StillRunningFault);
    await assert.rejects(client.addProcessGroup('nope'), BadNameFault);
    await client.stopProcessGroup('keep');
    assert.equal(await client.removeProcessGroup('keep'), true);
    assert.equal(await client.addProcessGroup('keep'), true);
  });
});

describe('restart and shutdown', () => {
  let sup: SupervisordHandle;
  let client: SupervisorClient;
  before(async () => {
    sup = await startSupervisord({ programs: { sleeper: body('sleep 1000') } });
    client = new SupervisorClient(sup.endpoint);
  });
  after(async () => {
    client?.close();
    await sup?.stop();
  });

  test('restart brings supervisord back to RUNNING with the same pid', async () => {
    assert.equal(await client.restart(), true);
    await waitUntil(async () => ((await client.getState()).statename === 'RUNNING' ? true : undefined), {
      intervalMs: 100,
    });
    assert.equal(await client.getPID(), sup.pid);
  });

  test('shutdown answers, then supervisord exits', async () => {
    assert.equal(await client.shutdown(), true);
    await waitUntil(
      () => {
        try {
          process.kill(sup.pid, 0);
          return undefined;
        } catch {
          return true;
        }
      },
      { intervalMs: 100 },
    );
  });
});
