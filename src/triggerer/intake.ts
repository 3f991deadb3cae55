/**
 * Intake: turns the data of a job on the triggers queue into a validated record, its definition and
 * its parsed kwargs, or an InvalidTriggerRecord naming exactly what is wrong. Only classpaths in the
 * registry are ever run: a record can never make the triggerer load code.
 */
import type { z } from 'zod';
import { formatIssues, issuesFromZod } from '../config/errors.js';
import { RECORD_LIMITS, TriggerRecordSchema, type TriggerRecord } from '../protocol/index.js';
import type { TriggerDefinition } from './definition.js';
import { TriggererError } from './errors.js';

/** What the daemon needs from a registry (the built-ins plus the configured plugins). */
export interface TriggerLookup {
  /** The definition of a classpath; undefined (or a throw) when unknown. */
  get(classpath: string): TriggerDefinition | undefined;
}

/** What the daemon needs from the connections: a name to an endpoint, or a throw. */
export interface EndpointLookup {
  resolve(name: string): unknown;
}

export type InvalidRecordKind =
  | 'too-large'
  | 'not-json'
  | 'not-object'
  | 'version'
  | 'record'
  | 'unknown-classpath'
  | 'kwargs'
  | 'unknown-endpoint';

/** Longest reason a refusal carries (it is stored in Redis and logged). */
export const MAX_REASON_CHARS = 1000;

/** A job whose data cannot become a trigger. Fails that job only, never retried. */
export class InvalidTriggerRecord extends TriggererError {
  override name = 'InvalidTriggerRecord';
  constructor(
    readonly kind: InvalidRecordKind,
    message: string,
    /** The endpoint a record named that could not be resolved (`unknown-endpoint`). */
    readonly endpoint?: string,
  ) {
    super(boundText(message, MAX_REASON_CHARS));
  }
}

/** `text` cut to `max` characters, saying how much was cut. */
export function boundText(text: string, max: number): string {
  if (text.length <= max) return text;
  const cut = `… (${text.length - max} more characters)`;
  return text.slice(0, Math.max(0, max - cut.length)) + cut;
}

/** A record ready to run. */
export interface AcceptedTrigger {
  record: TriggerRecord;
  definition: TriggerDefinition;
  kwargs: unknown;
  /** `kwargs.endpoint` when the trigger names one (checked to resolve). */
  endpoint?: string;
}

/** Validates job data against the record schema, the registry and the connections. */
export function acceptTrigger(
  data: unknown,
  registry: TriggerLookup,
  endpoints: EndpointLookup,
): AcceptedTrigger {
  if (typeof data === 'string' && data.length > RECORD_LIMITS.maxChars) {
    throw new InvalidTriggerRecord(
      'too-large',
      `record is ${data.length} characters (at most ${RECORD_LIMITS.maxChars})`,
    );
  }
  const raw = typeof data === 'string' ? parseJson(data) : data;
  const over = exceedsLimits(raw);
  if (over) throw new InvalidTriggerRecord('too-large', over);
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new InvalidTriggerRecord('not-object', `record is not a JSON object (got ${describe(raw)})`);
  }
  const version = (raw as { v?: unknown }).v;
  if (version !== 1) {
    throw new InvalidTriggerRecord(
      'version',
      `unsupported record version ${JSON.stringify(version) ?? 'undefined'} (this triggerer reads v: 1)`,
    );
  }
  const parsed = TriggerRecordSchema.safeParse(raw);
  if (!parsed.success) {
    throw new InvalidTriggerRecord('record', `invalid record: ${issues(parsed.error, TriggerRecordSchema)}`);
  }
  const record = parsed.data;
  let definition: TriggerDefinition | undefined;
  try {
    definition = registry.get(record.classpath);
  } catch {
    definition = undefined;
  }
  if (!definition) {
    throw new InvalidTriggerRecord('unknown-classpath', `unknown classpath '${record.classpath}'`);
  }
  const kwargs = definition.kwargs.safeParse(record.kwargs);
  if (!kwargs.success) {
    throw new InvalidTriggerRecord(
      'kwargs',
      `invalid kwargs for ${record.classpath}: ${issues(kwargs.error, definition.kwargs)}`,
    );
  }
  const endpoint = (kwargs.data as { endpoint?: unknown } | undefined)?.endpoint;
  if (typeof endpoint === 'string') {
    try {
      endpoints.resolve(endpoint);
    } catch (error) {
      throw new InvalidTriggerRecord('unknown-endpoint', (error as Error).message, endpoint);
    }
  }
  return {
    record,
    definition,
    kwargs: kwargs.data,
    ...(typeof endpoint === 'string' && { endpoint }),
  };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new InvalidTriggerRecord('not-json', `record is not JSON: ${JSON.stringify(text.slice(0, 40))}`);
  }
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value;
}

/** The problems on one line, each naming its key once, unknown keys with a suggestion. */
function issues(error: z.ZodError, schema: z.core.$ZodType): string {
  return formatIssues(issuesFromZod(error, { schema }), '; ');
}

/**
 * Why `value` is over the record's limits (size as JSON, nesting), or undefined. Iterative and
 * stopping at the first limit passed, so a record of any size or depth costs at most the limits.
 */
function exceedsLimits(value: unknown): string | undefined {
  const { maxChars, maxDepth } = RECORD_LIMITS;
  let chars = 0;
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length > 0) {
    const [item, depth] = stack.pop()!;
    if (typeof item === 'string') chars += item.length + 2;
    else if (item === null || typeof item !== 'object') chars += String(item).length;
    else {
      if (depth >= maxDepth) return `record is nested more than ${maxDepth} levels deep`;
      chars += 2;
      if (Array.isArray(item)) {
        for (const child of item) {
          chars += 1;
          stack.push([child, depth + 1]);
          if (chars > maxChars) break;
        }
      } else {
        for (const key in item) {
          chars += key.length + 4;
          stack.push([(item as Record<string, unknown>)[key], depth + 1]);
          if (chars > maxChars) break;
        }
      }
    }
    if (chars > maxChars) return `record is more than ${maxChars} characters as JSON`;
  }
  return undefined;
}

/** Keys whose values are secrets: a record must hold none, and one that does is not kept so. */
const SECRET_KEY = /pass(word|phrase)?|secret|token|api[-_]?key|credential|authorization|private[-_]?key/i;

/**
 * What a refused record's job keeps as its data for the days a failed job is kept: a copy with the
 * values of secret-like keys replaced, or a note for a record too large (or unreadable) to keep; or
 * undefined when the record can stay as it is.
 */
export function refusedRecordData(data: unknown, error: InvalidTriggerRecord): unknown {
  if (error.kind === 'too-large') return { refused: error.message };
  if (typeof data === 'string') {
    return SECRET_KEY.test(data)
      ? { refused: `${error.message}; the text was dropped (secret-like key)` }
      : undefined;
  }
  let found = false;
  const scrub = (value: unknown): unknown => {
    if (value === null || typeof value !== 'object') return value;
    if (Array.isArray(value)) return value.map(scrub);
    const copy: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) {
      if (SECRET_KEY.test(key)) {
        found = true;
        copy[key] = '[redacted]';
      } else copy[key] = scrub(item);
    }
    return copy;
  };
  // Refused records within the limits are at most RECORD_LIMITS.maxDepth deep.
  const scrubbed = scrub(data);
  return found ? scrubbed : undefined;
}
