/**
 * A job file's `host:` section: the machine its supervisord runs on, reached over SSH. Absent, the
 * job runs on this machine. It holds no secret: the key's passphrase is read from the environment
 * variable it names.
 */
import { homedir } from 'node:os';
import { resolve } from 'node:path';
import { z } from 'zod';
import type { SshHostOptions } from '../supervisor/host/ssh-options.js';
import { parseDuration } from './duration.js';
import { expected, int, text } from './values.js';

/** A duration with bounds, as written (`20s`, `1m`, seconds). */
const boundedDuration = (minMs: number, maxMs: number, message: string, { zero = false } = {}) =>
  z
    .union([z.number(), z.string()], { error: expected('expected a duration like 20s or 1m') })
    .superRefine((value, ctx) => {
      let ms: number;
      try {
        ms = parseDuration(value);
      } catch (error) {
        ctx.addIssue({ code: 'custom', message: (error as Error).message });
        return;
      }
      if (zero && ms === 0) return;
      if (ms < minMs || ms > maxMs) ctx.addIssue({ code: 'custom', message });
    });

const FINGERPRINT = /^SHA256:[A-Za-z0-9+/]{43}$/;

/** The `host:` section. */
export const hostSection = z
  .strictObject({
    /** Name or address of the host. */
    hostname: text(),
    /** @default 22 */
    port: int(1, 65535).optional(),
    /** @default the local user */
    username: text().optional(),
    /** Private key on this machine (`~` is the home directory). */
    identity_file: text().optional(),
    /** Environment variable holding the key's passphrase. */
    passphrase_env: z
      .string({ error: expected('expected an environment variable name') })
      .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, {
        error: 'expected an environment variable name like BOX3_KEY_PASSPHRASE',
      })
      .optional(),
    /** Authenticate with an ssh-agent: true for $SSH_AUTH_SOCK, or its socket path. */
    agent: z
      .union([z.boolean(), text()], { error: expected('expected true, false or a socket path') })
      .optional(),
    /** known_hosts file the host key must be in. @default ~/.ssh/known_hosts */
    known_hosts: text().optional(),
    /** The host key's pinned SHA256 fingerprint, as `ssh-keygen -lf` prints it. */
    host_key: z
      .string({ error: expected('expected a fingerprint like SHA256:…') })
      .regex(FINGERPRINT, {
        error: 'expected a SHA256 fingerprint like SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s',
      })
      .optional(),
    /** Shell command run before each remote command (e.g. `. /opt/venv/bin/activate`). */
    command_prefix: text().optional(),
    /** @default 20s */
    connect_timeout: boundedDuration(1000, 600_000, 'must be from 1s to 10m').optional(),
    /** @default 60s */
    command_timeout: boundedDuration(1000, 3_600_000, 'must be from 1s to 1h').optional(),
    /** @default 15s; 0 sends none */
    keepalive_interval: boundedDuration(1000, 3_600_000, 'must be 0 or from 1s to 1h', {
      zero: true,
    }).optional(),
    /** @default 3 */
    keepalive_count_max: int(1, 100).optional(),
    /** Never here: a key's passphrase comes from the environment variable `passphrase_env` names. */
    passphrase: z
      .never({
        error:
          'never in the job file: put the passphrase in an environment variable and name it in passphrase_env',
      })
      .optional(),
  })
  .superRefine((host, ctx) => {
    if (host.identity_file === undefined && (host.agent === undefined || host.agent === false)) {
      ctx.addIssue({ code: 'custom', path: ['identity_file'], message: 'give identity_file or agent' });
    }
    if (host.passphrase_env !== undefined && host.identity_file === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['passphrase_env'],
        message: 'passphrase_env needs identity_file',
      });
    }
    if (host.known_hosts !== undefined && host.host_key !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['host_key'], message: 'give known_hosts or host_key, not both' });
    }
  });

export type HostSection = z.output<typeof hostSection>;

/** `~/x` and relative paths as absolute paths on this machine. */
function localPath(path: string): string {
  return resolve(path === '~' || path.startsWith('~/') ? homedir() + path.slice(1) : path);
}

/** The section as the options of an SSH host (durations in ms, local paths absolute). */
export function hostOptions(host: HostSection): SshHostOptions {
  const duration = (value: string | number | undefined) =>
    value === undefined ? undefined : parseDuration(value);
  return {
    hostname: host.hostname,
    port: host.port,
    username: host.username,
    identityFile: host.identity_file === undefined ? undefined : localPath(host.identity_file),
    passphraseEnv: host.passphrase_env,
    agent: typeof host.agent === 'string' ? localPath(host.agent) : host.agent,
    knownHosts: host.known_hosts === undefined ? undefined : localPath(host.known_hosts),
    hostKey: host.host_key,
    commandPrefix: host.command_prefix,
    connectTimeoutMs: duration(host.connect_timeout),
    commandTimeoutMs: duration(host.command_timeout),
    keepaliveIntervalMs: duration(host.keepalive_interval),
    keepaliveCountMax: host.keepalive_count_max,
  };
}
