/** Host key checks as OpenSSH does them, checked against ssh-keygen's own output and hashing. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  fingerprint,
  hostKeyAlgorithms,
  judgeHostKey,
  knownKeysFor,
} from '../../src/supervisor/host/known-hosts.js';
import { tempDir } from '../fixtures/tmp.js';

const run = promisify(execFile);

/** A fresh ed25519 public key: its type, base64 blob and ssh-keygen's fingerprint of it. */
async function newKey(dir: string, name: string) {
  const path = join(dir, name);
  await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', path]);
  const [type, base64] = (await readFile(`${path}.pub`, 'utf8')).trim().split(/\s+/) as [string, string];
  const printed = (await run('ssh-keygen', ['-l', '-E', 'sha256', '-f', `${path}.pub`])).stdout.split(' ')[1];
  return { type, base64, blob: Buffer.from(base64, 'base64'), printed, line: `${type} ${base64}` };
}

test('the fingerprint is the one ssh-keygen prints', async (t) => {
  const dir = await tempDir('kh-');
  t.after(() => dir.remove());
  const key = await newKey(dir.path, 'a');
  assert.equal(fingerprint(key.blob), key.printed);
});

test('entries match by name, [name]:port, pattern lists, wildcards and negations', async (t) => {
  const dir = await tempDir('kh-');
  t.after(() => dir.remove());
  const a = await newKey(dir.path, 'a');
  const b = await newKey(dir.path, 'b');
  const text = [
    '# a comment, then a blank line',
    '',
    `box.example ${a.line}`,
    `[box.example]:2222 ${b.line} comment here`,
    `one.example,two.example ${a.line}`,
    `*.fleet.example,!bad.fleet.example ${b.line}`,
    `@cert-authority *.example ${a.line}`,
  ].join('\n');
  const types = (host: string, port: number) =>
    knownKeysFor(text, host, port).map((k) => (k.key.equals(a.blob) ? 'a' : 'b'));
  assert.deepEqual(types('box.example', 22), ['a']);
  assert.deepEqual(types('BOX.example', 22), ['a'], 'names compare case-insensitively');
  assert.deepEqual(types('box.example', 2222), ['b'], 'a port other than 22 is written [name]:port');
  assert.deepEqual(types('two.example', 22), ['a']);
  assert.deepEqual(types('web-1.fleet.example', 22), ['b']);
  assert.deepEqual(types('bad.fleet.example', 22), [], 'a negated pattern excludes the line');
  assert.deepEqual(types('elsewhere.example', 22), [], 'certificate authorities are not host keys');
  assert.equal(knownKeysFor(text, 'box.example', 22)[0]?.line, 3);
});

test('hashed entries made by ssh-keygen -H match their name and port only', async (t) => {
  const dir = await tempDir('kh-');
  t.after(() => dir.remove());
  const a = await newKey(dir.path, 'a');
  const file = join(dir.path, 'known_hosts');
  await writeFile(file, `box.example ${a.line}\n[127.0.0.1]:2222 ${a.line}\n`);
  await run('ssh-keygen', ['-H', '-f', file]);
  const text = await readFile(file, 'utf8');
  assert.ok(
    text
      .split('\n')
      .filter(Boolean)
      .every((line) => line.startsWith('|1|')),
    'every name is hashed',
  );
  assert.equal(knownKeysFor(text, 'box.example', 22).length, 1);
  assert.equal(knownKeysFor(text, '127.0.0.1', 2222).length, 1);
  assert.equal(knownKeysFor(text, '127.0.0.1', 22).length, 0);
  assert.equal(knownKeysFor(text, 'other.example', 22).length, 0);
});

test('a key is a match, unknown, changed or revoked', async (t) => {
  const dir = await tempDir('kh-');
  t.after(() => dir.remove());
  const a = await newKey(dir.path, 'a');
  const b = await newKey(dir.path, 'b');
  const known = knownKeysFor(`box ${a.line}\n@revoked box ${b.line}\n`, 'box', 22);
  assert.equal(judgeHostKey(known, a.blob), 'match');
  assert.equal(judgeHostKey(known, b.blob), 'revoked');
  const other = await newKey(dir.path, 'c');
  assert.equal(judgeHostKey(known, other.blob), 'changed', 'a key listed for the host, but not this one');
  assert.equal(judgeHostKey([], other.blob), 'unknown');
});

test('the host key algorithms offered follow the key types known', () => {
  const entry = (keyType: string, revoked = false) => ({ keyType, key: Buffer.alloc(0), revoked, line: 1 });
  assert.deepEqual(hostKeyAlgorithms([entry('ssh-rsa'), entry('ssh-ed25519')]), [
    'rsa-sha2-512',
    'rsa-sha2-256',
    'ssh-rsa',
    'ssh-ed25519',
  ]);
  assert.deepEqual(
    hostKeyAlgorithms([entry('ecdsa-sha2-nistp256', true), entry('sk-ssh-ed25519@openssh.com')]),
    [],
  );
});
