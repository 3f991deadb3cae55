/**
 * The triggerer's logger: pino JSON lines (pretty when a human watches a terminal), with every
 * credential path redacted so that no password or authorization header can reach a log line.
 */
import { createRequire } from 'node:module';
import { Writable } from 'node:stream';
import { pino, stdSerializers, type DestinationStream, type Logger } from 'pino';

/** Paths pino replaces with {@link REDACTED} before a line is written. */
export const REDACT_PATHS = [
  'password',
  '*.password',
  'authorization',
  '*.authorization',
  'headers.authorization',
  'endpoint.password',
  'kwargs.password',
  'connection.password',
] as const;

/** Every level a logger of this project may be set to, lowest first. */
export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
/** One of {@link LOG_LEVELS}. */
export type LogLevel = (typeof LOG_LEVELS)[number];

/** What a redacted value reads as. */
export const REDACTED = '[redacted]';

/** Options for {@link createLogger}. */
export interface LoggerOptions {
  /** Lowest level written. @default 'info' */
  level?: LogLevel;
  /** Human-readable lines (pino-pretty). @default true only when writing to stdout and stdout is a TTY */
  pretty?: boolean;
  /** Where lines go. @default stdout */
  destination?: DestinationStream;
  /** The `name` field of every line. @default 'triggerer' */
  name?: string;
}

const require = createRequire(import.meta.url);

/**
 * pino's error serializer, without the arguments of a failed Redis command: ioredis attaches the
 * command to its errors, and a refused AUTH carries the password in them.
 */
function serializeError(error: unknown): unknown {
  return withoutCommandArgs(stdSerializers.err(error as Error), 0);
}

/** A copy without any `command.args`, however deep (ioredis nests earlier errors, each with its command). */
function withoutCommandArgs(value: unknown, depth: number): unknown {
  if (value === null || typeof value !== 'object' || depth > 8) return value;
  if (Array.isArray(value)) return value.map((item) => withoutCommandArgs(item, depth + 1));
  const copy: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    copy[key] =
      key === 'command' && item !== null && typeof item === 'object' && 'args' in item
        ? { ...(item as Record<string, unknown>), args: REDACTED }
        : withoutCommandArgs(item, depth + 1);
  }
  return copy;
}

/** A pino logger with credential redaction; pretty in a terminal, JSON otherwise. */
export function createLogger(options: LoggerOptions = {}): Logger {
  const pretty = options.pretty ?? (options.destination === undefined && process.stdout.isTTY === true);
  const settings = {
    name: options.name ?? 'triggerer',
    level: options.level ?? 'info',
    redact: { paths: [...REDACT_PATHS], censor: REDACTED },
    serializers: { err: serializeError, error: serializeError },
  };
  const prettyStream = pretty ? loadPretty(options.destination) : undefined;
  const destination = prettyStream ?? options.destination;
  return destination === undefined ? pino(settings) : pino(settings, destination);
}

/** Levels whose calls a trigger logger skips while they are off, without making its child. */
const LEVEL_METHODS = new Set(['trace', 'debug', 'info', 'warn', 'error', 'fatal']);
const skip = () => undefined;

/** Keys of a trigger logger's own state (symbols: no property name a caller asks for can clash). */
const BASE = Symbol('base');
const FIELDS = Symbol('fields');
const CHILD = Symbol('child');
const CAPTURE = Symbol('capture');

/** What one trigger logger holds: the Proxy's target, so that all of them share one handler. */
interface LazyChild {
  [BASE]: Logger;
  [FIELDS]: { triggerId: string; classpath: string; endpoint?: string };
  [CHILD]: Logger | undefined;
  /** Where its lines are kept too (the trigger's own log), made lazily from a root like BASE. */
  [CAPTURE]: { root: Logger; child?: Logger } | undefined;
}

function made(state: LazyChild): Logger {
  return (state[CHILD] ??= state[BASE].child(state[FIELDS]));
}

/** The level method `level` of the trigger logger: the triggerer's log, and the trigger's own. */
function levelMethod(state: LazyChild, level: string): (...args: unknown[]) => void {
  const capture = state[CAPTURE];
  const log = made(state);
  if (capture === undefined) return (Reflect.get(log, level) as (...a: unknown[]) => void).bind(log);
  const kept = (capture.child ??= capture.root.child(state[FIELDS]));
  return (...args) => {
    (Reflect.get(log, level) as (...a: unknown[]) => void).apply(log, args);
    (Reflect.get(kept, level) as (...a: unknown[]) => void).apply(kept, args);
  };
}

/** One handler for every trigger logger (a handler with closures per trigger cost ~200 bytes each). */
const LAZY_CHILD: ProxyHandler<LazyChild> = {
  get(state, property) {
    if (
      state[CHILD] === undefined &&
      typeof property === 'string' &&
      LEVEL_METHODS.has(property) &&
      !state[BASE].isLevelEnabled(property)
    ) {
      return skip;
    }
    if (typeof property === 'string' && LEVEL_METHODS.has(property)) return levelMethod(state, property);
    const logger = made(state);
    const value: unknown = Reflect.get(logger, property, logger);
    return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(logger) : value;
  },
  set(state, property, value) {
    return Reflect.set(made(state), property, value);
  },
  has(state, property) {
    return Reflect.has(made(state), property);
  },
};

/**
 * The child logger of one trigger: every line carries its id, classpath and endpoint. The pino
 * child is made on first use at an enabled level (a triggerer sets up thousands of watchers at once,
 * most of which never write a line, and making a child costs as much as a watcher's poll
 * subscription); until then a call at a disabled level does nothing. With `capture`, each line is
 * written there too (the trigger's own log, kept in Redis).
 */
export function triggerLogger(
  base: Logger,
  fields: { triggerId: string; classpath: string; endpoint?: string | undefined },
  capture?: Logger,
): Logger {
  const { triggerId, classpath, endpoint } = fields;
  const state: LazyChild = {
    [BASE]: base,
    [FIELDS]: { triggerId, classpath, ...(endpoint !== undefined && { endpoint }) },
    [CHILD]: undefined,
    [CAPTURE]: capture && { root: capture },
  };
  return new Proxy(state, LAZY_CHILD) as unknown as Logger;
}

/**
 * pino-pretty is a devDependency: an installed package may lack it, and then the lines stay JSON.
 * Loaded synchronously (it is CommonJS) so that createLogger need not be async, and run in-process
 * rather than as a pino transport so no worker thread outlives a closed triggerer.
 */
function loadPretty(destination: DestinationStream | undefined): DestinationStream | undefined {
  let build: (options: Record<string, unknown>) => DestinationStream;
  try {
    build = require('pino-pretty') as typeof build;
  } catch {
    return undefined;
  }
  return build({
    colorize: destination === undefined && process.stdout.isTTY === true,
    translateTime: 'SYS:HH:MM:ss.l',
    ignore: 'pid,hostname',
    sync: true,
    ...(destination !== undefined && { destination: asStream(destination) }),
  });
}

/** pino-pretty writes to a stream; a bare `{ write }` destination (tests capture lines so) is wrapped. */
function asStream(destination: DestinationStream): NodeJS.WritableStream {
  if (destination instanceof Writable) return destination;
  return new Writable({
    write(chunk: Buffer, _encoding, done) {
      destination.write(chunk.toString());
      done();
    },
  });
}
