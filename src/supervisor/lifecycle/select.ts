/** The processes a list of program names selects, for the lifecycle steps (see ../select.ts). */
import { selectProcesses as select } from '../select.js';
import { qualifiedName, type ProcessInfo } from '../states.js';
import { UnknownProgram } from './errors.js';

/**
 * The processes `names` select, in supervisord's order, each once; no names selects every process (but the push listener).
 * Names that select nothing raise `UnknownProgram`, which lists the known ones.
 */
export function selectProcesses(infos: readonly ProcessInfo[], names: readonly string[]): ProcessInfo[] {
  const { selected, unknown } = select(infos, names);
  if (unknown.length > 0) throw new UnknownProgram(unknown, infos.map(qualifiedName));
  return selected;
}
