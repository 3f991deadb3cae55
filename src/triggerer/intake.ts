/**
 * Intake: turns the data of a job on the triggers queue into a validated record, its definition and
 * its parsed kwargs, or an InvalidTriggerRecord naming exactly what is wrong. Only classpaths in the
 * registry are ever run: a record can never make the triggerer load code.
 */
import type { z } from 'zod';
import { formatIssues, issuesFromZod } from '../config/errors.js';
import { TriggerRecordSchema, type TriggerRecord } from '../record.js';
import type { TriggerDefinition } from './definition.js';

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
  'not-json' | 'not-object' | 'version' | 'record' | 'unknown-classpath' | 'kwargs' | 'unknown-endpoint';

/** A job whose data cannot become a trigger. Fails that job only, never retried. */
export class InvalidTriggerRecord extends Error {
  override name = 'InvalidTriggerRecord';
  constructor(
    readonly kind: InvalidRecordKind,
    message: string,
  ) {
    super(message);
  }
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
  const raw = typeof data === 'string' ? parseJson(data) : data;
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
      throw new InvalidTriggerRecord('unknown-endpoint', (error as Error).message);
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
