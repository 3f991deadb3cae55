// Hooks of the worker (examples/worker.yaml names this module): a function per hook point, with the
// run's context as an object. Resolving counts as success; throwing as failure (a before_* hook that
// throws fails the run). The same points as the job file's shell `hooks`; both run when both exist.
import { appendFile } from 'node:fs/promises';

/** @type {import('supervisor-triggerer').JobHooks} */
export default {
  async on_unhealthy({ job, runId, cycle, bad, message }) {
    // Replaces the default restart when it succeeds: here it only records, then asks for the
    // restart by failing.
    await appendFile(
      '/tmp/st-hooks.log',
      `${new Date().toISOString()} ${job} ${runId} cycle ${cycle}: ${message}\n`,
    );
    throw new Error(`recorded ${bad.join(', ')}: restart them`);
  },
  async on_end({ job, outcome }) {
    await appendFile(
      '/tmp/st-hooks.log',
      `${new Date().toISOString()} ${job} ended ${outcome.status}: ${outcome.message}\n`,
    );
  },
};
