/** environment= parsing matches supervisord's own parser, and what we render reads back unchanged. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { parseEnvironment, renderEnvironment } from '../../src/config/index.js';

const SAMPLES = [
  'A=1',
  'A=1,B=2',
  'A="x,y",B=\'z\'',
  'KEY=/usr/bin:/bin,OTHER=a.b+c-d',
  'A="hello world"',
  'A=x y',
  'A="say \'hi\' now",B=\'a "b" c\'',
  'A=a"b"c',
  'A=""',
  'A=1 # a comment\n,B=2',
  'A="#not a comment"',
  'A=1,\n  B=2',
];

/** The Python that runs supervisord (its shebang), which can import the supervisor package. */
function supervisorPython(): string {
  const script = spawnSync('sh', ['-c', 'command -v supervisord'], { encoding: 'utf8' }).stdout.trim();
  const shebang = readFileSync(script, 'utf8').split('\n')[0] ?? '';
  return shebang.replace(/^#!\s*/, '').split(/\s+/)[0] || 'python3';
}

/** supervisord's dict_of_key_value_pairs on each sample, from the installed Python package. */
function supervisordParse(samples: string[]): ({ ok: Record<string, string> } | { error: string })[] {
  const script = `
import json, sys
from supervisor.datatypes import dict_of_key_value_pairs
out = []
for s in json.load(sys.stdin):
    try:
        out.append({"ok": dict_of_key_value_pairs(s)})
    except ValueError as e:
        out.append({"error": str(e)})
print(json.dumps(out))
`;
  const result = spawnSync(supervisorPython(), ['-c', script], {
    input: JSON.stringify(samples),
    encoding: 'utf8',
  });
  assert.equal(result.status, 0, result.stderr);
  return JSON.parse(result.stdout) as ({ ok: Record<string, string> } | { error: string })[];
}

test('environment values parse exactly as supervisord parses them', () => {
  const expected = supervisordParse([...SAMPLES, 'A=1,B', 'A="unclosed', '=x']);
  [...SAMPLES, 'A=1,B', 'A="unclosed', '=x'].forEach((sample, index) => {
    const want = expected[index]!;
    if ('ok' in want) assert.deepEqual(parseEnvironment(sample), want.ok, sample);
    else assert.throws(() => parseEnvironment(sample), Error, sample);
  });
});

test('rendered environment values read back unchanged by supervisord, commas and quotes included', () => {
  const env = { A: 'hello world', B: 'a,b,c', C: 'say "hi" now', D: "it's", E: '', F: '#hash', G: 'x=y' };
  const text = renderEnvironment(env);
  const [parsed] = supervisordParse([text]);
  assert.deepEqual(parsed, { ok: env });
  assert.deepEqual(parseEnvironment(text), env);
});

test('a value supervisord cannot read back is refused with the reason', () => {
  assert.throws(() => renderEnvironment({ Q: '"quoted"' }), /Q: a value cannot start or end with a quote/);
  assert.throws(
    () => renderEnvironment({ Q: `both " and '` }),
    /Q: a value cannot contain both kinds of quote/,
  );
});

test('%(ENV_X)s expansions stay verbatim as one value', () => {
  assert.deepEqual(parseEnvironment('PATH=%(ENV_PATH)s:/opt/bin,HOME=%(here)s'), {
    PATH: '%(ENV_PATH)s:/opt/bin',
    HOME: '%(here)s',
  });
});
