/**
 * Which processes a list of program names means, the way supervisorctl reads `name`, `group:name` and
 * `group:*`: one rule for the CLI's steps and for the triggers that watch programs.
 */
import { PUSH_LISTENER_NAME } from '../push/listener-script.js';
import type { ProcessInfo } from './states.js';

/** What a list of names selects: the processes, and the names that selected nothing. */
export interface Selection {
  /** In the snapshot's order, each once. */
  selected: ProcessInfo[];
  unknown: string[];
}

/**
 * The processes `names` select; no names selects every process but the push listener (it is
 * machinery, not a program of the job: "all programs done" must not wait for it, nor a stop of every
 * program stop it; naming it selects it). `group:*` (or `group:`) is every
 * process of the group and `group:name` one process. A bare `name` is the process `name:name`, else
 * every process called `name` (a program inside a `[group]`), else every process of the group `name`
 * (a program with `numprocs`).
 */
export function selectProcesses(infos: readonly ProcessInfo[], names: readonly string[]): Selection {
  if (names.length === 0) return { selected: infos.filter(isProgram), unknown: [] };
  if (names.length === 1) {
    // The common case (one program per trigger, each snapshot for thousands of watchers): one name's
    // matches are already in snapshot order, each once.
    const selected = matching(infos, names[0] ?? '');
    return selected.length > 0 ? { selected, unknown: [] } : { selected, unknown: [...names] };
  }
  const chosen = new Set<ProcessInfo>();
  const unknown: string[] = [];
  for (const name of names) {
    const found = matching(infos, name);
    if (found.length === 0) unknown.push(name);
    for (const info of found) chosen.add(info);
  }
  return { selected: infos.filter((info) => chosen.has(info)), unknown };
}

const isProgram = (info: ProcessInfo) => info.group !== PUSH_LISTENER_NAME;

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
