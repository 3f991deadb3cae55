import { map, type OperatorFunction } from 'rxjs';
import { selectProcesses } from '../../supervisor/select.js';
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
 * The processes that `specs` name (supervisorctl's rule: src/supervisor/select.ts), in snapshot
 * order, each once; no specs means every process. Throws {@link UnknownProgramError} naming every
 * spec that matches nothing.
 */
export function selectPrograms(infos: readonly ProcessInfo[], specs: readonly string[]): ProcessInfo[] {
  const { selected, unknown } = selectProcesses(infos, specs);
  if (unknown.length > 0)
    throw new UnknownProgramError(
      unknown,
      infos.map((i) => `${i.group}:${i.name}`),
    );
  return selected;
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
