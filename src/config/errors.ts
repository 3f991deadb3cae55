/** Configuration errors: every problem names its place (`program.web.stopsignal`) and the reason. */
import type { z } from 'zod';
import { didYouMean } from './suggest.js';

/** One problem in a configuration: where (dotted path) and why. */
export interface ConfigIssue {
  path: string;
  message: string;
}

/** Invalid configuration; `issues` lists every problem found, not just the first. */
export class ConfigError extends Error {
  override name = 'ConfigError';
  readonly issues: ConfigIssue[];

  constructor(issues: ConfigIssue[]) {
    super(formatIssues(issues));
    this.issues = issues;
  }
}

/** One line per problem (or `separator` between them): `path: reason`, or the reason alone for the whole. */
export function formatIssues(issues: ConfigIssue[], separator = '\n'): string {
  return issues
    .map((issue) => (issue.path ? `${issue.path}: ${issue.message}` : issue.message))
    .join(separator);
}

/** Dotted path as a reader writes it; keys with dots or spaces are bracket-quoted. */
export function formatPath(path: readonly PropertyKey[]): string {
  return path
    .map((key, index) => {
      const text = String(key);
      if (typeof key === 'number') return `[${text}]`;
      if (/^[A-Za-z0-9_-]+$/.test(text)) return index === 0 ? text : `.${text}`;
      return `[${JSON.stringify(text)}]`;
    })
    .join('');
}

/** Where the issues come from, to word them well. */
export interface IssueOptions {
  /** The schema that was parsed: unknown keys get the nearest key it knows as a suggestion. @default none */
  schema?: z.core.$ZodType;
  /** Path of the parsed value inside a larger document. @default [] */
  prefix?: readonly PropertyKey[];
}

/**
 * Translates zod issues into our issues, each naming its key once (the path; messages never repeat
 * it). An unknown key becomes one issue of its own, with the nearest known key as a suggestion; a
 * union that matched no branch reports the problems of the branch that came closest.
 */
export function issuesFromZod(error: z.ZodError, options: IssueOptions = {}): ConfigIssue[] {
  return translate(error.issues, options.prefix ?? [], options.schema);
}

function translate(
  issues: readonly z.core.$ZodIssue[],
  prefix: readonly PropertyKey[],
  schema: z.core.$ZodType | undefined,
): ConfigIssue[] {
  const out: ConfigIssue[] = [];
  for (const issue of issues) {
    const path = [...prefix, ...issue.path];
    if (issue.code === 'unrecognized_keys') {
      const known = schema ? keysAt(schema, path) : [];
      for (const key of issue.keys) {
        out.push({ path: formatPath([...path, key]), message: `unknown option${didYouMean(key, known)}` });
      }
    } else if (issue.code === 'invalid_union' && insideBranch(issue.errors)) {
      const closest = issue.errors.reduce((best, branch) => (branch.length < best.length ? branch : best));
      out.push(...translate(closest, path, schema));
    } else if (issue.code === 'invalid_key') {
      const reason = issue.issues[0]?.message ?? issue.message;
      out.push({ path: formatPath(path), message: `invalid name: ${reason}` });
    } else if (issue.code === 'invalid_type' && issue.message.endsWith('received undefined')) {
      out.push({ path: formatPath(path), message: 'required' });
    } else {
      out.push({ path: formatPath(path), message: issue.message });
    }
  }
  return out;
}

/**
 * Whether the branch that came closest failed on something inside the value (a key of an object
 * branch): then its issues say more than the union's own "no branch matched" message.
 */
function insideBranch(branches: readonly (readonly z.core.$ZodIssue[])[]): boolean {
  if (branches.length === 0) return false;
  const closest = branches.reduce((best, branch) => (branch.length < best.length ? branch : best));
  return closest.some((issue) => issue.path.length > 0 || issue.code === 'unrecognized_keys');
}

/** The keys an object schema at `path` of `schema` knows (every branch's, under a union). */
export function keysAt(schema: z.core.$ZodType, path: readonly PropertyKey[]): string[] {
  const def = schema._zod.def as z.core.$ZodTypeDef & Record<string, unknown>;
  const [head, ...rest] = path;
  const inner = (key: string) => keysAt(def[key] as z.core.$ZodType, path);
  switch (def.type) {
    case 'object': {
      const shape = def.shape as Record<string, z.core.$ZodType>;
      if (head === undefined) return Object.keys(shape);
      const child = shape[String(head)] ?? (def.catchall as z.core.$ZodType | undefined);
      return child ? keysAt(child, rest) : [];
    }
    case 'record':
      return head === undefined ? [] : keysAt(def.valueType as z.core.$ZodType, rest);
    case 'array':
      return head === undefined ? [] : keysAt(def.element as z.core.$ZodType, rest);
    case 'optional':
    case 'nullable':
    case 'default':
    case 'prefault':
    case 'nonoptional':
    case 'readonly':
    case 'catch':
      return inner('innerType');
    case 'pipe':
      return [...new Set([...inner('in'), ...inner('out')])];
    case 'union':
      return [...new Set((def.options as z.core.$ZodType[]).flatMap((option) => keysAt(option, path)))];
    case 'intersection':
      return [...new Set([...inner('left'), ...inner('right')])];
    case 'lazy':
      return keysAt((def.getter as () => z.core.$ZodType)(), path);
    default:
      return [];
  }
}
