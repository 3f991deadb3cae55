import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createLogger, REDACTED, triggerLogger } from '../../src/triggerer/logger.js';

/** A destination that keeps every written line. */
function capture(): { lines: string[]; write(line: string): void } {
  const lines: string[] = [];
  return { lines, write: (line: string) => void lines.push(line) };
}

describe('triggerer logger', () => {
  test('redacts passwords and authorization wherever the config names them', () => {
    const out = capture();
    const logger = createLogger({ destination: out, pretty: false });
    logger.info(
      {
        password: 'top-secret-1',
        endpoint: { url: 'http://box:9001/RPC2', username: 'u', password: 'top-secret-2' },
        kwargs: { programs: ['a'], password: 'top-secret-3' },
        connection: { password: 'top-secret-4' },
        authorization: 'Basic dTp0b3Atc2VjcmV0LTU=',
      },
      'connecting',
    );
    assert.equal(out.lines.length, 1);
    const line = out.lines[0] ?? '';
    assert.doesNotMatch(line, /top-secret|dTp0b3A/);
    const parsed = JSON.parse(line) as Record<string, unknown>;
    assert.equal(parsed.password, REDACTED);
    assert.deepEqual(parsed.endpoint, { url: 'http://box:9001/RPC2', username: 'u', password: REDACTED });
    assert.deepEqual(parsed.kwargs, { programs: ['a'], password: REDACTED });
    assert.equal(parsed.authorization, REDACTED);
  });

  test('a trigger child logger carries trigger id, classpath and endpoint on every line', () => {
    const out = capture();
    const base = createLogger({ destination: out, pretty: false, level: 'debug' });
    const log = triggerLogger(base, {
      triggerId: 't-1',
      classpath: 'supervisor.ProgramStateTrigger',
      endpoint: 'box-3',
    });
    log.debug({ password: 'nope' }, 'watching');
    const parsed = JSON.parse(out.lines[0] ?? '{}') as Record<string, unknown>;
    assert.equal(parsed.triggerId, 't-1');
    assert.equal(parsed.classpath, 'supervisor.ProgramStateTrigger');
    assert.equal(parsed.endpoint, 'box-3');
    assert.equal(parsed.password, REDACTED);
    assert.equal(parsed.msg, 'watching');
  });

  test('a trigger logger makes its pino child only when it first writes a line', () => {
    const out = capture();
    const base = createLogger({ destination: out, pretty: false, level: 'info' });
    let children = 0;
    const child = base.child.bind(base);
    base.child = ((...args: Parameters<typeof base.child>) => {
      children += 1;
      return child(...args);
    }) as typeof base.child;
    const log = triggerLogger(base, { triggerId: 't-2', classpath: 'supervisor.ProgramStateTrigger' });
    log.debug('not at info level');
    assert.equal(children, 0);
    assert.deepEqual(out.lines, []);
    log.info('written');
    log.warn('written too');
    assert.equal(children, 1);
    const lines = out.lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.deepEqual(
      lines.map((l) => [l.triggerId, l.msg]),
      [
        ['t-2', 'written'],
        ['t-2', 'written too'],
      ],
    );
  });

  test("a trigger logger's level can be lowered like any pino logger's", () => {
    const out = capture();
    const base = createLogger({ destination: out, pretty: false, level: 'info' });
    const log = triggerLogger(base, { triggerId: 't-3', classpath: 'x.Y', endpoint: 'box' });
    log.level = 'debug';
    assert.equal(log.isLevelEnabled('debug'), true);
    log.debug('now shown');
    assert.equal((JSON.parse(out.lines[0] ?? '{}') as { endpoint: string }).endpoint, 'box');
    base.info('the base stays at info');
    assert.equal(base.isLevelEnabled('debug'), false);
  });

  test('the level option filters lower levels', () => {
    const out = capture();
    const logger = createLogger({ destination: out, level: 'warn' });
    logger.info('hidden');
    logger.warn('shown');
    assert.deepEqual(
      out.lines.map((l) => (JSON.parse(l) as { msg: string }).msg),
      ['shown'],
    );
  });

  test('pretty output is human text, still redacted', () => {
    const out = capture();
    const logger = createLogger({ destination: out, pretty: true });
    logger.info({ kwargs: { password: 'top-secret' } }, 'pretty line');
    const text = out.lines.join('');
    assert.match(text, /INFO.*pretty line/);
    assert.doesNotMatch(text, /top-secret/);
    assert.throws(() => JSON.parse(text));
  });

  test('with a destination and no pretty option, lines are JSON', () => {
    const out = capture();
    createLogger({ destination: out }).info('json');
    assert.equal((JSON.parse(out.lines[0] ?? '') as { msg: string }).msg, 'json');
  });
});
