/** `supervisor-triggerer supervisor` (not implemented yet). */
import { EXIT_USAGE, type CliIO } from './io.js';

export async function run(_args: string[], io: CliIO): Promise<number> {
  io.stderr('supervisor: not implemented yet\n');
  return EXIT_USAGE;
}
