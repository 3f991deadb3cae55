/**
 * Errors of the always-on jobs. Each extends `JobRunError` and says what is wrong and what to do, so
 * the CLI prints the message as is.
 */

/** Base class of every error the jobs layer raises on purpose. */
export class JobRunError extends Error {
  override name = 'JobRunError';
}

/** A `job start` of a job that has an active run; `runId` is that run. */
export class JobAlreadyRunning extends JobRunError {
  override name = 'JobAlreadyRunning';
  constructor(
    readonly job: string,
    readonly runId: string,
  ) {
    super(`job ${job} is already running: run ${runId} (stop it first with 'job stop ${job}')`);
  }
}

/** A command that needs an active run found none. */
export class JobNotRunning extends JobRunError {
  override name = 'JobNotRunning';
  constructor(readonly job: string) {
    super(`job ${job} is not running`);
  }
}

/** No job of that name was ever started here. */
export class UnknownJob extends JobRunError {
  override name = 'UnknownJob';
  constructor(readonly job: string) {
    super(`no job named ${job}: start it with 'job start JOBFILE'`);
  }
}

/** No live worker serves the queue a job's steps go to. */
export class NoWorker extends JobRunError {
  override name = 'NoWorker';
  constructor(
    readonly queue: string,
    readonly host: string,
  ) {
    super(
      `no worker serves ${queue}: start 'supervisor-triggerer worker' (or scripts/start) on ${host}, ` +
        `then start the job again`,
    );
  }
}

/** A step job whose data is not a run of this version. */
export class InvalidRunData extends JobRunError {
  override name = 'InvalidRunData';
}

/** A hook module named in the worker's config that cannot be used. */
export class InvalidHookModule extends JobRunError {
  override name = 'InvalidHookModule';
}
