/** Configuration errors: every problem names its place (`program.web.stopsignal`) and the reason. */
import type { z } from 'zod';

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

/** One line per problem: `path: reason` (or just the reason when it concerns the whole file). */
export function formatIssues(issues: ConfigIssue[]): string {
  return issues.map((issue) => (issue.path ? `${issue.path}: ${issue.message}` : issue.message)).join('\n');
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

/** Translates zod issues into our issues; unknown keys become one issue per key. */
export function issuesFromZod(error: z.ZodError, prefix: readonly PropertyKey[] = []): ConfigIssue[] {
  const out: ConfigIssue[] = [];
  for (const issue of error.issues) {
    const path = [...prefix, ...issue.path];
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) {
        out.push({ path: formatPath([...path, key]), message: 'unknown option' });
      }
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
