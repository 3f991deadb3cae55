/**
 * `config import`: an existing supervisord.conf as an equivalent job file. The source is only read:
 * the job gets a working dir of its own, `%(here)s` is expanded to the directory of the file that
 * holds it (what supervisord would expand it to), files pulled in by `[include]` are merged in as
 * supervisord merges them, and programs keep supervisord's own defaults. What import changed or
 * dropped is listed in `notes`.
 */
import { readFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { stringify } from 'yaml';
import { ConfigError, issuesFromZod } from './errors.js';
import { globFiles } from './glob.js';
import { readIni } from './ini.js';
import { validateJob } from './load.js';
import type { JobConfigInput } from './job.js';
import {
  KEYED_SECTIONS,
  SINGLE_SECTIONS,
  eventlistenerSection,
  fcgiProgramSection,
  groupSection,
  includeSection,
  inetHttpServerSection,
  programSection,
  supervisorConfigSchema,
  supervisorctlSection,
  supervisordSection,
  unixHttpServerSection,
} from './sections.js';

/** Options for {@link importSupervisorFile}. */
export interface ImportOptions {
  /** The job's own folder: never the source's directory nor inside it. */
  workingDir: string;
  /** Let the convenience layer place supervisord's log, pidfile, child logs and socket in working_dir. @default false */
  relocate?: boolean;
  /** Defaults for what the source's programs leave unset. @default 'supervisord' (its own defaults) */
  programDefaults?: 'supervisord' | 'convenience';
  /** For `%(ENV_X)s` in `[include] files=`. @default process.env */
  env?: NodeJS.ProcessEnv;
}

/** The imported job and what import did to get it. */
export interface ImportResult {
  job: JobConfigInput;
  /** Absolute path of the source file. */
  source: string;
  /** Files merged in through `[include]`, in the order supervisord reads them. */
  included: string[];
  /** One line per thing import changed, dropped or could not find. */
  notes: string[];
}

/** Options each section accepts; anything else supervisord ignores, and so does import (with a note). */
const KNOWN_OPTIONS: Record<string, readonly string[] | 'any'> = {
  supervisord: Object.keys(supervisordSection.shape),
  supervisorctl: Object.keys(supervisorctlSection.shape),
  unix_http_server: Object.keys(unixHttpServerSection.shape),
  inet_http_server: Object.keys(inetHttpServerSection.shape),
  include: Object.keys(includeSection.shape),
  program: Object.keys(programSection.shape),
  group: Object.keys(groupSection.shape),
  eventlistener: Object.keys(eventlistenerSection.shape),
  'fcgi-program': Object.keys(fcgiProgramSection.shape),
  rpcinterface: 'any',
};

const NO_PROGRAM = 'a job needs at least one program';

/** supervisord's files that `relocate` hands back to the convenience layer. */
const RELOCATED: [section: string, option: string][] = [
  ['supervisord', 'logfile'],
  ['supervisord', 'pidfile'],
  ['supervisord', 'childlogdir'],
  ['unix_http_server', 'file'],
  ['supervisorctl', 'serverurl'],
];

/** Replaces `%(here)s` (not `%%(here)s`) with `dir`, escaped for supervisord's own expansion. */
export function expandHere(value: string, dir: string): string {
  const escaped = dir.replace(/%/g, '%%');
  return value.replace(/%%|%\(here\)s/g, (match) => (match === '%%' ? match : escaped));
}

/** A section as merged: its options in file order, later files overriding earlier ones. */
type Merged = Map<string, Map<string, string>>;

async function readSource(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    throw new ConfigError([
      { path: file, message: `cannot read: ${(error as NodeJS.ErrnoException).code ?? String(error)}` },
    ]);
  }
}

/** Reads one file into `merged`, expanding `%(here)s` to that file's directory. */
async function mergeFile(merged: Merged, file: string): Promise<void> {
  let sections;
  try {
    sections = readIni(await readSource(file));
  } catch (error) {
    if (error instanceof ConfigError) {
      throw new ConfigError(error.issues.map((issue) => ({ ...issue, path: `${file}: ${issue.path}` })));
    }
    throw error;
  }
  for (const section of sections) {
    const options = merged.get(section.name) ?? new Map<string, string>();
    for (const [key, value] of section.options) options.set(key, expandHere(value, dirname(file)));
    merged.set(section.name, options);
  }
}

/** The include patterns as supervisord reads them: expanded, then relative to the main file. */
function includePatterns(files: string, base: string, env: NodeJS.ProcessEnv): string[] {
  const expanded = files.replace(/%%|%\(([^)]*)\)s/g, (match, name: string | undefined) => {
    if (match === '%%') return '%';
    if (name === 'host_node_name') return hostname();
    if (name?.startsWith('ENV_') && env[name.slice(4)] !== undefined) return env[name.slice(4)]!;
    throw new ConfigError([
      {
        path: 'include.files',
        message: `cannot expand ${match}: set the environment variable or write the path`,
      },
    ]);
  });
  return expanded
    .split(/\s+/)
    .filter((part) => part !== '')
    .map((pattern) => resolve(base, pattern));
}

function isWithin(dir: string, parent: string): boolean {
  const rel = relative(parent, dir);
  return rel === '' || (!rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel));
}

/** Converts a supervisord.conf (and the files it includes) into a job; the source is only read. */
export async function importSupervisorFile(file: string, options: ImportOptions): Promise<ImportResult> {
  const source = resolve(file);
  const sourceDir = dirname(source);
  const workingDir = resolve(options.workingDir);
  if (isWithin(workingDir, sourceDir)) {
    throw new ConfigError([
      {
        path: 'working_dir',
        message: `${workingDir} is in the source's directory ${sourceDir}: give the job a folder of its own (--working-dir)`,
      },
    ]);
  }
  const notes: string[] = [];
  const merged: Merged = new Map();
  await mergeFile(merged, source);

  const included: string[] = [];
  const include = merged.get('include');
  if (include) {
    const files = include.get('files');
    if (files === undefined) {
      throw new ConfigError([
        { path: 'include', message: 'has no files option (supervisord refuses it too)' },
      ]);
    }
    for (const pattern of includePatterns(files, sourceDir, options.env ?? process.env)) {
      const matches = await globFiles(pattern);
      if (matches.length === 0) notes.push(`include: no file matches ${pattern} (supervisord skips it too)`);
      for (const match of matches) {
        await mergeFile(merged, match);
        included.push(match);
      }
    }
    merged.delete('include');
    if (included.length) notes.push(`include: merged ${included.join(', ')}`);
  }

  const raw: Record<string, unknown> = {};
  for (const [name, sectionOptions] of merged) {
    const colon = name.indexOf(':');
    const kind = colon === -1 ? name : name.slice(0, colon);
    const key = colon === -1 ? undefined : name.slice(colon + 1).trim();
    const single = (SINGLE_SECTIONS as readonly string[]).includes(kind) && key === undefined;
    const keyed = (KEYED_SECTIONS as readonly string[]).includes(kind) && !!key;
    if (!single && !keyed) {
      notes.push(`dropped [${name}]: not a section supervisord reads`);
      continue;
    }
    const known = KNOWN_OPTIONS[kind]!;
    const body: Record<string, string> = {};
    for (const [option, value] of sectionOptions) {
      if (known === 'any' || known.includes(option)) body[option] = value;
      else notes.push(`dropped [${name}] ${option}: not an option supervisord reads`);
    }
    if (single) raw[kind] = body;
    else ((raw[kind] ??= {}) as Record<string, unknown>)[key!] = body;
  }

  const parsed = supervisorConfigSchema.safeParse(raw);
  if (!parsed.success) throw new ConfigError(issuesFromZod(parsed.error));
  if (options.relocate) {
    for (const [section, option] of RELOCATED) {
      const body = (parsed.data as Record<string, unknown>)[section] as Record<string, unknown> | undefined;
      if (body?.[option] === undefined) continue;
      notes.push(`relocated ${section}.${option} (was ${String(body[option])}) into working_dir`);
      delete body[option];
    }
  }

  const programDefaults = options.programDefaults ?? 'supervisord';
  const job = {
    working_dir: workingDir,
    program_defaults: programDefaults,
    ...parsed.data,
  } as JobConfigInput;
  try {
    validateJob(job);
  } catch (error) {
    // a source without programs (e.g. Debian's stock file) still imports: the user adds them next
    if (!(error instanceof ConfigError)) throw error;
    const rest = error.issues.filter((issue) => issue.message !== NO_PROGRAM);
    if (rest.length) throw new ConfigError(rest);
    notes.push('the source defines no program: add one before using the job');
  }
  return { job, source, included, notes };
}

/** The job as YAML, headed by comments on where it came from and what import did. */
export function jobToYaml(job: JobConfigInput, comments: string[] = []): string {
  const header = comments.map((line) => `# ${line}\n`).join('');
  return header + stringify(job, { lineWidth: 0 });
}

/** The folder `config import` gives a job when none is named: `<cwd>/<source name>-job`. */
export function defaultImportDir(file: string, cwd: string = process.cwd()): string {
  const name =
    file
      .split('/')
      .pop()!
      .replace(/\.[^.]*$/, '') || 'supervisord';
  return join(cwd, `${name}-job`);
}
