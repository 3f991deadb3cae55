/**
 * Restarting only the programs that need it (FATAL, BACKOFF, EXITED with an unexpected code): the
 * healthy ones keep running, pids and all. Each is stopped if it still runs, then started without
 * waiting in the call; the next watch judges how it comes up.
 */
import { isFault } from '../supervisor/errors.js';
import { contextOf, jobPidfile, withClient, type LifecycleOptions } from '../supervisor/lifecycle/context.js';
import { SupervisordNotRunning } from '../supervisor/lifecycle/errors.js';
import type { LifecycleJob } from '../supervisor/lifecycle/job.js';

/** What a named restart did: the programs started, and those supervisord refused (with why). */
export interface NamedRestart {
  started: string[];
  refused: { name: string; why: string }[];
}

/** Stops (if needed) and starts each of `names` (`group:name`). */
export async function restartNamed(
  job: LifecycleJob,
  names: readonly string[],
  options: LifecycleOptions = {},
): Promise<NamedRestart> {
  const ctx = contextOf(options);
  if ((await jobPidfile(ctx, job)).kind !== 'running') {
    throw new SupervisordNotRunning(
      `supervisord of ${job.configPath} is not running: cannot restart programs`,
    );
  }
  return withClient(ctx, job, async (client) => {
    const result: NamedRestart = { started: [], refused: [] };
    for (const name of names) {
      try {
        await client.stopProcess(name, true);
      } catch (error) {
        if (!isFault(error, 'NOT_RUNNING')) throw error;
      }
      try {
        await client.startProcess(name, false);
        result.started.push(name);
      } catch (error) {
        // SPAWN_ERROR shows in the process's state, which the next watch reads; ALREADY_STARTED is fine
        if (isFault(error, 'ALREADY_STARTED') || isFault(error, 'SPAWN_ERROR')) result.started.push(name);
        else if (isFault(error, 'NO_FILE') || isFault(error, 'NOT_EXECUTABLE') || isFault(error, 'BAD_NAME'))
          result.refused.push({ name, why: (error as Error).message });
        else throw error;
      }
    }
    return result;
  });
}
