/**
 * The convenience layer: from a minimal job (working_dir + programs) to a complete supervisord
 * configuration. Fills only what the user left out, never overwrites. Generated values (an `auto`
 * port, a random password) are read back from the job's state file, so every process that resolves
 * the same job after it was configured gets the same endpoint and credentials.
 */
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import type { SupervisorEndpoint } from '../supervisor/endpoint.js';
import type { SshHostOptions } from '../supervisor/host/ssh-options.js';
import { ConfigError, issuesFromZod } from './errors.js';
import { hostOptions } from './host.js';
import { jobOptions, type JobConfig, type JobOptions } from './job.js';
import { PUSH_LISTENER_FILE, PUSH_LISTENER_NAME } from '../push/listener-script.js';
import {
  supervisorConfigSchema,
  type EventlistenerSection,
  type ProgramSection,
  type SupervisorConfig,
} from './sections.js';
import { renderIni } from './ini.js';

/** Name of the state file in the working dir that keeps generated values stable across processes. */
export const STATE_FILE = '.supervisor-triggerer.json';
/** Longest unix socket path the kernel accepts (sun_path is 108 bytes with the terminating NUL). */
export const MAX_SOCKET_PATH = 107;
/** Username filled in when the job gives none. */
export const DEFAULT_USERNAME = 'supervisor';

/**
 * Program defaults, applied only where the user set nothing. `startsecs: 0` because a job's program
 * is often a batch run: with supervisord's `startsecs=1` one that is done within a second counts as
 * "exited too quickly" and ends FATAL after its retries; at 0 it ends EXITED with its exit status,
 * which the exit codes judge (a crash is EXITED with an unexpected code). A long-running service
 * sets `startsecs` to how long it must stay up to count as started.
 */
export const PROGRAM_DEFAULTS: Partial<ProgramSection> = {
  autostart: false,
  autorestart: false,
  startsecs: 0,
  exitcodes: [0],
  stopsignal: 'TERM',
  stopwaitsecs: 30,
  stopasgroup: true,
  killasgroup: true,
};

/** A job with everything filled in: what the lifecycle steps and the triggerer work from. */
export interface ResolvedJob {
  workingDir: string;
  configPath: string;
  /** The complete supervisord configuration (contains the password: do not log it). */
  supervisor: SupervisorConfig;
  /** How to reach the supervisord's XML-RPC interface. */
  endpoint: SupervisorEndpoint;
  /** Names of the `[program:x]` sections. */
  programs: string[];
  options: JobOptions;
  /** `<working_dir>/.supervisor-triggerer.json`. */
  statePath: string;
  /** True when a port or password was generated now (not read from the state file): persist it. */
  generated: boolean;
  /** Whether `configure` may create missing directories outside working_dir. */
  outsideDirs: 'require' | 'create';
  /** The SSH host supervisord runs on (its paths are paths there); undefined: this machine. */
  host?: SshHostOptions;
  /** Push mode: where `configure` writes the listener script (on the job's host). */
  push?: { scriptPath: string };
}

/**
 * The push listener's section (docs/push.md): started first and kept running, a buffer large
 * enough for a burst of state changes (supervisord's default of 10 drops events), its event lines
 * in a small rotated log in the working dir. The job's own `[eventlistener:st-push]` keys win.
 */
export function pushListenerSection(
  workingDir: string,
  push: NonNullable<JobOptions['push']>,
): EventlistenerSection {
  return {
    command: `${push.python} ${join(workingDir, PUSH_LISTENER_FILE)} ${push.wakeMs}`,
    events: ['PROCESS_STATE'],
    buffer_size: 1000,
    priority: 1,
    autostart: true,
    autorestart: true,
    startsecs: 1,
    stopsignal: 'TERM',
    stopwaitsecs: 5,
    stderr_logfile: join(workingDir, `${PUSH_LISTENER_NAME}.log`),
    stderr_logfile_maxbytes: '1MB',
    stderr_logfile_backups: 1,
  };
}

/**
 * The files of the machine a job runs on, as far as its state file needs them (a `SupervisorHost`
 * is one). Without one, the state file is read and written on this machine.
 */
export interface JobFiles {
  /** The file's text, or undefined when it does not exist. */
  readText(path: string): Promise<string | undefined>;
  /** Replaces the file atomically with `mode`. */
  writeText(path: string, text: string, mode: number): Promise<void>;
  /** Creates a directory and its parents; fine when it exists. */
  makeDir(path: string, mode?: number): Promise<void>;
}

/** This machine's files: the state file of a job without a host. */
const localFiles: JobFiles = {
  async readText(path) {
    try {
      return await readFile(path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
  },
  writeText: (path, text, mode) => writePrivate(path, text, mode),
  makeDir: async (path, mode) => void (await mkdir(path, { recursive: true, mode })),
};

/** What the state file keeps. */
export interface JobState {
  v: 1;
  port?: number;
  password?: string;
  /** Files and directories `configure` created, so `unconfigure` removes exactly those. */
  created?: string[];
}

/** The job's state file, or undefined when the job was never configured. */
export async function readState(path: string, files: JobFiles = localFiles): Promise<JobState | undefined> {
  const text = await files.readText(path);
  if (text === undefined) return undefined;
  try {
    const state = JSON.parse(text) as JobState;
    if (state?.v !== 1) throw new Error('unknown version');
    return state;
  } catch (error) {
    throw new ConfigError([{ path: path, message: `unreadable job state (${(error as Error).message})` }]);
  }
}

/** A TCP port on 127.0.0.1 that is free now (the OS picks it). */
async function freeLoopbackPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen(0, '127.0.0.1', ok);
  });
  const address = server.address();
  await new Promise<void>((ok) => server.close(() => ok()));
  if (address === null || typeof address === 'string') throw new Error('no port assigned');
  return address.port;
}

/** Splits supervisord's `host:port` / `*:port` / `port` into a host to connect to and a port. */
function connectAddress(port: string | number): { host: string; port: number } {
  const text = String(port).trim();
  const colon = text.lastIndexOf(':');
  const host = colon === -1 ? '' : text.slice(0, colon);
  const connectHost = host === '' || host === '*' || host === '0.0.0.0' ? '127.0.0.1' : host;
  return { host: connectHost, port: Number(colon === -1 ? text : text.slice(colon + 1)) };
}

/** Options of {@link resolveJob}. */
export interface ResolveJobOptions {
  /** Reserved: environment-dependent defaults resolve here. @default process.env */
  env?: NodeJS.ProcessEnv;
  /**
   * Where the state file (generated port and password) is read: the job's host. `null` reads none,
   * as if the job were never configured (what `config validate` needs, offline).
   * @default this machine; for a job with a `host:` section, that host (this process's shared SSH
   * connection, its passphrase variable read from `env`)
   */
  files?: JobFiles | null;
}

/** The files of the machine the job runs on. */
async function jobFiles(job: JobConfig, env: NodeJS.ProcessEnv | undefined): Promise<JobFiles> {
  if (job.host === undefined) return localFiles;
  const { sshHost } = await import('../supervisor/host/shared.js');
  return sshHost(hostOptions(job.host), env);
}

/** Fills a job's supervisord configuration and works out its endpoint. */
export async function resolveJob(job: JobConfig, options: ResolveJobOptions = {}): Promise<ResolvedJob> {
  const workingDir = resolve(job.working_dir);
  const configPath = resolve(workingDir, job.config_path ?? 'supervisord.conf');
  const statePath = join(workingDir, STATE_FILE);
  // A remote job's state file is on its host: a path of the same name here is someone else's file.
  const files = options.files === undefined ? await jobFiles(job, options.env) : options.files;
  const state = files === null ? undefined : await readState(statePath, files);
  let generated = false;

  const supervisord = { ...job.supervisord };
  supervisord.logfile ??= join(workingDir, 'supervisord.log');
  supervisord.pidfile ??= join(workingDir, 'supervisord.pid');
  // supervisord's own default for AUTO child logs is the temp dir; only our defaults move them here
  if (job.program_defaults !== 'supervisord') supervisord.childlogdir ??= workingDir;

  const program: Record<string, ProgramSection> = {};
  for (const [name, section] of Object.entries(job.program ?? {})) {
    if (job.program_defaults === 'supervisord') {
      program[name] = { ...section };
      continue;
    }
    const many = (section.numprocs ?? 1) > 1;
    const suffix = many ? '-%(process_num)s' : '';
    program[name] = {
      ...PROGRAM_DEFAULTS,
      directory: join(workingDir, name),
      stdout_logfile: join(workingDir, name, `output${suffix}.log`),
      ...(section.redirect_stderr ? {} : { stderr_logfile: join(workingDir, name, `error${suffix}.log`) }),
      ...section,
    };
    // supervisord refuses stopasgroup=true with killasgroup=false; a user's stopasgroup=false keeps ours
    if (section.killasgroup === false && section.stopasgroup === undefined) program[name].stopasgroup = false;
  }

  const settings = jobOptions(job);
  const eventlistener = { ...job.eventlistener };
  if (settings.push !== undefined) {
    eventlistener[PUSH_LISTENER_NAME] = {
      ...pushListenerSection(workingDir, settings.push),
      ...job.eventlistener?.[PUSH_LISTENER_NAME],
    };
  }

  const rpcinterface = { ...job.rpcinterface };
  rpcinterface.supervisor ??= {
    'supervisor.rpcinterface_factory': 'supervisor.rpcinterface:make_main_rpcinterface',
  };

  const useInet = job.inet_http_server !== undefined && job.unix_http_server === undefined;
  const server = useInet ? job.inet_http_server! : (job.unix_http_server ?? {});
  const username = server.username ?? DEFAULT_USERNAME;
  let password = server.password;
  if (password === undefined) {
    password = state?.password;
    if (password === undefined) {
      password = randomBytes(24).toString('base64url');
      generated = true;
    }
  }

  const supervisor = { ...job, supervisord, rpcinterface, program } as SupervisorConfig;
  if (Object.keys(eventlistener).length > 0) supervisor.eventlistener = eventlistener;
  // job-only keys are not supervisord options
  for (const key of Object.keys(supervisor) as string[]) {
    if (!(key in supervisorConfigSchema.shape)) delete (supervisor as Record<string, unknown>)[key];
  }
  let url: string;
  let serverurl: string;
  if (useInet) {
    let port = job.inet_http_server!.port;
    if (port === 'auto') {
      let chosen = state?.port;
      if (chosen === undefined) {
        chosen = await freeLoopbackPort();
        generated = true;
      }
      port = `127.0.0.1:${chosen}`;
    }
    const address = connectAddress(port);
    url = `http://${address.host}:${address.port}/RPC2`;
    serverurl = `http://${address.host}:${address.port}`;
    supervisor.inet_http_server = { ...job.inet_http_server!, port, username, password };
  } else {
    const file = resolve(workingDir, job.unix_http_server?.file ?? 'supervisor.sock');
    if (Buffer.byteLength(file) > MAX_SOCKET_PATH) {
      throw new ConfigError([
        {
          path: 'unix_http_server.file',
          message: `socket path ${file} is ${Buffer.byteLength(file)} bytes; unix sockets allow at most ${MAX_SOCKET_PATH} (use a shorter working_dir or set unix_http_server.file)`,
        },
      ]);
    }
    url = `unix://${file}`;
    serverurl = url;
    supervisor.unix_http_server = { chmod: '0700', ...job.unix_http_server, file, username, password };
  }
  supervisor.supervisorctl = { serverurl, username, password, ...job.supervisorctl };

  const checked = supervisorConfigSchema.safeParse(supervisor);
  if (!checked.success) {
    throw new ConfigError(issuesFromZod(checked.error, { schema: supervisorConfigSchema }));
  }

  const push = settings.push && { listener: PUSH_LISTENER_NAME, reconcileMs: settings.push.reconcileMs };
  return {
    workingDir,
    configPath,
    supervisor: checked.data,
    endpoint: { url, username, password, ...(push && { push }) },
    programs: Object.keys(program),
    options: settings,
    statePath,
    generated,
    outsideDirs: job.outside_dirs ?? 'require',
    ...(job.host !== undefined && { host: hostOptions(job.host) }),
    ...(settings.push && { push: { scriptPath: join(workingDir, PUSH_LISTENER_FILE) } }),
  };
}

async function writePrivate(path: string, text: string, mode = 0o600): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const temp = `${path}.${process.pid}.tmp`;
  await writeFile(temp, text, { mode: 0o600 });
  if (mode !== 0o600) await chmod(temp, mode);
  await rename(temp, path);
}

/**
 * Persists the generated port and password so later resolveJob calls on this job agree (mode 0600),
 * and the paths configure created (`created`, kept from earlier runs), through the job's host files.
 */
export async function writeJobState(
  resolved: ResolvedJob,
  created: string[] = [],
  files: JobFiles = localFiles,
): Promise<void> {
  const before = await readState(resolved.statePath, files);
  const state: JobState = { v: 1 };
  const all = [...new Set([...(before?.created ?? []), ...created])];
  if (all.length) state.created = all;
  const inet = resolved.supervisor.inet_http_server;
  if (inet && !resolved.endpoint.url.startsWith('unix:')) state.port = connectAddress(inet.port).port;
  if (resolved.endpoint.password !== undefined) state.password = resolved.endpoint.password;
  await files.makeDir(dirname(resolved.statePath));
  await files.writeText(resolved.statePath, `${JSON.stringify(state)}\n`, 0o600);
}

/**
 * Writes what supervisord needs to start from this job: the working dir, each program's own folder
 * in it, the config file (mode 0600, it holds the password) and the state file, which records what
 * was created. `supervisor configure` is the same step on any host.
 */
export async function writeJobFiles(resolved: ResolvedJob): Promise<void> {
  if (resolved.host !== undefined) {
    throw new ConfigError([
      {
        path: 'host',
        message: `the job runs on ${resolved.host.hostname}: write its files with 'supervisor configure'`,
      },
    ]);
  }
  const configText = renderIni(resolved.supervisor);
  const created: string[] = [];
  const make = async (dir: string, mode?: number) => {
    const first = await mkdir(dir, { recursive: true, mode });
    if (first !== undefined) created.push(dir);
  };
  await make(resolved.workingDir, 0o700);
  for (const [name, program] of Object.entries(resolved.supervisor.program ?? {})) {
    const own = join(resolved.workingDir, name);
    if (program.directory === own) await make(own);
  }
  const existed = await readFile(resolved.configPath).then(
    () => true,
    () => false,
  );
  await writePrivate(resolved.configPath, configText);
  if (!existed) created.push(resolved.configPath);
  await writeJobState(resolved, created);
}
