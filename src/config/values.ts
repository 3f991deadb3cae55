/**
 * Field types for supervisord options. Each accepts the native JSON/YAML form and the text form that
 * supervisord's INI reader accepts (so parsed INI strings validate the same way), with messages that
 * say what is expected.
 */
import { z } from 'zod';
import { parseEnvironment } from './environment.js';

/** An error message that says `required` when the value is missing and `message` otherwise. */
export const expected =
  (message: string) =>
  (issue: { input?: unknown }): string =>
    issue.input === undefined ? 'required' : message;

const TRUTHY = ['yes', 'true', 'on', '1'];
const FALSY = ['no', 'false', 'off', '0'];

export const SIGNALS = ['TERM', 'HUP', 'INT', 'QUIT', 'KILL', 'USR1', 'USR2'] as const;
export const LOG_LEVELS = ['critical', 'error', 'warn', 'info', 'debug', 'trace', 'blather'] as const;

/** A boolean: true/false, or yes/no, on/off, 1/0 as supervisord reads them. */
export const bool = () =>
  z.union([z.boolean(), z.stringbool({ truthy: TRUTHY, falsy: FALSY, case: 'insensitive' })], {
    error: expected('expected true or false'),
  });

/** An integer, optionally bounded; the text form is decimal digits. */
export const int = (min?: number, max?: number) => {
  let number = z
    .number({ error: expected('expected an integer') })
    .int({ error: expected('expected an integer') });
  if (min !== undefined) number = number.min(min, { error: expected(`must be at least ${min}`) });
  if (max !== undefined) number = number.max(max, { error: expected(`must be at most ${max}`) });
  return z.preprocess(
    (value) => (typeof value === 'string' && /^\s*-?\d+\s*$/.test(value) ? Number(value) : value),
    number,
  );
};

/** A non-empty string (paths, commands, names). */
export const text = () =>
  z.string({ error: expected('expected a string') }).min(1, { error: expected('must not be empty') });

/** An octal file mode such as `022` or `0700`; a YAML number 700 is read as the digits 0700. */
export const octal = () =>
  z.preprocess(
    (value) => (typeof value === 'number' && Number.isInteger(value) ? `0${value}` : value),
    z.string({ error: expected('expected an octal mode like 0700') }).regex(/^0?[0-7]{1,4}$/, {
      error: 'expected an octal mode like 0700',
    }),
  );

/** `user` or `user:group` (names or numeric ids). */
export const chown = () =>
  z.string({ error: expected('expected user or user:group') }).regex(/^[^:\s]+(:[^:\s]+)?$/, {
    error: 'expected user or user:group',
  });

/** A byte size: a number of bytes or digits with KB, MB or GB, e.g. `50MB`. */
export const byteSize = () =>
  z.union(
    [
      z.number().int().min(0),
      z.string().regex(/^\d+\s*(kb|mb|gb)?$/i, {
        error: expected('expected a byte size like 50MB, 10KB or a number of bytes'),
      }),
    ],
    { error: expected('expected a byte size like 50MB, 10KB or a number of bytes') },
  );

function validPort(port: string): boolean {
  if (!/^\d+$/.test(port)) return false;
  const n = Number(port);
  return n >= 1 && n <= 65535;
}

/** An inet address `host:port`, `*:port` or a bare port (meaning all interfaces). */
export const inetPort = () =>
  z.union([z.number().int(), z.string()], { error: expected('expected host:port or a port number') }).refine(
    (value) => {
      const text = String(value).trim();
      const colon = text.lastIndexOf(':');
      return validPort(colon === -1 ? text : text.slice(colon + 1));
    },
    { error: expected('expected host:port or a port number between 1 and 65535') },
  );

/** A stop signal name; `sigterm` and `term` read as TERM, as supervisord does. */
export const signal = () =>
  z.preprocess(
    (value) => (typeof value === 'string' ? value.trim().toUpperCase().replace(/^SIG/, '') : value),
    z.enum(SIGNALS, { error: expected(`expected one of ${SIGNALS.join(', ')}`) }),
  );

/** A log level name (case-insensitive in the INI file). */
export const logLevel = () =>
  z.preprocess(
    (value) => (typeof value === 'string' ? value.trim().toLowerCase() : value),
    z.enum(LOG_LEVELS, { error: expected(`expected one of ${LOG_LEVELS.join(', ')}`) }),
  );

/** `autorestart`: true, false or `unexpected`. */
export const autorestart = () =>
  z.preprocess(
    (value) => {
      if (typeof value !== 'string') return value;
      const lower = value.trim().toLowerCase();
      if (TRUTHY.includes(lower)) return true;
      if (FALSY.includes(lower)) return false;
      return lower;
    },
    z.union([z.boolean(), z.literal('unexpected')], {
      error: expected('expected true, false or unexpected'),
    }),
  );

/** Exit codes 0-255: a list, a single number, or the INI text `0,2`. */
export const exitcodes = () =>
  z.preprocess(
    (value) => {
      if (typeof value === 'number') return [value];
      if (typeof value !== 'string') return value;
      if (value.trim() === '') return [];
      return value.split(',').map((part) => (/^\s*\d+\s*$/.test(part) ? Number(part) : part));
    },
    z.array(
      z
        .number({ error: expected('expected exit codes like 0,2') })
        .int({ error: expected('expected exit codes like 0,2') })
        .min(0, { error: expected('exit codes are 0-255') })
        .max(255, { error: expected('exit codes are 0-255') }),
      { error: expected('expected a list of exit codes like [0, 2]') },
    ),
  );

/** A list of strings: an array, or the INI text `a,b,c`. */
export const commaList = () =>
  z.preprocess(
    (value) =>
      typeof value === 'string'
        ? value
            .split(',')
            .map((part) => part.trim())
            .filter((part) => part !== '')
        : value,
    z
      .array(text(), { error: expected('expected a list of names') })
      .min(1, { error: expected('must list at least one') }),
  );

/** A list of file patterns: an array, or the INI text separated by whitespace or newlines. */
export const spaceList = () =>
  z.preprocess(
    (value) => (typeof value === 'string' ? value.split(/\s+/).filter((part) => part !== '') : value),
    z
      .array(text(), { error: expected('expected a list of file patterns') })
      .min(1, { error: expected('must list at least one') }),
  );

/** Environment keys must be one shlex word for supervisord's `KEY=value` parser. */
const ENV_KEY = /^[A-Za-z0-9_/.+\-():]+$/;

/** Environment variables: a map (numbers and booleans become strings), or INI `A="x",B="y"`. */
export const environment = () =>
  z.preprocess(
    (value, ctx) => {
      if (typeof value === 'string') {
        try {
          return parseEnvironment(value);
        } catch (error) {
          ctx.addIssue({ code: 'custom', message: (error as Error).message });
          return z.NEVER;
        }
      }
      if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
        return Object.fromEntries(
          Object.entries(value).map(([k, v]) => [
            k,
            typeof v === 'number' || typeof v === 'boolean' ? String(v) : v,
          ]),
        );
      }
      return value;
    },
    z.record(
      z
        .string()
        .regex(ENV_KEY, { error: expected('environment names may use letters, digits and _/.+-():') }),
      z.string({ error: expected('expected a string value') }),
      { error: expected('expected a map of NAME: value') },
    ),
  );

/** Process and group names: supervisord rejects spaces, colons and slashes. */
export const processName = () =>
  z.string().regex(/^[^\s:/]+$/, { error: expected('names must not contain spaces, colons or slashes') });
