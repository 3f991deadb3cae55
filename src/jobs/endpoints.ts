/**
 * The triggerer's side of the jobs: it resolves the endpoint names watch steps use (`job@<host>:<config
 * path>`) from the job spec a worker registered under that name in Redis, by reading the job's own
 * files (and its state file, with the credentials) on the triggerer's machine. Other names go to the
 * triggerer's configured connections. A record never carries a secret; Redis holds none either.
 */
import type { ConnectionOptions } from 'bullmq';
import type { RedisClient } from '../redis/connection.js';
import { loadJobFiles } from '../config/load.js';
import type { SupervisorEndpoint } from '../supervisor/endpoint.js';
import { jobEndpoint } from '../supervisor/host/job-endpoint.js';
import { UnknownEndpoint } from '../triggerer/connections.js';
import { closeConnection, connect } from '../redis/connection.js';
import { RunStore } from './store.js';

/** Prefix of the endpoint names of watched jobs. */
export const JOB_ENDPOINT_PREFIX = 'job@';

/** What the triggerer asks of its endpoints (a ConnectionResolver satisfies it). */
export interface EndpointResolver {
  resolve(name: string): SupervisorEndpoint;
  refresh?(name: string): Promise<boolean>;
  knows?(name: string): boolean;
  names?(): string[];
}

/** Options for {@link JobEndpoints}. */
export interface JobEndpointsOptions {
  /** The triggerer's Redis. */
  connection: ConnectionOptions;
  /** BullMQ key prefix; on a Redis Cluster it must hold a hash tag. @default 'bull' ('{bull}' on a cluster) */
  prefix?: string;
  /** Environment the job files are interpolated with. @default process.env */
  env?: NodeJS.ProcessEnv;
}

/** The triggerer's connections, plus the endpoints of watched jobs. */
export class JobEndpoints implements EndpointResolver {
  private readonly loaded = new Map<string, SupervisorEndpoint>();
  private readonly redis: RedisClient;
  private readonly store: RunStore;

  constructor(
    private readonly base: EndpointResolver,
    private readonly options: JobEndpointsOptions,
  ) {
    this.redis = connect(options.connection, { lazyConnect: true });
    this.store = new RunStore(this.redis, options.prefix);
  }

  /** A job endpoint loaded before; else the base's. Throws UnknownEndpoint (the triggerer then refreshes). */
  resolve(name: string): SupervisorEndpoint {
    if (!name.startsWith(JOB_ENDPOINT_PREFIX)) return this.base.resolve(name);
    const found = this.loaded.get(name);
    if (found) return found;
    throw new UnknownEndpoint(name, `job endpoint '${name}' not loaded yet`);
  }

  /** Loads a job endpoint from its registered spec and the job's files; true when it changed. */
  async refresh(name: string): Promise<boolean> {
    if (!name.startsWith(JOB_ENDPOINT_PREFIX)) return (await this.base.refresh?.(name)) ?? false;
    const spec = await this.store.endpointSpec(name);
    if (spec === undefined) return false;
    const before = this.loaded.get(name);
    let endpoint: SupervisorEndpoint;
    try {
      const job = await loadJobFiles(spec.files, { overrides: spec.overrides, env: this.options.env });
      endpoint = await jobEndpoint(job, { env: this.options.env, ...(before && { previous: before }) });
    } catch {
      return false;
    }
    this.loaded.set(name, endpoint);
    return (
      before === undefined ||
      before.url !== endpoint.url ||
      before.username !== endpoint.username ||
      before.password !== endpoint.password ||
      // a new SSH connection to the host (the old one closed) is a new way to the same URL
      before.tunnel !== endpoint.tunnel
    );
  }

  /** Job endpoints are known to every triggerer that shares the Redis. */
  knows(name: string): boolean {
    return name.startsWith(JOB_ENDPOINT_PREFIX) || (this.base.knows?.(name) ?? false);
  }

  names(): string[] {
    return this.base.names?.() ?? [];
  }

  /** Closes the Redis connection. */
  async close(): Promise<void> {
    await closeConnection(this.redis);
  }
}
