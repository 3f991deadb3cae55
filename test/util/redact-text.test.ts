import { test } from 'node:test';
import assert from 'node:assert/strict';
import { redactText } from '../../src/util/redact-text.js';

test('known secrets are replaced wherever they appear', () => {
  assert.equal(redactText('pw is Zq9-long-secret here', ['Zq9-long-secret']), 'pw is [redacted] here');
  assert.equal(redactText('abc', ['a']), 'abc', 'too short to search for by value');
});

test('credentials are replaced by their form, the rest of the line kept', () => {
  const cases: [string, string][] = [
    ['redis://app:hunter2@db:6379/0', 'redis://app:[redacted]@db:6379/0'],
    ['Authorization: Basic dXNlcjpwYXNz', 'Authorization: Basic [redacted]'],
    ['{"password": "s3cret", "user": "bob"}', '{"password": "[redacted]", "user": "bob"}'],
    ['export AWS_SECRET_ACCESS_KEY=abcd/efg', 'export AWS_SECRET_ACCESS_KEY=[redacted]'],
    ["apiKey='x y' z", "apiKey='[redacted]' z"],
    ['DB_PASS=xyz ok', 'DB_PASS=[redacted] ok'],
    ['run --password hunter2 --user x', 'run --password [redacted] --user x'],
    ['-----BEGIN RSA PRIVATE KEY-----\nMIIE\n-----END RSA PRIVATE KEY-----\nafter', '[redacted]\nafter'],
  ];
  for (const [text, expected] of cases) assert.equal(redactText(text), expected, text);
});

test('ordinary text with secret-like words is left alone', () => {
  const text = 'passing tests, token count 5, password reset requested';
  assert.equal(redactText(text), text);
});
