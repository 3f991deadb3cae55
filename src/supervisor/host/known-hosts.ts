/**
 * Host key checks as OpenSSH does them: the `SHA256:…` fingerprint of a key, and the entries of a
 * known_hosts file that name a host (plain names, `[host]:port` for ports other than 22, hashed
 * `|1|salt|hash` entries, `*`/`?` wildcards and `!` negations, `@revoked` markers).
 */
import { createHash, createHmac } from 'node:crypto';

/** A key listed for a host in known_hosts. */
export interface KnownHostKey {
  /** e.g. `ssh-ed25519`. */
  keyType: string;
  /** The key blob (what the server sends). */
  key: Buffer;
  revoked: boolean;
  /** 1-based line number, for messages. */
  line: number;
}

/** What a known_hosts file says of an offered key. */
export type HostKeyVerdict = 'match' | 'unknown' | 'changed' | 'revoked';

/** OpenSSH's fingerprint of a key blob: `SHA256:` and the unpadded base64 of its SHA-256. */
export function fingerprint(key: Buffer): string {
  return `SHA256:${createHash('sha256').update(key).digest('base64').replace(/=+$/, '')}`;
}

/** The key type named at the start of a key blob (an SSH string), e.g. `ssh-ed25519`. */
export function keyTypeOf(key: Buffer): string {
  if (key.length < 4) return '';
  const length = key.readUInt32BE(0);
  return key.subarray(4, 4 + length).toString('latin1');
}

/** How `host` at `port` is written in known_hosts: `host`, or `[host]:port` when the port is not 22. */
export function hostEntryName(hostname: string, port: number): string {
  const host = hostname.toLowerCase();
  return port === 22 ? host : `[${host}]:${port}`;
}

/** The keys known_hosts `text` lists for `hostname` at `port` (certificate authorities are skipped). */
export function knownKeysFor(text: string, hostname: string, port: number): KnownHostKey[] {
  const name = hostEntryName(hostname, port);
  const found: KnownHostKey[] = [];
  text.split('\n').forEach((raw, index) => {
    const fields = raw.trim().split(/\s+/);
    if (fields[0] === undefined || fields[0] === '' || fields[0].startsWith('#')) return;
    let revoked = false;
    if (fields[0].startsWith('@')) {
      const marker = fields.shift();
      if (marker === '@cert-authority') return;
      revoked = marker === '@revoked';
      if (!revoked) return;
    }
    const [patterns, keyType, base64] = fields;
    if (patterns === undefined || keyType === undefined || base64 === undefined) return;
    if (!hostMatches(patterns, name)) return;
    found.push({ keyType, key: Buffer.from(base64, 'base64'), revoked, line: index + 1 });
  });
  return found;
}

/** The verdict on `offered` given the keys known for its host. */
export function judgeHostKey(known: readonly KnownHostKey[], offered: Buffer): HostKeyVerdict {
  if (known.some((entry) => entry.revoked && entry.key.equals(offered))) return 'revoked';
  const listed = known.filter((entry) => !entry.revoked);
  if (listed.some((entry) => entry.key.equals(offered))) return 'match';
  return listed.length === 0 ? 'unknown' : 'changed';
}

/** Host key algorithms ssh2 negotiates, by the key type known_hosts names. */
const ALGORITHMS_OF: Record<string, readonly string[]> = {
  'ssh-ed25519': ['ssh-ed25519'],
  'ecdsa-sha2-nistp256': ['ecdsa-sha2-nistp256'],
  'ecdsa-sha2-nistp384': ['ecdsa-sha2-nistp384'],
  'ecdsa-sha2-nistp521': ['ecdsa-sha2-nistp521'],
  'ssh-rsa': ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'],
  'ssh-dss': ['ssh-dss'],
};

/**
 * The host key algorithms to offer for the key types known: a server with several host keys then
 * shows the one known_hosts lists, as OpenSSH arranges. Empty when none is known.
 */
export function hostKeyAlgorithms(known: readonly KnownHostKey[]): string[] {
  const algorithms = new Set<string>();
  for (const { keyType, revoked } of known) {
    if (!revoked) ALGORITHMS_OF[keyType]?.forEach((algorithm) => algorithms.add(algorithm));
  }
  return [...algorithms];
}

/** Whether a comma-separated pattern list matches `name`: some pattern matches and no `!pattern` does. */
function hostMatches(patterns: string, name: string): boolean {
  if (patterns.startsWith('|1|')) return hashedMatches(patterns, name);
  let matched = false;
  for (const pattern of patterns.toLowerCase().split(',')) {
    const negated = pattern.startsWith('!');
    if (!wildcardMatches(negated ? pattern.slice(1) : pattern, name)) continue;
    if (negated) return false;
    matched = true;
  }
  return matched;
}

/** `|1|base64(salt)|base64(HMAC-SHA1(salt, name))`. */
function hashedMatches(entry: string, name: string): boolean {
  const [, , salt, hash] = entry.split('|');
  if (salt === undefined || hash === undefined) return false;
  const digest = createHmac('sha1', Buffer.from(salt, 'base64')).update(name).digest('base64');
  return digest === hash;
}

/** `*` any run of characters, `?` any one character; the whole name must match. */
function wildcardMatches(pattern: string, name: string): boolean {
  if (!pattern.includes('*') && !pattern.includes('?')) return pattern === name;
  // Iterative glob: linear in practice, no regex built from file input.
  let p = 0;
  let n = 0;
  let star = -1;
  let mark = 0;
  while (n < name.length) {
    if (p < pattern.length && (pattern[p] === '?' || pattern[p] === name[n])) {
      p++;
      n++;
    } else if (p < pattern.length && pattern[p] === '*') {
      star = p++;
      mark = n;
    } else if (star !== -1) {
      p = star + 1;
      n = ++mark;
    } else return false;
  }
  while (p < pattern.length && pattern[p] === '*') p++;
  return p === pattern.length;
}
