import { map, type OperatorFunction } from 'rxjs';
import type { ProcessInfo } from '../../supervisor/states.js';
import { TriggererError } from '../errors.js';

/** A program name in a trigger's kwargs names no process of the supervisord being watched. */
export class UnknownProgramError extends TriggererError {
  override name = 'UnknownProgramError';
  constructor(
    /** The names that matched nothing. */
    readonly programs: string[],
    /** The qualified names that exist, for the message. */
    readonly known: string[],
  ) {
    super(
      `unknown program${programs.length > 1 ? 's' : ''} ${programs.map((p) => `"${p}"`).join(', ')}` +
        ` (supervisord has: ${known.length ? known.join(', ') : 'no programs'})`,
    );
  }
}

/**
 * The processes that `specs` name, in snapshot order, each once. A spec is `group:name`, `group:*`,
 * or `name`, which means `name:name` as in supervisord and otherwise any process called `name`. No
 * specs means every process. Throws {@link UnknownProgramError} naming every spec that matches nothing.
 */
export function selectPrograms(infos: readonly ProcessInfo[], specs: readonly string[]): ProcessInfo[] {
  if (specs.length === 0) return [...infos];
  if (specs.length === 1) {
    // The common case (one program per trigger, each snapshot for thousands of watchers): one spec's
    // matches are already in snapshot order, each once.
    const matches = matchSpec(infos, specs[0] ?? '');
    if (matches.length > 0) return matches;
  }
  const chosen = new Set<ProcessInfo>();
  const missing: string[] = [];
  for (const spec of specs) {
    const matches = matchSpec(infos, spec);
    if (matches.length === 0) missing.push(spec);
    for (const info of matches) chosen.add(info);
  }
  if (missing.length > 0) {
    throw new UnknownProgramError(
      missing,
      infos.map((i) => `${i.group}:${i.name}`),
    );
  }
  return infos.filter((info) => chosen.has(info));
}

function matchSpec(infos: readonly ProcessInfo[], spec: string): ProcessInfo[] {
  const colon = spec.indexOf(':');
  if (colon >= 0) {
    const group = spec.slice(0, colon);
    const name = spec.slice(colon + 1);
    return infos.filter((i) => i.group === group && (name === '*' || name === '' || i.name === name));
  }
  const own = infos.filter((i) => i.group === spec && i.name === spec);
  return own.length > 0 ? own : infos.filter((i) => i.name === spec);
}

/**
 * Narrows each `getAllProcessInfo` snapshot to the watched programs; errors with
 * {@link UnknownProgramError} on the first snapshot that lacks a named program.
 *
 * @example specs ['web', 'workers:*']
 * ```
 * source  [web, db, workers:a, workers:b]-[db]
 * output  [web, workers:a, workers:b]-----#   (UnknownProgramError: "web", "workers:*")
 * ```
 */
export function toProgramStates(specs: readonly string[]): OperatorFunction<ProcessInfo[], ProcessInfo[]> {
  return map((infos) => selectPrograms(infos, specs));
}
