/** `supervisor-triggerer config`: validate, render and import job files; print the JSON Schema. */
import { parseArgs } from 'node:util';
import { resolve } from 'node:path';
import {
  ConfigError,
  formatIssues,
  defaultImportDir,
  importSupervisorFile,
  jobJsonSchema,
  jobToYaml,
  loadJobFiles,
  renderIni,
  resolveJob,
  writeJobFiles,
} from '../config/index.js';
import { eventJsonSchema, recordJsonSchema } from '../protocol/index.js';
import { EXIT_FAILED, EXIT_OK, UsageError, type CliIO } from './io.js';
import { usageErrors } from './args.js';

/** Each subcommand's own usage, for `config <subcommand> --help`. */
const SUB_USAGE: Record<string, string> = {
  validate: `usage: supervisor-triggerer config validate FILE... [--set key.path=value]...

Loads the job files (layered: later ones win), applies the overrides and checks everything.
Prints ok, or one line per problem and exits 1.
`,
  render: `usage: supervisor-triggerer config render FILE... [--set key.path=value]... [--write]

Prints the complete supervisord.conf of the job; --write also writes it to config_path, creates the
program folders and saves the state file, so 'supervisord -c <config_path>' runs it.
`,
  import: `usage: supervisor-triggerer config import SUPERVISORD_CONF [--working-dir DIR] [--relocate]
                                            [--convenience-defaults]

Prints the job file (YAML) equivalent to an existing supervisord.conf (and the files its [include]
pulls in). The source is only read: the job gets a working dir of its own (DIR, default
./<name>-job), %(here)s is expanded to the source's directory, and programs keep supervisord's own
defaults (--convenience-defaults: this project's). --relocate puts supervisord's log, pidfile and
socket in DIR instead of where the source has them.
`,
  schema: `usage: supervisor-triggerer config schema [--record | --event]

Prints the JSON Schema of the job file format, or with --record / --event of the trigger record /
TriggerEvent exchanged with the triggerer.
`,
};

const USAGE = `usage: supervisor-triggerer config <subcommand>

  validate FILE... [--set key.path=value]...   check job files; prints ok or one line per problem
  render FILE... [--set key.path=value]... [--write]
                                               print the filled supervisord.conf; --write also writes it,
                                               the program folders and the state file into working_dir
  import SUPERVISORD_CONF [--working-dir DIR] [--relocate] [--convenience-defaults]
                                               print the equivalent job file (YAML); the source is
                                               only read. DIR defaults to ./<name>-job; --relocate
                                               puts supervisord's log, pidfile and socket in DIR
  schema [--record | --event]                  print the JSON Schema of the job file format, or of the
                                               trigger record / TriggerEvent exchanged with the triggerer
`;

async function loadAndResolve(files: string[], overrides: string[], io: CliIO) {
  const job = await loadJobFiles(files, { overrides, env: io.env });
  // Offline: a remote job's host is not contacted (its generated password is not read).
  const resolved = await resolveJob(job, { env: io.env, ...(job.host && { files: null }) });
  return { resolved, text: renderIni(resolved.supervisor) };
}

type Parsed = { values: Record<string, string | boolean | string[] | undefined>; positionals: string[] };

function parse(
  args: string[],
  extra: Record<string, { type: 'string' | 'boolean'; multiple?: boolean }>,
): Parsed {
  return usageErrors(() =>
    parseArgs({
      args,
      options: { help: { type: 'boolean', short: 'h' }, ...extra },
      strict: true,
      allowPositionals: true,
    }),
  );
}

async function dispatch(sub: string | undefined, args: string[], io: CliIO): Promise<number> {
  switch (sub) {
    case 'validate':
    case 'render': {
      const { values, positionals } = parse(args, {
        set: { type: 'string', multiple: true },
        ...(sub === 'render' ? { write: { type: 'boolean' } } : {}),
      });
      if (values.help) return (io.stdout(SUB_USAGE[sub]!), EXIT_OK);
      if (positionals.length === 0) throw new UsageError(`${sub} needs at least one job file`);
      const { resolved, text } = await loadAndResolve(
        positionals,
        (values.set as string[] | undefined) ?? [],
        io,
      );
      if (sub === 'validate') {
        io.stdout('ok\n');
        return EXIT_OK;
      }
      if (values.write) await writeJobFiles(resolved);
      io.stdout(text);
      return EXIT_OK;
    }
    case 'import': {
      const { values, positionals } = parse(args, {
        'working-dir': { type: 'string' },
        relocate: { type: 'boolean' },
        'convenience-defaults': { type: 'boolean' },
      });
      if (values.help) return (io.stdout(SUB_USAGE[sub]!), EXIT_OK);
      if (positionals.length !== 1) throw new UsageError('import needs exactly one supervisord.conf');
      const file = resolve(positionals[0]!);
      const workingDir = resolve((values['working-dir'] as string | undefined) ?? defaultImportDir(file));
      const imported = await importSupervisorFile(file, {
        workingDir,
        relocate: values.relocate === true,
        programDefaults: values['convenience-defaults'] ? 'convenience' : 'supervisord',
        env: io.env,
      });
      const comments = [`imported from ${imported.source} (not modified; the job never writes there)`];
      io.stdout(jobToYaml(imported.job, [...comments, ...imported.notes]));
      return EXIT_OK;
    }
    case 'schema': {
      const { values, positionals } = parse(args, {
        record: { type: 'boolean' },
        event: { type: 'boolean' },
      });
      if (values.help) return (io.stdout(SUB_USAGE[sub]!), EXIT_OK);
      if (positionals.length) throw new UsageError('schema takes no arguments');
      if (values.record && values.event) throw new UsageError('give --record or --event, not both');
      const schema = values.record ? recordJsonSchema() : values.event ? eventJsonSchema() : jobJsonSchema();
      io.stdout(`${JSON.stringify(schema, null, 2)}\n`);
      return EXIT_OK;
    }
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      io.stdout(USAGE);
      return sub === undefined ? 2 : EXIT_OK;
    default:
      throw new UsageError(`unknown subcommand '${sub}'\n${USAGE}`);
  }
}

/** Runs `config <subcommand>`; configuration problems print one line each and exit 1. */
export async function run(args: string[], io: CliIO): Promise<number> {
  const [sub, ...rest] = args;
  try {
    return await dispatch(sub, rest, io);
  } catch (error) {
    if (error instanceof ConfigError) {
      io.stderr(`${formatIssues(error.issues)}\n`);
      return EXIT_FAILED;
    }
    throw error;
  }
}
