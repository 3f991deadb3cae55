/**
 * `supervisor-triggerer cancel ID [--reason R] [--wait]`: cancels a trigger from any shell. The
 * triggerer holding it runs its onCancel and completes it with `status: cancelled`; a waiting one is
 * cancelled by the first triggerer that claims it. Exit 1 for an unknown or already finished trigger.
 */
import { parseArgs } from 'node:util';
import { cancel, TriggerAlreadyFinished, TriggerNotFound } from '../client/index.js';
import {
  durationFlag,
  printEventWhenFinished,
  REDIS_FLAGS,
  REDIS_HELP,
  redisUrlOf,
  usageErrors,
} from './args.js';
import { EXIT_FAILED, EXIT_OK, UsageError, type CliIO } from './io.js';

const HELP = `usage: supervisor-triggerer cancel ID [options]

Cancels a trigger: its triggerer runs the trigger's onCancel (e.g. on_cancel: stop_programs) and its
continuation runs with status 'cancelled'. A waiting trigger is cancelled when a triggerer claims it.

options:
  --reason TEXT          why (in the event's payload.reason)
  --wait                 wait for the trigger's event and print it as JSON (exit 4 when cancelled)
  --wait-timeout DUR     give up waiting after DUR (exit 3)
${REDIS_HELP}`;

/** Runs `cancel`. */
export async function run(args: string[], io: CliIO): Promise<number> {
  const { values, positionals } = parseCli(args);
  if (values.help) {
    io.stdout(HELP);
    return EXIT_OK;
  }
  const [triggerId, ...extra] = positionals;
  if (triggerId === undefined) throw new UsageError('a trigger id is required');
  if (extra.length > 0) throw new UsageError(`unexpected argument '${extra[0] ?? ''}'`);
  const waitTimeout =
    values['wait-timeout'] === undefined ? undefined : durationFlag('--wait-timeout', values['wait-timeout']);
  const connection = await redisUrlOf(values, io);
  let state: string;
  try {
    ({ state } = await cancel(triggerId, { connection, reason: values.reason }));
  } catch (error) {
    if (error instanceof TriggerNotFound || error instanceof TriggerAlreadyFinished) {
      io.stderr(`supervisor-triggerer cancel: ${error.message}\n`);
      return EXIT_FAILED;
    }
    throw error;
  }
  if (!values.wait) {
    const when =
      state === 'active' ? 'its triggerer is stopping it' : 'the first triggerer to claim it cancels it';
    io.stdout(`cancel requested for trigger '${triggerId}' (${state}: ${when})\n`);
    return EXIT_OK;
  }
  return printEventWhenFinished('cancel', triggerId, connection, waitTimeout, io);
}

function parseCli(args: string[]) {
  return usageErrors(() =>
    parseArgs({
      args,
      options: {
        reason: { type: 'string' },
        wait: { type: 'boolean' },
        'wait-timeout': { type: 'string' },
        ...REDIS_FLAGS,
      },
      strict: true,
      allowPositionals: true,
    }),
  );
}
