/**
 * `supervisor-triggerer triggerer [--config FILE]`: runs the daemon until SIGTERM/SIGINT. Without a
 * Redis URL (flag, $REDIS_URL, config) it starts its own redis-server in the state directory.
 */
import { constants, getPriority, setPriority } from 'node:os';
import { parseArgs } from 'node:util';
import { TriggerRegistry } from '../../triggers/index.js';
import { closeSshHosts } from '../supervisor/host/shared.js';
import { JobEndpoints } from '../jobs/endpoints.js';
import type { JobWorker } from '../jobs/worker.js';
import { ConnectionResolver } from '../triggerer/connections.js';
import { Triggerer } from '../triggerer/daemon.js';
import { startEmbeddedRedis, type EmbeddedRedis } from '../redis/embedded.js';
import { DEFAULT_METRICS_PORT } from '../triggerer/options.js';
import { HealthServerError } from '../triggerer/http.js';
import { createLogger, LOG_LEVELS } from '../triggerer/logger.js';
import { loadTriggererConfig, parseTriggererConfig } from '../triggerer/config-file.js';
import {
  defaultStateDir,
  readRedisUrlFile,
  redactRedisUrl,
  redisConnection,
  releaseConnection,
} from '../redis/connection.js';
import { RedisCall } from '../client/connection.js';
import { EXIT_OK, UsageError, type CliIO } from './io.js';
import { durationFlag, positiveIntFlag, usageErrors } from './args.js';
import { loadStatusToken, statusPage } from '../web/index.js';

const HELP = `usage: supervisor-triggerer triggerer [options]

Runs the triggerer: claims trigger records from the 'triggers' queue and completes each with its event.

options:
  --config FILE            triggerer config (YAML/JSON): redis_url, capacity, plugins, connections, ...
  --redis-url URL          redis://, rediss:// or unix:// (default: $REDIS_URL, config, else embedded);
                           seen by other users in 'ps': with a password use --redis-url-file or $REDIS_URL
  --redis-url-file FILE    read the Redis URL from the first line of FILE
  --capacity N             triggers watched at once (default 1000)
  --plugin PATH            extra trigger module (repeatable; added to the config's plugins)
  --state-dir DIR          where the embedded redis lives (default ~/.local/state/supervisor-triggerer)
  --lock-duration DUR      BullMQ job lock (default 6s); failover <= lock-duration + stalled-interval
  --stalled-interval DUR   BullMQ stalled check period (default 1.5s)
  --log-level LEVEL        ${LOG_LEVELS.join(', ')} (default info)
  --metrics-port N|none    serve /metrics /healthz /readyz on port N (default 9464; 0: any free
                           port, logged; none: off)
  --metrics-host ADDR      address of that server (default 127.0.0.1; 0.0.0.0 in a container); it
                           also serves the status page at / (status_page: false in the config: off)
  --worker                 also run a job step worker in this process (what scripts/start does)
  --worker-config FILE     that worker's config (see 'worker --help')
`;

/** Runs the daemon; resolves with the exit code after a signal stopped it. */
export async function run(args: string[], io: CliIO): Promise<number> {
  const { values } = parseCli(args);
  if (values.help) {
    io.stdout(HELP);
    return EXIT_OK;
  }
  const config = values.config ? await loadTriggererConfig(values.config) : parseTriggererConfig('');
  const level = values['log-level'] ?? config.log_level;
  if (!(LOG_LEVELS as readonly string[]).includes(level))
    throw new UsageError(`--log-level: unknown level '${level}'`);
  const logger = createLogger({ level: level as (typeof LOG_LEVELS)[number] });
  const stateDir = values['state-dir'] ?? config.state_dir ?? defaultStateDir(io.env);
  let embedded: EmbeddedRedis | undefined;
  if (values['redis-url'] !== undefined && values['redis-url-file'] !== undefined)
    throw new UsageError('give --redis-url or --redis-url-file, not both');
  const file = values['redis-url-file'];
  const fromFile = file === undefined ? undefined : await readRedisUrlFile(file);
  let redisUrl = values['redis-url'] ?? fromFile ?? io.env.REDIS_URL ?? config.redis_url;
  if (!redisUrl) {
    embedded = await startEmbeddedRedis(stateDir);
    redisUrl = embedded.url;
    logger.info({ url: redisUrl, redisPid: embedded.pid, reused: !embedded.owned }, 'embedded redis');
  }
  const connection = redisConnection(redisUrl);
  let triggerer: Triggerer | undefined;
  let endpoints: JobEndpoints | undefined;
  let worker: JobWorker | undefined;
  try {
    // A Redis that does not answer fails the start in one line, instead of a worker that waits for
    // it forever (BullMQ retries without end).
    await RedisCall.run(redisUrl, async (call) => void (await call.redis().ping()));
    const registry = await TriggerRegistry.withPlugins([...config.plugins, ...(values.plugin ?? [])]);
    const connections = await ConnectionResolver.create({ connections: config.connections, env: io.env });
    const port = metricsPort(values['metrics-port'] ?? config.metrics_port);
    // The page only where the server runs; its token is read now, so a bad one stops the start.
    const page =
      port !== null && config.status_page
        ? statusPage({
            token: await loadStatusToken({ file: config.status_token_file, env: io.env }),
            logger,
          })
        : undefined;
    // the endpoints of the jobs' watches are resolved from the job files their workers registered
    endpoints = new JobEndpoints(connections, { connection, env: io.env });
    triggerer = new Triggerer({
      connection,
      registry,
      endpoints,
      capacity:
        values.capacity === undefined ? config.capacity : positiveIntFlag('--capacity', values.capacity),
      lockDurationMs:
        values['lock-duration'] === undefined
          ? config.lock_duration
          : durationFlag('--lock-duration', values['lock-duration']),
      stalledIntervalMs:
        values['stalled-interval'] === undefined
          ? config.stalled_interval
          : durationFlag('--stalled-interval', values['stalled-interval']),
      defaultIntervalMs: config.default_interval,
      crashResetMs: config.crash_reset_after,
      sharePollers: config.share_pollers,
      logger,
      metricsPort: port,
      metricsHost: values['metrics-host'] ?? config.metrics_host,
      ...(page && { statusPage: page }),
      heartbeatIntervalMs: config.heartbeat_interval,
      onOffered: () => logger.info({ nice: yieldCpu() }, 'hand-off offered; giving way on the CPU'),
    });
    const stop = waitForSignal();
    const started = triggerer.start().then(
      () => undefined,
      (error: unknown) => {
        throw metricsPortHint(error);
      },
    );
    // A signal while starting stops it too (the close below hands back what was claimed).
    const early = await Promise.race([started, stop]);
    if (early !== undefined) {
      started.catch(() => undefined); // the close below ends it either way
      logger.info({ signal: early }, 'stopping before the triggerer was ready');
      return EXIT_OK;
    }
    logger.info({ redis: redactRedisUrl(redisUrl), classpaths: registry.classpaths() }, 'triggerer ready');
    if (values.worker) {
      const { startWorker, workerConfigOf } = await import('./worker.js');
      const workerConfig = await workerConfigOf(values['worker-config']);
      worker = await startWorker(connection, logger.child({ name: 'worker' }), workerConfig);
      logger.info({ queues: worker.queueNames }, 'worker ready');
    }
    logger.info({ signal: await stop }, 'stopping');
    return EXIT_OK;
  } finally {
    // together: the worker's grace for its steps in flight must not hold the triggerer's hand-off up
    await Promise.all([worker?.close(), triggerer?.close()]);
    await endpoints?.close();
    await releaseConnection(connection);
    // The SSH connections of remote job connections would keep the process alive.
    closeSshHosts();
    await embedded?.stop();
  }
}

function parseCli(args: string[]) {
  return usageErrors(() =>
    parseArgs({
      args,
      options: {
        config: { type: 'string' },
        'redis-url': { type: 'string' },
        'redis-url-file': { type: 'string' },
        capacity: { type: 'string' },
        plugin: { type: 'string', multiple: true },
        'state-dir': { type: 'string' },
        'lock-duration': { type: 'string' },
        'stalled-interval': { type: 'string' },
        'log-level': { type: 'string' },
        'metrics-port': { type: 'string' },
        'metrics-host': { type: 'string' },
        worker: { type: 'boolean' },
        'worker-config': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }),
  );
}

/**
 * A closing triggerer gives way on the CPU once its claims are offered: what it still does (settling
 * them, closing its connections) runs at the lowest priority, so that peers adopting its triggers on
 * the same host, and the Redis and supervisords they call, run first. Not before: stopping the
 * watchers and offering the claims is what the peers wait for, and at nice 19 on a host whose cores
 * are busy with other work it waited for leftover CPU (a 10,000-trigger hand-off took 12-18 s instead
 * of 2.2-2.5; bench/RESULTS.md, run J). Returns the nice value read back, or undefined where it
 * cannot be set (the close goes on as before).
 */
function yieldCpu(): number | undefined {
  try {
    setPriority(constants.priority.PRIORITY_LOW);
    return getPriority();
  } catch {
    return undefined;
  }
}

function waitForSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const on = (signal: NodeJS.Signals) => {
      process.removeListener('SIGINT', on);
      process.removeListener('SIGTERM', on);
      // A second signal while handing off forces the exit (the locks then expire as after a crash).
      const force = (again: NodeJS.Signals) => {
        process.stderr.write(`supervisor-triggerer triggerer: ${again} again, exiting without hand-off\n`);
        process.exit(130);
      };
      process.once('SIGINT', force);
      process.once('SIGTERM', force);
      resolve(signal);
    };
    process.on('SIGINT', on);
    process.on('SIGTERM', on);
  });
}

/**
 * A metrics port that cannot be used (another triggerer on this host has it) stops the start: the
 * message says how to choose another.
 */
function metricsPortHint(error: unknown): unknown {
  if (!(error instanceof HealthServerError)) return error;
  return new HealthServerError(
    `${error.message}: choose another port with --metrics-port N (or metrics_port: N in the config), ` +
      `or run without the server with --metrics-port none`,
  );
}

/**
 * `--metrics-port` / `metrics_port`: a port (0: any free port, as in the TypeScript options), or
 * none for no server (null); unset: the default.
 */
function metricsPort(value: string | number | undefined): number | null {
  if (value === undefined) return DEFAULT_METRICS_PORT;
  if (value === 'none') return null;
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65_535 || String(value).trim() === '')
    throw new UsageError(`--metrics-port: expected a port number 0-65535 or 'none', got '${value}'`);
  return port;
}
