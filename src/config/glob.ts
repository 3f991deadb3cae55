/**
 * The file patterns of an `[include] files=` line, matched as supervisord matches them (Python's
 * `glob.glob`): `*`, `?` and `[...]` within one path segment, hidden names only by a pattern that
 * starts with a dot, results sorted.
 */
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';

const MAGIC = /[*?[]/;

/** fnmatch's translation of one segment into a regular expression. */
function segmentRegExp(segment: string): RegExp {
  let out = '';
  for (let i = 0; i < segment.length; i++) {
    const ch = segment[i]!;
    if (ch === '*') out += '.*';
    else if (ch === '?') out += '.';
    else if (ch === '[') {
      const end = segment.indexOf(']', i + 2);
      if (end === -1) out += '\\[';
      else {
        let set = segment.slice(i + 1, end).replace(/\\/g, '\\\\');
        if (set.startsWith('!')) set = `^${set.slice(1)}`;
        out += `[${set}]`;
        i = end;
      }
    } else out += ch.replace(/[.+^${}()|\\\]]/g, '\\$&');
  }
  return new RegExp(`^${out}$`, 's');
}

async function isFile(path: string): Promise<boolean> {
  return stat(path).then(
    (info) => info.isFile(),
    () => false,
  );
}

/** The files an absolute pattern matches now, sorted. */
export async function globFiles(pattern: string): Promise<string[]> {
  const segments = pattern.split('/').filter((segment) => segment !== '');
  let candidates = ['/'];
  for (const segment of segments) {
    if (!MAGIC.test(segment)) {
      candidates = candidates.map((dir) => join(dir, segment));
      continue;
    }
    const matcher = segmentRegExp(segment);
    const next: string[] = [];
    for (const dir of candidates) {
      const names = await readdir(dir).catch(() => [] as string[]);
      for (const name of names) {
        if (name.startsWith('.') && !segment.startsWith('.')) continue;
        if (matcher.test(name)) next.push(join(dir, name));
      }
    }
    candidates = next;
  }
  const files: string[] = [];
  for (const path of candidates) if (await isFile(path)) files.push(path);
  return files.sort();
}
