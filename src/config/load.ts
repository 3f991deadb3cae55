/**
 * Loading job files: YAML or JSON files layered (later files win, objects merge deeply),
 * `key.path=value` overrides, `${ENV}` / `${ENV:-default}` interpolation, then validation.
 */
import { readFile } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { ConfigError, formatPath, issuesFromZod, type ConfigIssue } from './errors.js';
import { jobSchema, type JobConfig } from './job.js';

type Tree = Record<string, unknown>;

function isTree(value: unknown): value is Tree {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** Deep merge: objects merge key by key, anything else (arrays too) is replaced by the later value. */
export function mergeDeep(base: Tree, over: Tree): Tree {
  const out: Tree = { ...base };
  for (const [key, value] of Object.entries(over)) {
    const current = out[key];
    out[key] = isTree(current) && isTree(value) ? mergeDeep(current, value) : value;
  }
  return out;
}

/** Splits `a.b\.c.d` into ['a', 'b.c', 'd'] (a backslash keeps a dot inside a key). */
function splitPath(path: string): string[] {
  const keys: string[] = [];
  let key = '';
  for (let i = 0; i < path.length; i++) {
    const ch = path[i]!;
    if (ch === '\\' && path[i + 1] === '.') {
      key += '.';
      i++;
    } else if (ch === '.') {
      keys.push(key);
      key = '';
    } else key += ch;
  }
  keys.push(key);
  return keys;
}

/** Applies one `key.path=value` override; the value is read as YAML (`true`, `5`, `[0, 2]`, text). */
export function applyOverride(tree: Tree, override: string): Tree {
  const eq = override.indexOf('=');
  const keys = eq === -1 ? [] : splitPath(override.slice(0, eq).trim());
  if (eq === -1 || keys.some((key) => key === '')) {
    throw new ConfigError([
      { path: override, message: "expected an override like program.web.command='sleep 10'" },
    ]);
  }
  const rawValue = override.slice(eq + 1);
  let value: unknown;
  try {
    value = rawValue.trim() === '' ? '' : parseYaml(rawValue);
  } catch {
    value = rawValue;
  }
  const out = { ...tree };
  let node: Tree = out;
  keys.forEach((key, index) => {
    if (index === keys.length - 1) node[key] = value;
    else {
      const next = isTree(node[key]) ? { ...(node[key] as Tree) } : {};
      node[key] = next;
      node = next;
    }
  });
  return out;
}

/** Replaces `${NAME}` and `${NAME:-default}` in every string; `$${` writes a literal `${`. */
export function interpolate(
  value: unknown,
  env: NodeJS.ProcessEnv,
  path: PropertyKey[],
  issues: ConfigIssue[],
): unknown {
  if (typeof value === 'string') {
    return value.replace(
      /\$(\$)?\{([A-Za-z_][A-Za-z0-9_]*)(:-([^}]*))?\}/g,
      (match, escape, name, hasDefault, fallback) => {
        if (escape) return match.slice(1);
        const found = env[name as string];
        if (found !== undefined && found !== '') return found;
        if (hasDefault !== undefined) return fallback as string;
        if (found !== undefined) return found;
        issues.push({
          path: formatPath(path),
          message: `environment variable ${name as string} is not set (write \${${name as string}:-default} for a default)`,
        });
        return match;
      },
    );
  }
  if (Array.isArray(value))
    return value.map((item, index) => interpolate(item, env, [...path, index], issues));
  if (isTree(value)) {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [k, interpolate(v, env, [...path, k], issues)]),
    );
  }
  return value;
}

/** Reads one YAML or JSON file into a mapping. */
async function readJobFile(file: string): Promise<Tree> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new ConfigError([
      { path: file, message: `cannot read: ${(error as NodeJS.ErrnoException).code ?? String(error)}` },
    ]);
  }
  let data: unknown;
  try {
    data = parseYaml(text, { prettyErrors: true });
  } catch (error) {
    const first = (error as Error).message.split('\n')[0];
    throw new ConfigError([{ path: file, message: `not valid YAML or JSON: ${first}` }]);
  }
  if (data === null || data === undefined) return {};
  if (!isTree(data))
    throw new ConfigError([{ path: file, message: 'expected a mapping of sections and options' }]);
  return data;
}

/** Validates an already-merged job object. */
export function validateJob(data: unknown): JobConfig {
  const result = jobSchema.safeParse(data);
  if (!result.success) throw new ConfigError(issuesFromZod(result.error, { schema: jobSchema }));
  return result.data;
}

/** Loads, layers, overrides, interpolates and validates job files into one job. */
export async function loadJobFiles(
  files: string[],
  options: { overrides?: string[]; env?: NodeJS.ProcessEnv } = {},
): Promise<JobConfig> {
  if (files.length === 0) throw new ConfigError([{ path: '', message: 'no job file given' }]);
  let tree: Tree = {};
  for (const file of files) tree = mergeDeep(tree, await readJobFile(file));
  for (const override of options.overrides ?? []) tree = applyOverride(tree, override);
  const issues: ConfigIssue[] = [];
  tree = interpolate(tree, options.env ?? process.env, [], issues) as Tree;
  let job: JobConfig;
  try {
    job = validateJob(tree);
  } catch (error) {
    // report unset variables together with every other problem, one line each
    if (error instanceof ConfigError && issues.length) throw new ConfigError([...issues, ...error.issues]);
    throw error;
  }
  if (issues.length) throw new ConfigError(issues);
  return job;
}

/** The JSON Schema (draft 2020-12) of the job file format. */
export function jobJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(jobSchema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
}
