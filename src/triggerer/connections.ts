/**
 * Named supervisor endpoints. Records carry only a name (`endpoint: "box-3"`); the triggerer turns it
 * into a URL and credentials from its own config or from `SUPERVISOR_CONN_<NAME>` environment
 * variables. Credentials never appear in an error message or a log line.
 */
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { durationSchema } from '../config/duration.js';
import type { SupervisorEndpoint } from '../supervisor/endpoint.js';
import { TriggererError } from './errors.js';

/** One connection in the config's `connections` map: a URL with credentials, or a job file. */
export const ConnectionSchema = z.union([
  z
    .object({
      url: z.string().describe('unix:///path/supervisor.sock or http://host:port/RPC2'),
      username: z.string().optional(),
      password: z.string().optional(),
      password_file: z.string().optional().describe('file whose first line is the password'),
      password_env: z.string().optional().describe('environment variable holding the password'),
      timeout: durationSchema()
        .refine((ms) => ms > 0 && ms <= 3_600_000, { error: 'must be more than 0 and at most 1h' })
        .optional()
        .describe('per-call timeout: 10s, 500ms, or seconds'),
    })
    .strict(),
  z.object({ job: z.string().describe('job file written for `supervisor start`') }).strict(),
]);
export type Connection = z.output<typeof ConnectionSchema>;

/** Prefix of the environment variables that name connections. */
export const CONNECTION_ENV_PREFIX = 'SUPERVISOR_CONN_';

/** No connection of that name, or one that could not be made usable. Never carries a secret. */
export class UnknownEndpoint extends TriggererError {
  override name = 'UnknownEndpoint';
  constructor(
    readonly endpoint: string,
    message: string,
  ) {
    super(message);
  }
}

/** `box-3.prod` → `BOX_3_PROD`: the suffix of its environment variable. */
export function envName(endpoint: string): string {
  return endpoint.toUpperCase().replace(/[-.]/g, '_');
}

/** What a job loader is given besides the path. */
export interface JobLoadContext {
  /** Where a remote job's key passphrase variable is read. */
  env: NodeJS.ProcessEnv;
  /** What the connection resolved to before (on a refresh), if it was usable. */
  previous?: SupervisorEndpoint;
}

/** Reads endpoint + credentials from a job file (the convenience layer's resolved job). */
export type JobEndpointLoader = (path: string, context?: JobLoadContext) => Promise<SupervisorEndpoint>;

async function loadJobEndpoint(path: string, context?: JobLoadContext): Promise<SupervisorEndpoint> {
  const { loadJobFiles } = await import('../config/index.js');
  const { jobEndpoint } = await import('../supervisor/host/job-endpoint.js');
  return jobEndpoint(await loadJobFiles([path]), context ?? {});
}

export interface ConnectionResolverOptions {
  /** The config file's `connections`. */
  connections?: Record<string, Connection>;
  /** Where `SUPERVISOR_CONN_*` and `password_env` are read. @default process.env */
  env?: NodeJS.ProcessEnv;
  /** Override for reading job files (tests). */
  loadJob?: JobEndpointLoader;
}

/** One named connection: how to load it (given what it loaded before), and what it loaded last. */
interface Source {
  load: (previous?: SupervisorEndpoint) => Promise<SupervisorEndpoint>;
  current: SupervisorEndpoint | UnknownEndpoint;
}

/**
 * Resolves endpoint names synchronously (the pollers need that), so `create` reads every password
 * file and job file up front. A connection that fails to load is kept as its error and reported
 * when a trigger names it, so one bad connection does not stop the daemon. `refresh` loads one
 * again: a job's credentials are only known once it is configured, and change when it is
 * configured anew, so the pollers refresh an endpoint that refuses them.
 */
export class ConnectionResolver {
  private constructor(
    private readonly byName: Map<string, Source>,
    private readonly byEnvName: Map<string, Source>,
  ) {}

  /** Loads every connection of the config and of the environment. */
  static async create(options: ConnectionResolverOptions = {}): Promise<ConnectionResolver> {
    const env = options.env ?? process.env;
    const loadJob = options.loadJob ?? loadJobEndpoint;
    const byName = new Map<string, Source>();
    for (const [name, connection] of Object.entries(options.connections ?? {})) {
      byName.set(
        name,
        await source(name, (previous) => fromConnection(connection, { env, previous }, loadJob)),
      );
    }
    const byEnvName = new Map<string, Source>();
    for (const [key, value] of Object.entries(env)) {
      if (!key.startsWith(CONNECTION_ENV_PREFIX) || !value) continue;
      const suffix = key.slice(CONNECTION_ENV_PREFIX.length);
      byEnvName.set(suffix, await source(key, (previous) => fromEnvValue(value, { env, previous }, loadJob)));
    }
    return new ConnectionResolver(byName, byEnvName);
  }

  /** The endpoint of a name; throws UnknownEndpoint (without secrets) when there is none. */
  resolve(name: string): SupervisorEndpoint {
    const found = this.sourceOf(name)?.current;
    if (found === undefined) {
      throw new UnknownEndpoint(
        name,
        `unknown endpoint '${name}': not in the triggerer's connections and ${CONNECTION_ENV_PREFIX}${envName(name)} is not set`,
      );
    }
    if (found instanceof UnknownEndpoint) throw new UnknownEndpoint(name, found.message);
    return found;
  }

  /** Whether this triggerer has a connection of that name (usable or not). */
  knows(name: string): boolean {
    return this.sourceOf(name) !== undefined;
  }

  /**
   * Loads the connection of `name` again (its job file and state, its password file or variable).
   * Resolves true when what it resolves to changed; false when unchanged or unknown.
   */
  async refresh(name: string): Promise<boolean> {
    const found = this.sourceOf(name);
    if (found === undefined) return false;
    const before = found.current;
    const next = await source(name, found.load, before instanceof UnknownEndpoint ? undefined : before);
    found.current = next.current;
    return !sameEndpoint(before, next.current);
  }

  /** Names that resolve (config names and lower-cased environment names), for logs. */
  names(): string[] {
    return [...this.byName.keys(), ...[...this.byEnvName.keys()].map((n) => n.toLowerCase())];
  }

  private sourceOf(name: string): Source | undefined {
    return this.byName.get(name) ?? this.byEnvName.get(envName(name));
  }
}

async function source(label: string, load: Source['load'], previous?: SupervisorEndpoint): Promise<Source> {
  return { load, current: await settle(label, () => load(previous)) };
}

function sameEndpoint(
  a: SupervisorEndpoint | UnknownEndpoint,
  b: SupervisorEndpoint | UnknownEndpoint,
): boolean {
  if (a instanceof UnknownEndpoint || b instanceof UnknownEndpoint) {
    return a instanceof UnknownEndpoint && b instanceof UnknownEndpoint && a.message === b.message;
  }
  return (
    a.url === b.url &&
    a.username === b.username &&
    a.password === b.password &&
    a.timeoutMs === b.timeoutMs &&
    a.tunnel === b.tunnel &&
    a.push?.listener === b.push?.listener &&
    a.push?.reconcileMs === b.push?.reconcileMs
  );
}

async function settle(
  label: string,
  load: () => Promise<SupervisorEndpoint>,
): Promise<SupervisorEndpoint | UnknownEndpoint> {
  try {
    return await load();
  } catch (error) {
    // Our own messages never hold secrets; a foreign error might, so only its class is kept.
    const reason = error instanceof ConnectionError ? error.message : `${(error as Error).name ?? 'error'}`;
    return new UnknownEndpoint(label, `connection '${label}' is unusable: ${reason}`);
  }
}

/** A connection that cannot be loaded; its message never holds a secret (kept as the reason). */
class ConnectionError extends TriggererError {}

async function fromConnection(
  connection: Connection,
  context: JobLoadContext,
  loadJob: JobEndpointLoader,
): Promise<SupervisorEndpoint> {
  const { env } = context;
  if ('job' in connection) return fromJob(connection.job, context, loadJob);
  const base = fromUrl(connection.url);
  const username = connection.username ?? base.username;
  let password = connection.password ?? base.password;
  if (connection.password_file !== undefined) {
    try {
      password = (await readFile(connection.password_file, 'utf8')).split(/\r?\n/)[0] ?? '';
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? 'unreadable';
      throw new ConnectionError(`cannot read password_file ${connection.password_file}: ${code}`);
    }
  }
  if (connection.password_env !== undefined) {
    password = env[connection.password_env];
    if (password === undefined) {
      throw new ConnectionError(`password_env ${connection.password_env} is not set`);
    }
  }
  return {
    url: base.url,
    ...(username !== undefined && { username }),
    ...(password !== undefined && { password }),
    ...(connection.timeout !== undefined && { timeoutMs: connection.timeout }),
  };
}

async function fromEnvValue(
  value: string,
  context: JobLoadContext,
  loadJob: JobEndpointLoader,
): Promise<SupervisorEndpoint> {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(value) ? fromUrl(value) : fromJob(value, context, loadJob);
}

async function fromJob(
  path: string,
  context: JobLoadContext,
  loadJob: JobEndpointLoader,
): Promise<SupervisorEndpoint> {
  try {
    return await loadJob(path, context);
  } catch (error) {
    // The loader's message may quote the file (and so a password): name only the error's kind.
    const kind = error instanceof Error ? error.name : 'error';
    throw new ConnectionError(`cannot load job file ${path} (${kind}); check it with 'config validate'`);
  }
}

/** The URL without credentials, and the credentials it carried (`http://user:pass@host:port/RPC2`). */
function fromUrl(text: string): SupervisorEndpoint {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new ConnectionError('not a URL (expected unix:///path or http://host:port/RPC2)');
  }
  if (url.protocol !== 'unix:' && url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ConnectionError(`unsupported scheme ${url.protocol} (expected unix:, http: or https:)`);
  }
  const username = url.username ? decodeURIComponent(url.username) : undefined;
  const password = url.password ? decodeURIComponent(url.password) : undefined;
  url.username = '';
  url.password = '';
  const clean = url.protocol === 'unix:' ? `unix://${url.pathname}` : url.toString();
  return {
    url: clean,
    ...(username !== undefined && { username }),
    ...(password !== undefined && { password }),
  };
}
