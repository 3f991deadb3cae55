/** Every duration that reaches a timer is bounded where it is read: kwargs, triggerer config, text. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { TriggerRegistry } from '../../triggers/index.js';
import { MAX_DURATION_TEXT, parseDuration } from '../../src/config/duration.js';
import { acceptTrigger, InvalidTriggerRecord } from '../../src/triggerer/intake.js';
import { InvalidTriggererConfig, parseTriggererConfig } from '../../src/triggerer/config-file.js';

const endpoints = { resolve: (name: string) => ({ url: `unix:///tmp/${name}.sock` }) };

function refusal(kwargs: Record<string, unknown>): string {
  try {
    acceptTrigger(
      {
        v: 1,
        classpath: 'supervisor.ProgramStateTrigger',
        kwargs: { endpoint: 'box', states: ['STOPPED'], ...kwargs },
      },
      new TriggerRegistry(),
      endpoints,
    );
  } catch (error) {
    assert.ok(error instanceof InvalidTriggerRecord);
    return error.message;
  }
  return 'accepted';
}

describe('bounds', () => {
  test('a poll interval below 100 ms or above 24 h is refused at intake', () => {
    assert.match(refusal({ interval: '1ms' }), /interval: .*from 100ms to 24h/);
    assert.match(refusal({ interval: '1000d' }), /from 100ms to 24h/);
    assert.equal(refusal({ interval: '100ms' }), 'accepted');
    assert.equal(refusal({ interval: '24h' }), 'accepted');
  });

  test('durations: long text is refused before any pattern runs; values past 100 years are refused', () => {
    assert.throws(() => parseDuration('9'.repeat(100_000)), new RegExp(`at most ${MAX_DURATION_TEXT}`));
    assert.throws(() => parseDuration(`${'9'.repeat(60)}d`), /too long/);
    assert.throws(() => parseDuration(1e300), /too long/);
    assert.equal(parseDuration('25d'), 25 * 86_400_000);
  });

  test('triggerer config durations that reach timers are bounded', () => {
    const refused = (text: string) => {
      try {
        parseTriggererConfig(text, 't.yaml');
      } catch (error) {
        assert.ok(error instanceof InvalidTriggererConfig);
        return error.message;
      }
      return 'accepted';
    };
    assert.equal(refused('default_interval: 1ms'), 't.yaml: default_interval: must be from 100ms to 24h');
    assert.match(refused('lock_duration: 30d'), /lock_duration: must be from 500ms to 10m/);
    assert.match(refused('heartbeat_interval: 0'), /heartbeat_interval: must be from 100ms to 1h/);
    assert.equal(refused('default_interval: 2s\nlock_duration: 8s'), 'accepted');
  });
});
