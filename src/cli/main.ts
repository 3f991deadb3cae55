/** The `supervisor-triggerer` command: one program, subcommands loaded on demand. */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { didYouMean } from '../config/suggest.js';
import { EXIT_FAILED, EXIT_USAGE, UsageError, type CliIO, type Subcommand } from './io.js';

const COMMANDS: Record<string, { summary: string; load: () => Promise<Subcommand> }> = {
  config: {
    summary: 'validate, render, import job files; print the JSON Schema',
    load: async () => (await import('./config.js')).run,
  },
  supervisor: {
    summary: 'drive a supervisord: configure, start, start-programs, check, stop, ...',
    load: async () => (await import('./supervisor.js')).run,
  },
  triggerer: {
    summary: 'run the triggerer daemon',
    load: async () => (await import('./triggerer.js')).run,
  },
  defer: {
    summary: 'enqueue a trigger (optionally wait for its event)',
    load: async () => (await import('./defer.js')).run,
  },
  cancel: {
    summary: 'cancel a trigger (its continuation runs with status cancelled)',
    load: async () => (await import('./cancel.js')).run,
  },
  job: {
    summary: 'start, stop, inspect and schedule always-on job runs',
    load: async () => (await import('./job.js')).run,
  },
  worker: {
    summary: 'run the steps of the always-on jobs of this machine',
    load: async () => (await import('./worker.js')).run,
  },
  status: {
    summary: 'show live triggerers and triggers per endpoint and state',
    load: async () => (await import('./status.js')).run,
  },
  top: {
    summary: 'a live full-screen status view (status --watch)',
    load: async () => {
      const { run } = await import('./status.js');
      return (args, io) => run(['--watch', ...args], io);
    },
  },
};

export function usage(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((name) => name.length));
  const lines = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`);
  return `usage: supervisor-triggerer <command> [options]\n       supervisor-triggerer --version\n\ncommands:\n${lines.join('\n')}\n\nRun 'supervisor-triggerer <command> --help' for a command's options.\n`;
}

/** The version in the package's package.json (found upwards from this file, in src/ or dist/). */
export function packageVersion(): string {
  for (let dir = dirname(fileURLToPath(import.meta.url)); ; dir = dirname(dir)) {
    try {
      const found = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as {
        name?: string;
        version?: string;
      };
      if (found.name === 'supervisor-triggerer' && found.version) return found.version;
    } catch {
      // no package.json here: look further up
    }
    if (dirname(dir) === dir) return 'unknown';
  }
}

/** Runs the CLI and returns its exit code. */
export async function main(argv: string[], io: CliIO = processIO()): Promise<number> {
  const [name, ...rest] = argv;
  if (name === '--version' || name === '-V') {
    io.stdout(`supervisor-triggerer ${packageVersion()}\n`);
    return 0;
  }
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    io.stdout(usage());
    return name === undefined ? EXIT_USAGE : 0;
  }
  const command = COMMANDS[name];
  if (!command) {
    io.stderr(
      `supervisor-triggerer: unknown command '${name}'${didYouMean(name, Object.keys(COMMANDS))}\n${usage()}`,
    );
    return EXIT_USAGE;
  }
  try {
    return await (
      await command.load()
    )(rest, io);
  } catch (error) {
    if (error instanceof UsageError) {
      io.stderr(`supervisor-triggerer ${name}: ${error.message}\n`);
      return EXIT_USAGE;
    }
    io.stderr(`supervisor-triggerer ${name}: ${error instanceof Error ? error.message : String(error)}\n`);
    return EXIT_FAILED;
  }
}

function processIO(): CliIO {
  return {
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
    env: process.env,
    stderrIsTTY: process.stderr.isTTY === true,
  };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  process.exitCode = await main(process.argv.slice(2));
}
