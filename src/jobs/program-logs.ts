/**
 * A run notes the logs of the programs that made it act, so `job logs NAME` and `job status` say why:
 * those an ended watch's event carries, and those of programs that failed to start (read from their
 * supervisord as the step sees the failure).
 */
import { programLogsText } from '../client/log-text.js';
import { programLogs, type EventLogTail, type ProgramLogs, type TriggerEvent } from '../protocol/index.js';
import type { ResolvedJob } from '../config/convenience.js';
import { tailProgramLog } from '../supervisor/lifecycle/logs.js';
import type { LifecycleOptions } from '../supervisor/lifecycle/context.js';
import { redactText } from '../util/redact-text.js';
import type { StepContext } from './step-context.js';

/** Characters of one program's logs noted in the run's events (their end: the latest lines). */
const NOTED_LOG_CHARS = 3000;
/** Lines of each log read for a program that failed to start. */
const FAILED_START_LINES = 20;

/** Notes the program logs an ended watch's event carries, one run event per program. */
export async function noteEventLogs(ctx: StepContext, event: TriggerEvent): Promise<void> {
  for (const [name, logs] of Object.entries(programLogs(event))) {
    await noteLogs(ctx, name, logs, 'when the watch ended');
  }
}

/** Notes the stdout and stderr tails of programs that failed to start (a log not read says why). */
export async function noteFailedStartLogs(
  ctx: StepContext,
  job: ResolvedJob,
  programs: readonly string[],
  lifecycle: LifecycleOptions,
): Promise<void> {
  const secrets = [job.endpoint.password];
  for (const name of programs) {
    const logs: ProgramLogs = {};
    for (const channel of ['stdout', 'stderr'] as const) {
      logs[channel] = await tailProgramLog(job, name, {
        ...lifecycle,
        channel,
        lines: FAILED_START_LINES,
      }).then(
        (end): EventLogTail => ({ text: redactText(end.text, secrets) }),
        (error: unknown): EventLogTail => ({
          error: redactText(`could not read the ${channel} log: ${(error as Error).message}`, secrets).slice(
            0,
            500,
          ),
        }),
      );
    }
    await noteLogs(ctx, name, logs, 'when it failed to start');
  }
}

async function noteLogs(ctx: StepContext, name: string, logs: ProgramLogs, when: string): Promise<void> {
  const text = programLogsText(name, logs).join('\n');
  const kept = text.length <= NOTED_LOG_CHARS ? text : `…${text.slice(-NOTED_LOG_CHARS)}`;
  await ctx.note(`logs of ${name} ${when}:\n${kept}`);
}
