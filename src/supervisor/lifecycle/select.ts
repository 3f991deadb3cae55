/** Which processes a list of program names means, the way supervisorctl reads `name`, `group:name`, `group:*`. */
import { qualifiedName, type ProcessInfo } from '../states.js';
import { UnknownProgram } from './errors.js';

/**
 * The processes `names` select, in supervisord's order, each once; no names selects every process.
 * `group:*` (or `group:`) is every process of the group and `group:name` one process. A bare `name` is
 * the process `name:name`, else every process called `name` (a program inside a `[group]`), else every
 * process of the group `name` (a program with `numprocs`). Names that select nothing raise
 * `UnknownProgram`, which lists the known ones.
 */
export function selectProcesses(infos: readonly ProcessInfo[], names: readonly string[]): ProcessInfo[] {
  if (names.length === 0) return [...infos];
  const chosen = new Set<ProcessInfo>();
  const unknown: string[] = [];
  for (const name of names) {
    const found = matching(infos, name);
    if (found.length === 0) unknown.push(name);
    for (const info of found) chosen.add(info);
  }
  if (unknown.length > 0) throw new UnknownProgram(unknown, infos.map(qualifiedName));
  return infos.filter((info) => chosen.has(info));
}

function matching(infos: readonly ProcessInfo[], name: string): ProcessInfo[] {
  const colon = name.indexOf(':');
  if (colon !== -1) {
    const group = name.slice(0, colon);
    const process = name.slice(colon + 1);
    return infos.filter(
      (i) => i.group === group && (process === '*' || process === '' || i.name === process),
    );
  }
  for (const test of [
    (i: ProcessInfo) => i.group === name && i.name === name,
    (i: ProcessInfo) => i.name === name,
    (i: ProcessInfo) => i.group === name,
  ]) {
    const found = infos.filter(test);
    if (found.length > 0) return found;
  }
  return [];
}
