/**
 * zod schemas for every supervisord 4.2 section and option, keys named exactly as supervisord names
 * them (http://supervisord.org/configuration.html, supervisor/options.py). Values in supervisord's
 * own expansion syntax (`%(here)s`, `%(ENV_HOME)s`, `%(process_num)02d`) are kept verbatim.
 */
import { z } from 'zod';
import {
  autorestart,
  bool,
  byteSize,
  chown,
  commaList,
  environment,
  exitcodes,
  inetPort,
  int,
  logLevel,
  octal,
  processName,
  signal,
  spaceList,
  text,
  expected,
} from './values.js';

/** `[supervisord]`: the daemon itself. */
export const supervisordSection = z.strictObject({
  logfile: text().optional(),
  logfile_maxbytes: byteSize().optional(),
  logfile_backups: int(0).optional(),
  loglevel: logLevel().optional(),
  pidfile: text().optional(),
  umask: octal().optional(),
  nodaemon: bool().optional(),
  silent: bool().optional(),
  minfds: int(0).optional(),
  minprocs: int(0).optional(),
  nocleanup: bool().optional(),
  childlogdir: text().optional(),
  user: text().optional(),
  directory: text().optional(),
  strip_ansi: bool().optional(),
  environment: environment().optional(),
  identifier: text().optional(),
});

/** `[supervisorctl]`: how supervisorctl reaches the daemon. */
export const supervisorctlSection = z.strictObject({
  serverurl: text().optional(),
  username: text().optional(),
  password: text().optional(),
  prompt: text().optional(),
  history_file: text().optional(),
});

/** supervisord wants both or neither. */
function credentialsComplete(section: { username?: string; password?: string }): boolean {
  return (section.username === undefined) === (section.password === undefined);
}
const incompleteCredentials = {
  error: 'username and password must be given together',
  path: ['password'],
};

/** `[unix_http_server]`: XML-RPC on a unix socket. */
export const unixHttpServerSection = z
  .strictObject({
    file: text(),
    chmod: octal().optional(),
    chown: chown().optional(),
    username: text().optional(),
    password: text().optional(),
  })
  .refine(credentialsComplete, incompleteCredentials);

/** `[inet_http_server]`: XML-RPC on TCP. */
export const inetHttpServerSection = z
  .strictObject({
    port: inetPort(),
    username: text().optional(),
    password: text().optional(),
  })
  .refine(credentialsComplete, incompleteCredentials);

/** `[include]`: more files (globs, relative to the including file). */
export const includeSection = z.strictObject({ files: spaceList() });

/** `[group:x]`: a heterogeneous group of programs. */
export const groupSection = z.strictObject({
  programs: commaList(),
  priority: int().optional(),
});

/** Options shared by `[program:x]`, `[eventlistener:x]` and `[fcgi-program:x]`. */
const processOptions = {
  command: text(),
  process_name: text().optional(),
  numprocs: int(1).optional(),
  numprocs_start: int(0).optional(),
  priority: int().optional(),
  autostart: bool().optional(),
  startsecs: int(0).optional(),
  startretries: int(0).optional(),
  autorestart: autorestart().optional(),
  exitcodes: exitcodes().optional(),
  stopsignal: signal().optional(),
  stopwaitsecs: int(0).optional(),
  stopasgroup: bool().optional(),
  killasgroup: bool().optional(),
  user: text().optional(),
  redirect_stderr: bool().optional(),
  stdout_logfile: text().optional(),
  stdout_logfile_maxbytes: byteSize().optional(),
  stdout_logfile_backups: int(0).optional(),
  stdout_capture_maxbytes: byteSize().optional(),
  stdout_events_enabled: bool().optional(),
  stdout_syslog: bool().optional(),
  stderr_logfile: text().optional(),
  stderr_logfile_maxbytes: byteSize().optional(),
  stderr_logfile_backups: int(0).optional(),
  stderr_capture_maxbytes: byteSize().optional(),
  stderr_events_enabled: bool().optional(),
  stderr_syslog: bool().optional(),
  environment: environment().optional(),
  directory: text().optional(),
  umask: octal().optional(),
  serverurl: text().optional(),
};

interface ProcessChecks {
  numprocs?: number;
  process_name?: string;
  stopasgroup?: boolean;
  killasgroup?: boolean;
}

/** The cross-field rules supervisord enforces when it reads a process section. */
function checkProcess(value: ProcessChecks, ctx: z.RefinementCtx): void {
  if ((value.numprocs ?? 1) > 1 && !(value.process_name ?? '').includes('%(process_num)')) {
    ctx.addIssue({
      code: 'custom',
      path: ['process_name'],
      message: 'must contain %(process_num)s (e.g. %(program_name)s_%(process_num)02d) when numprocs > 1',
    });
  }
  if (value.stopasgroup === true && value.killasgroup === false) {
    ctx.addIssue({
      code: 'custom',
      path: ['killasgroup'],
      message: 'cannot be false when stopasgroup is true',
    });
  }
}

/** `[program:x]`. */
export const programSection = z.strictObject(processOptions).superRefine(checkProcess);

/** `[eventlistener:x]`: a program that speaks the event listener protocol. */
export const eventlistenerSection = z
  .strictObject({
    ...processOptions,
    events: commaList(),
    buffer_size: int(1).optional(),
    result_handler: text().optional(),
  })
  .superRefine((value, ctx) => {
    checkProcess(value, ctx);
    if (value.redirect_stderr === true) {
      ctx.addIssue({
        code: 'custom',
        path: ['redirect_stderr'],
        message: 'not allowed for an event listener (it would interfere with the protocol)',
      });
    }
  });

/** `[fcgi-program:x]`: a FastCGI program with a socket supervisord opens. */
export const fcgiProgramSection = z
  .strictObject({
    ...processOptions,
    socket: z
      .string({ error: expected('expected unix:///path or tcp://host:port') })
      .regex(/^(unix:\/\/\/?\S+|tcp:\/\/[^\s:]+:\d+)$/, {
        error: expected('expected unix:///path or tcp://host:port'),
      }),
    socket_backlog: int(1, 65535).optional(),
    socket_owner: chown().optional(),
    socket_mode: octal().optional(),
  })
  .superRefine((value, ctx) => {
    checkProcess(value, ctx);
    if (value.socket.startsWith('tcp://') && (value.socket_owner ?? value.socket_mode) !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['socket_owner'],
        message: 'socket_owner and socket_mode only apply to a unix socket',
      });
    }
  });

/** `[rpcinterface:x]`: a factory plus whatever keyword arguments it takes. */
export const rpcinterfaceSection = z
  .object({ 'supervisor.rpcinterface_factory': text() })
  .catchall(
    z
      .union([z.string(), z.number(), z.boolean()], { error: expected('expected a string') })
      .transform(String),
  );

const keyed = <T extends z.ZodType>(section: T) => z.record(processName(), section).optional();

/** The sections of a supervisord configuration; `inet_http_server` swapped for the job's variant. */
export function supervisorSections<P extends z.ZodType>(inet: P) {
  return {
    supervisord: supervisordSection.optional(),
    supervisorctl: supervisorctlSection.optional(),
    unix_http_server: unixHttpServerSection.optional(),
    inet_http_server: inet.optional(),
    include: includeSection.optional(),
    program: keyed(programSection),
    group: keyed(groupSection),
    eventlistener: keyed(eventlistenerSection),
    'fcgi-program': keyed(fcgiProgramSection),
    rpcinterface: keyed(rpcinterfaceSection),
  };
}

/** A whole supervisord configuration. */
export const supervisorConfigSchema = z
  .strictObject(supervisorSections(inetHttpServerSection))
  .superRefine((config, ctx) => {
    for (const [name, group] of Object.entries(config.group ?? {})) {
      group.programs.forEach((program, index) => {
        if (!config.program?.[program] && !config['fcgi-program']?.[program]) {
          ctx.addIssue({
            code: 'custom',
            path: ['group', name, 'programs', index],
            message: `names unknown program ${program}`,
          });
        }
      });
    }
  });

export type SupervisorConfig = z.output<typeof supervisorConfigSchema>;
export type SupervisorConfigInput = z.input<typeof supervisorConfigSchema>;
export type ProgramSection = z.output<typeof programSection>;
export type EventlistenerSection = z.output<typeof eventlistenerSection>;
export type SupervisordSection = z.output<typeof supervisordSection>;
export type UnixHttpServerSection = z.output<typeof unixHttpServerSection>;
export type InetHttpServerSection = z.output<typeof inetHttpServerSection>;

/** The keyed sections, rendered as `[kind:name]`. */
export const KEYED_SECTIONS = ['rpcinterface', 'program', 'group', 'eventlistener', 'fcgi-program'] as const;
/** The single sections, in the order they are rendered. */
export const SINGLE_SECTIONS = [
  'unix_http_server',
  'inet_http_server',
  'supervisord',
  'supervisorctl',
  'include',
] as const;
