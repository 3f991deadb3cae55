import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { firstValueFrom } from 'rxjs';
import { pino } from 'pino';
import type { TriggerContext } from '../../src/triggerer/definition.js';
import {
  builtinTriggers,
  DuplicateTriggerError,
  ProgramStateTrigger,
  TriggerPluginError,
  TriggerRegistry,
} from '../../triggers/index.js';

const here = fileURLToPath(new URL('.', import.meta.url));

describe('TriggerRegistry', () => {
  test('holds the built-in triggers by classpath', () => {
    const registry = new TriggerRegistry();
    assert.deepEqual(registry.classpaths(), [
      'supervisor.ProgramStateTrigger',
      'supervisor.ProgramWatchTrigger',
      'supervisor.SupervisorReadyTrigger',
      'time.DateTimeTrigger',
      'time.TimeDeltaTrigger',
    ]);
    assert.equal(registry.get('supervisor.ProgramStateTrigger'), ProgramStateTrigger);
    assert.equal(builtinTriggers.length, 5);
  });

  test('an unknown classpath gives undefined, never a module load', () => {
    const registry = new TriggerRegistry();
    assert.equal(registry.get('node:child_process'), undefined);
    assert.equal(registry.get('./plugins/echo-trigger.ts'), undefined);
  });

  test('registering a classpath twice is a clear error', () => {
    const registry = new TriggerRegistry();
    assert.throws(
      () => registry.register(ProgramStateTrigger),
      (error: unknown) =>
        error instanceof DuplicateTriggerError &&
        /"supervisor.ProgramStateTrigger" is already registered/.test(error.message),
    );
  });

  test('withPlugins adds the triggers a plugin module exports, resolving paths against baseDir', async () => {
    const registry = await TriggerRegistry.withPlugins(['./plugins/echo-trigger.ts'], { baseDir: here });
    const echo = registry.get('test.EchoTrigger');
    assert.ok(echo, 'plugin trigger registered');
    assert.ok(registry.get('time.DateTimeTrigger'), 'built-ins kept');
    const ctx = { logger: pino({ level: 'silent' }) } as TriggerContext;
    const outcome = await firstValueFrom(echo.run(echo.kwargs.parse({ say: 'hi' }), ctx));
    assert.deepEqual(outcome, { status: 'fired', payload: { said: 'hi' } });
  });

  test('a plugin claiming a built-in classpath fails start-up naming both', async () => {
    await assert.rejects(
      TriggerRegistry.withPlugins(['./plugins/duplicate-trigger.ts'], { baseDir: here }),
      (error: unknown) =>
        error instanceof DuplicateTriggerError &&
        /"supervisor.ProgramStateTrigger" is already registered \(again by plugin .\/plugins\/duplicate-trigger.ts\)/.test(
          error.message,
        ),
    );
  });

  test('a missing module or one without trigger definitions is a TriggerPluginError', async () => {
    await assert.rejects(
      TriggerRegistry.withPlugins(['./plugins/missing.ts'], { baseDir: here }),
      (error: unknown) =>
        error instanceof TriggerPluginError && /missing.ts: cannot be loaded/.test(error.message),
    );
    await assert.rejects(
      TriggerRegistry.withPlugins(['./plugins/not-a-trigger.ts'], { baseDir: here }),
      (error: unknown) =>
        error instanceof TriggerPluginError &&
        /trigger #0 \(test.Broken\) has no zod schema in `kwargs`/.test(error.message),
    );
  });
});
