/** What the supervisor triggers report about programs, and how a cancel stops them. */
import type { Logger } from 'pino';
import type { SupervisorClient } from '../src/supervisor/client.js';
import { isFault } from '../src/supervisor/errors.js';
import { isStopped, qualifiedName, type ProcessInfo } from '../src/supervisor/states.js';
import { selectPrograms } from '../src/triggerer/operators/to-program-states.js';

/** The part of a process's info a trigger's payload carries. */
export interface ProgramSummary {
  name: string;
  group: string;
  statename: string;
  exitstatus: number;
}

/** The payload entry of one process. */
export function summarize(info: ProcessInfo): ProgramSummary {
  return { name: info.name, group: info.group, statename: info.statename, exitstatus: info.exitstatus };
}

/** A stop waits up to stopwaitsecs (10 s by default, often more) before supervisord answers. */
const STOP_TIMEOUT_MS = 120_000;

/**
 * Stops every watched process that is not stopped yet and waits until each is, so a cancelled task
 * leaves no program running. Specs naming nothing are skipped; NOT_RUNNING (it stopped meanwhile) is fine.
 */
export async function stopWatchedPrograms(
  client: SupervisorClient,
  specs: readonly string[],
  logger?: Logger,
): Promise<string[]> {
  const infos = await client.getAllProcessInfo();
  const known = specs.filter((spec) => {
    try {
      selectPrograms(infos, [spec]);
      return true;
    } catch {
      logger?.warn({ program: spec }, 'on cancel: no such program to stop');
      return false;
    }
  });
  if (specs.length > 0 && known.length === 0) return [];
  const targets = selectPrograms(infos, known)
    .filter((info) => !isStopped(info))
    .map(qualifiedName);
  const results = await Promise.allSettled(
    targets.map((name) =>
      client.stopProcess(name, true, { timeoutMs: STOP_TIMEOUT_MS }).catch((error: unknown) => {
        if (!isFault(error, 'NOT_RUNNING')) throw error;
      }),
    ),
  );
  const failures = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
  if (failures.length > 0) {
    throw new AggregateError(
      failures,
      `on cancel: could not stop ${failures.length} of ${targets.length} programs`,
    );
  }
  logger?.info({ programs: targets }, 'on cancel: stopped programs');
  return targets;
}
