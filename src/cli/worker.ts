/**
 * `supervisor-triggerer worker [--config FILE]`: runs the step jobs of the job runs of this machine
 * (queue `st-jobs.<hostname>`), and of the remote hosts it is told to reach over SSH, until
 * SIGTERM/SIGINT. Redis: the flag, $REDIS_URL, the config, else
 * the embedded redis of a running triggerer.
 */
import { parseArgs } from 'node:util';
import type { Logger } from 'pino';
import { loadHookModule } from '../jobs/hooks.js';
import { localJobHost, queueOf, sshJobHostName } from '../jobs/host.js';
import { MAX_TEARDOWN_RETRY_MS } from '../jobs/retries.js';
import { JobWorker } from '../jobs/worker.js';
import { closeSshHosts } from '../supervisor/host/shared.js';
import { loadWorkerConfig, parseWorkerConfig, type WorkerConfig } from '../jobs/worker-config.js';
import { createLogger } from '../triggerer/logger.js';
import { LOG_LEVELS } from '../triggerer/logger.js';
import { findRedisUrl, redactRedisUrl, redisConnection, releaseConnection } from '../redis/connection.js';
import type { ConnectionOptions } from 'bullmq';
import { durationFlag, positiveIntFlag, usageErrors } from './args.js';
import { EXIT_OK, UsageError, type CliIO } from './io.js';

const HELP = `usage: supervisor-triggerer worker [options]

Runs the steps of the always-on jobs of this machine (queue st-jobs.<hostname>): configure, start,
start-programs, watch (deferred to the triggerer), evaluate, restart, teardown. SIGTERM stops taking
steps; a step still running is finished by another worker, and no job is torn down.

options:
  --config FILE            worker config (YAML/JSON): redis_url, hooks, concurrency, lock_duration, ...
  --redis-url URL          default: $REDIS_URL, config, else the embedded redis of a running triggerer
  --state-dir DIR          where to find that embedded redis (default ~/.local/state/supervisor-triggerer)
  --hooks MODULE           TypeScript/JavaScript module exporting hooks by hook point
  --ssh-host HOST          also run the steps of jobs whose host: section names HOST, over SSH
                           (repeatable; added to the config's ssh_hosts). The job files and their
                           SSH keys must be readable here.
  --concurrency N          steps run at once (default 20)
  --lock-duration DUR      step lock (default 10s): a killed worker's step is retried about this long after
  --stalled-interval DUR   BullMQ stalled check period (default 2s)
  --close-grace DUR        on SIGTERM, how long steps in flight may finish (default 10s); the rest
                           are left to another worker
  --teardown-retry DUR     how long a teardown step that fails for a reason that may pass (the host
                           unreachable, a timeout) is tried again (default 10m, at most 1h); after
                           that the run ends failed (teardown)
  --log-level LEVEL        ${LOG_LEVELS.join(', ')} (default info)
`;

/** Runs the worker; resolves with the exit code after a signal stopped it. */
export async function run(args: string[], io: CliIO): Promise<number> {
  const { values } = usageErrors(() =>
    parseArgs({
      args,
      options: {
        config: { type: 'string' },
        'redis-url': { type: 'string' },
        'state-dir': { type: 'string' },
        hooks: { type: 'string' },
        concurrency: { type: 'string' },
        'ssh-host': { type: 'string', multiple: true },
        'lock-duration': { type: 'string' },
        'stalled-interval': { type: 'string' },
        'close-grace': { type: 'string' },
        'teardown-retry': { type: 'string' },
        'log-level': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }),
  );
  if (values.help) {
    io.stdout(HELP);
    return EXIT_OK;
  }
  const config = values.config ? await loadWorkerConfig(values.config) : parseWorkerConfig('');
  const level = values['log-level'] ?? config.log_level;
  if (!(LOG_LEVELS as readonly string[]).includes(level))
    throw new UsageError(`--log-level: unknown level '${level}'`);
  const logger = createLogger({ level: level as (typeof LOG_LEVELS)[number], name: 'worker' });
  const redisUrl = await findRedisUrl({
    url: values['redis-url'] ?? config.redis_url,
    env: io.env,
    stateDir: values['state-dir'],
  });
  const connection = redisConnection(redisUrl);
  let worker: JobWorker | undefined;
  try {
    worker = await startWorker(connection, logger, {
      ...config,
      ...(values.hooks !== undefined && { hooks: values.hooks }),
      ssh_hosts: [...config.ssh_hosts, ...(values['ssh-host'] ?? [])],
      ...(values.concurrency !== undefined && {
        concurrency: positiveIntFlag('--concurrency', values.concurrency),
      }),
      ...(values['lock-duration'] !== undefined && {
        lock_duration: durationFlag('--lock-duration', values['lock-duration']),
      }),
      ...(values['stalled-interval'] !== undefined && {
        stalled_interval: durationFlag('--stalled-interval', values['stalled-interval']),
      }),
      ...(values['close-grace'] !== undefined && {
        close_grace: durationFlag('--close-grace', values['close-grace']),
      }),
      ...(values['teardown-retry'] !== undefined && {
        teardown_retry: teardownRetry(values['teardown-retry']),
      }),
    });
    logger.info({ redis: redactRedisUrl(redisUrl), queues: worker.queueNames }, 'worker ready');
    logger.info({ signal: await waitForSignal() }, 'stopping');
    return EXIT_OK;
  } finally {
    await worker?.close();
    await releaseConnection(connection);
    // The SSH connections of remote jobs would keep the process alive.
    closeSshHosts();
  }
}

/** Builds and starts a worker from its config (the `worker` command and `triggerer --worker`). */
export async function startWorker(
  connection: ConnectionOptions,
  logger: Logger,
  config: WorkerConfig,
): Promise<JobWorker> {
  const hooks = config.hooks === undefined ? undefined : await loadHookModule(config.hooks);
  const worker = new JobWorker({
    connection,
    queues: [
      queueOf(localJobHost()),
      ...config.ssh_hosts.map((host) => queueOf({ name: sshJobHostName(host) })),
    ],
    concurrency: config.concurrency,
    lockDurationMs: config.lock_duration,
    stalledIntervalMs: config.stalled_interval,
    heartbeatIntervalMs: config.heartbeat_interval,
    closeGraceMs: config.close_grace,
    teardownRetryMs: config.teardown_retry,
    logger,
    ...(hooks && { hooks }),
  });
  await worker.start();
  return worker;
}

/** Reads a worker config file for `triggerer --worker` (defaults without one). */
export async function workerConfigOf(path: string | undefined): Promise<WorkerConfig> {
  return path === undefined ? parseWorkerConfig('') : loadWorkerConfig(path);
}

function waitForSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const on = (signal: NodeJS.Signals) => {
      process.removeListener('SIGINT', on);
      process.removeListener('SIGTERM', on);
      process.once('SIGINT', () => process.exit(130));
      process.once('SIGTERM', () => process.exit(130));
      resolve(signal);
    };
    process.on('SIGINT', on);
    process.on('SIGTERM', on);
  });
}

function teardownRetry(text: string): number {
  const ms = durationFlag('--teardown-retry', text);
  if (ms > MAX_TEARDOWN_RETRY_MS) throw new UsageError(`--teardown-retry: at most 1h, got '${text}'`);
  return ms;
}
