/**
 * supervisord INI both ways. The reader follows Python's RawConfigParser as supervisord configures
 * it (comment lines start with `;` or `#`; inline comments need whitespace before `;` or `#`;
 * indented lines continue a value; option names are lower-cased; `=` or `:` separates).
 */
import { ConfigError, formatPath, issuesFromZod, type ConfigIssue } from './errors.js';
import { renderEnvironment } from './environment.js';
import {
  KEYED_SECTIONS,
  SINGLE_SECTIONS,
  supervisorConfigSchema,
  type SupervisorConfig,
} from './sections.js';

/** One `[section]` as read: its name and its options in file order. */
export interface IniSection {
  name: string;
  line: number;
  options: Map<string, string>;
}

/** Reads INI text into raw sections (no validation). Throws ConfigError on malformed lines. */
export function readIni(text: string): IniSection[] {
  const sections: IniSection[] = [];
  const issues: ConfigIssue[] = [];
  let current: IniSection | undefined;
  let option: string | undefined;
  let parts: string[] = [];
  let indent = Number.MAX_SAFE_INTEGER;
  const flush = () => {
    if (current && option !== undefined) current.options.set(option, parts.join('\n').trimEnd());
    option = undefined;
    parts = [];
  };
  text.split(/\r?\n/).forEach((line, index) => {
    const lineNo = index + 1;
    const commentStart = commentIndex(line);
    const value = (commentStart === undefined ? line : line.slice(0, commentStart)).trim();
    if (value === '') {
      // a blank (not comment) line inside a value is kept, as RawConfigParser does; trailing ones go
      if (commentStart === undefined && option !== undefined) parts.push('');
      else indent = Number.MAX_SAFE_INTEGER;
      return;
    }
    const lineIndent = line.length - line.trimStart().length;
    if (current && option !== undefined && lineIndent > indent) {
      parts.push(value);
      return;
    }
    indent = lineIndent;
    const header = /^\[(.+)\]/.exec(value);
    if (header) {
      flush();
      const name = header[1]!;
      current = sections.find((s) => s.name === name);
      if (!current) {
        current = { name, line: lineNo, options: new Map() };
        sections.push(current);
      }
      return;
    }
    const match = /^(.*?)\s*[=:]\s*(.*)$/.exec(value);
    if (!current) {
      issues.push({ path: `line ${lineNo}`, message: 'option outside any [section]' });
      return;
    }
    if (!match || match[1] === '') {
      issues.push({ path: `line ${lineNo}`, message: `expected 'name = value', got '${value}'` });
      return;
    }
    flush();
    option = match[1]!.toLowerCase();
    parts = [match[2]!];
  });
  flush();
  if (issues.length) throw new ConfigError(issues);
  return sections;
}

/** Where a comment starts in a line, or undefined (RawConfigParser's inline_comment_prefixes rule). */
function commentIndex(line: string): number | undefined {
  const trimmed = line.trim();
  if (trimmed.startsWith(';') || trimmed.startsWith('#')) return 0;
  for (let i = 0; i < line.length; i++) {
    if ((line[i] === ';' || line[i] === '#') && (i === 0 || /\s/.test(line[i - 1]!))) return i;
  }
  return undefined;
}

/** Parses a supervisord.conf into the validated model; `%(…)s` expansions stay verbatim. */
export function parseIni(text: string): SupervisorConfig {
  const raw: Record<string, unknown> = {};
  const issues: ConfigIssue[] = [];
  for (const section of readIni(text)) {
    const options = Object.fromEntries(section.options);
    const colon = section.name.indexOf(':');
    const kind = colon === -1 ? section.name : section.name.slice(0, colon);
    const name = colon === -1 ? undefined : section.name.slice(colon + 1).trim();
    if ((SINGLE_SECTIONS as readonly string[]).includes(kind) && name === undefined) {
      raw[kind] = options;
    } else if ((KEYED_SECTIONS as readonly string[]).includes(kind) && name) {
      const map = (raw[kind] ??= {}) as Record<string, unknown>;
      map[name] = options;
    } else if (kind === 'ctlplugin') {
      issues.push({ path: `[${section.name}]`, message: 'supervisorctl plugins are not supported' });
    } else {
      issues.push({ path: `[${section.name}]`, message: 'unknown section' });
    }
  }
  const result = supervisorConfigSchema.safeParse(raw);
  if (!result.success) issues.push(...issuesFromZod(result.error, { schema: supervisorConfigSchema }));
  if (issues.length) throw new ConfigError(issues);
  return result.data!;
}

/** The INI text of one value, or a problem when supervisord could not read it back unchanged. */
function iniValue(key: string, value: unknown): string {
  let out: string;
  if (Array.isArray(value)) out = value.map(String).join(key === 'files' ? ' ' : ',');
  else if (key === 'environment' && typeof value === 'object' && value !== null) {
    out = renderEnvironment(value as Record<string, string>);
  } else out = String(value);
  if (/\s[;#]/.test(out)) {
    throw new Error(`contains whitespace followed by ';' or '#', which supervisord reads as a comment`);
  }
  if (out !== out.trim()) throw new Error('has leading or trailing whitespace, which supervisord drops');
  // continuation lines keep a multi-line value (e.g. a long command) intact
  return out.split('\n').join('\n    ');
}

function renderSection(header: string, path: string[], body: Record<string, unknown>, issues: ConfigIssue[]) {
  const lines = [`[${header}]`];
  for (const [key, value] of Object.entries(body)) {
    if (value === undefined) continue;
    try {
      lines.push(`${key}=${iniValue(key, value)}`);
    } catch (error) {
      issues.push({ path: formatPath([...path, key]), message: (error as Error).message });
    }
  }
  return lines.join('\n');
}

/** Renders the model as supervisord INI: only the options that are set. Validates first. */
export function renderIni(config: SupervisorConfig): string {
  const parsed = supervisorConfigSchema.safeParse(config);
  if (!parsed.success) throw new ConfigError(issuesFromZod(parsed.error, { schema: supervisorConfigSchema }));
  const model = parsed.data;
  const issues: ConfigIssue[] = [];
  const blocks: string[] = [];
  for (const kind of SINGLE_SECTIONS) {
    const body = model[kind];
    if (body) blocks.push(renderSection(kind, [kind], body, issues));
  }
  for (const kind of KEYED_SECTIONS) {
    for (const [name, body] of Object.entries(model[kind] ?? {})) {
      blocks.push(renderSection(`${kind}:${name}`, [kind, name], body as Record<string, unknown>, issues));
    }
  }
  if (issues.length) throw new ConfigError(issues);
  return `${blocks.join('\n\n')}\n`;
}
