/**
 * Restarts a retried step does not repeat: the first attempt of a step that restarts programs keeps
 * how they stood (supervisord's clock and each pid: `restartMark.<step job id>` in the run record); an
 * attempt after a crash restarts only the programs not started again since (same pid, or not running). The restart itself is the lifecycle's (stops that
 * do not wait inside an XML-RPC call, however long `stopwaitsecs` is).
 */
import { contextOf, jobPidfile, withClient, type LifecycleOptions } from '../supervisor/lifecycle/context.js';
import type { LifecycleJob } from '../supervisor/lifecycle/job.js';
import { restartPrograms, startPrograms, type ProgramsResult } from '../supervisor/lifecycle/programs.js';
import { selectProcesses } from '../supervisor/lifecycle/select.js';
import { qualifiedName } from '../supervisor/states.js';
import type { RunStore } from './store.js';

/** Where a step's restart mark is kept. */
export interface RestartStep {
  store: RunStore;
  runId: string;
  /** The step job's id. */
  stepId: string;
}

/** How the programs stood when a step first restarted them: supervisord's clock (unix s) and pids. */
interface RestartMark {
  at: number;
  pids: Record<string, number>;
}

/** What a restart did: the lifecycle's result, and the programs an earlier attempt restarted already. */
export interface RestartResult extends ProgramsResult {
  skipped: string[];
}

/**
 * Restarts `programs` (every program when empty) once per step: programs an earlier attempt of the
 * step restarted already are only waited for (started if needed), not stopped again.
 */
export async function restartOnce(
  job: LifecycleJob,
  programs: readonly string[],
  step: RestartStep,
  options: LifecycleOptions = {},
): Promise<RestartResult> {
  const ctx = contextOf(options, job);
  const only = programs.length ? { programs } : {};
  // supervisord down: the lifecycle's restart says so
  if ((await jobPidfile(ctx, job)).kind !== 'running')
    return { ...(await restartPrograms(job, { ...options, ...only })), skipped: [] };
  const infos = await withClient(ctx, job, (client) => client.getAllProcessInfo());
  const selected = selectProcesses(infos, programs);
  const now: RestartMark = {
    at: infos[0]?.now ?? 0,
    pids: Object.fromEntries(selected.map((i) => [qualifiedName(i), i.pid])),
  };
  const mark = JSON.parse(
    await step.store.restartMark(step.runId, step.stepId, JSON.stringify(now)),
  ) as RestartMark;
  const done = selected
    .filter((i) => i.pid !== 0 && i.pid !== mark.pids[qualifiedName(i)] && i.start >= mark.at)
    .map(qualifiedName);
  if (done.length === 0) return { ...(await restartPrograms(job, { ...options, ...only })), skipped: [] };
  const pending = selected.map(qualifiedName).filter((name) => !done.includes(name));
  const result =
    pending.length === 0
      ? await startPrograms(job, { ...options, programs: done })
      : await restartPrograms(job, { ...options, programs: pending });
  return { ...result, skipped: done };
}
