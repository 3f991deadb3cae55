/**
 * `supervisor-triggerer defer --classpath C --kwargs JSON [--id ID] [--timeout 10m] [--wait]`:
 * enqueues a trigger from any language's task. Prints the trigger id, or with --wait the id on stderr,
 * then the TriggerEvent as JSON with the exit code of its status: 0 fired, 3 timeout, 1 failed, 4
 * cancelled.
 */
import { parseArgs } from 'node:util';
import { defer, InvalidDeferral } from '../client/index.js';
import {
  durationFlag,
  printEventWhenFinished,
  REDIS_FLAGS,
  REDIS_HELP,
  redisUrlOf,
  usageErrors,
} from './args.js';
import { EXIT_OK, UsageError, type CliIO } from './io.js';

export { EXIT_BY_STATUS } from './args.js';

/** How long `--wait` keeps waiting past the deadline for a triggerer to commit the timeout event. */
const DEADLINE_GRACE_MS = 60_000;

const HELP = `usage: supervisor-triggerer defer --classpath C [--kwargs JSON] [options]

Prints the trigger id. With --wait it prints the id on stderr, waits, then prints the event as one
JSON line on stdout and exits 0 fired, 3 timeout, 1 failed, 4 cancelled.

options:
  --classpath C          trigger definition, e.g. supervisor.ProgramStateTrigger
  --kwargs JSON          the trigger's arguments as a JSON object (default {})
  --id ID                trigger id (default: a UUID); deferring an existing id is a no-op
  --timeout DUR          deadline from now (10m, 30s, 1h30m): the trigger fires 'timeout' then
  --wait                 wait for the event (see above)
  --wait-timeout DUR     give up waiting after DUR (exit 3; the trigger keeps running)
${REDIS_HELP}`;

/** Runs `defer`. */
export async function run(args: string[], io: CliIO): Promise<number> {
  const values = parseCli(args);
  if (values.help) {
    io.stdout(HELP);
    return EXIT_OK;
  }
  if (!values.classpath) throw new UsageError('--classpath is required');
  let kwargs: unknown = {};
  if (values.kwargs !== undefined) {
    try {
      kwargs = JSON.parse(values.kwargs);
    } catch {
      throw new UsageError('--kwargs: not JSON');
    }
    if (kwargs === null || typeof kwargs !== 'object' || Array.isArray(kwargs)) {
      throw new UsageError('--kwargs: expected a JSON object');
    }
  }
  const waitTimeout =
    values['wait-timeout'] === undefined ? undefined : durationFlag('--wait-timeout', values['wait-timeout']);
  const connection = await redisUrlOf(values, io);
  let deferred;
  try {
    deferred = await defer(
      { classpath: values.classpath, kwargs: kwargs as Record<string, unknown> },
      { connection, id: values.id, timeout: values.timeout },
    );
  } catch (error) {
    if (error instanceof InvalidDeferral) throw new UsageError(error.message);
    throw error;
  }
  if (!values.wait) {
    io.stdout(`${deferred.triggerId}\n`);
    return EXIT_OK;
  }
  const deadline = deferred.record.deadline === undefined ? undefined : Date.parse(deferred.record.deadline);
  const untilDeadline =
    deadline === undefined ? undefined : Math.max(0, deadline - Date.now()) + DEADLINE_GRACE_MS;
  const timeout = [waitTimeout, untilDeadline].filter((t) => t !== undefined).sort((a, b) => a - b)[0];
  io.stderr(`supervisor-triggerer defer: waiting for the event of trigger '${deferred.triggerId}'\n`);
  return printEventWhenFinished('defer', deferred.triggerId, connection, timeout, io);
}

function parseCli(args: string[]) {
  return usageErrors(() =>
    parseArgs({
      args,
      options: {
        classpath: { type: 'string' },
        kwargs: { type: 'string' },
        id: { type: 'string' },
        timeout: { type: 'string' },
        wait: { type: 'boolean' },
        'wait-timeout': { type: 'string' },
        ...REDIS_FLAGS,
      },
      strict: true,
      allowPositionals: false,
    }),
  ).values;
}
