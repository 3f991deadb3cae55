/** `supervisor-triggerer status [--json]`: trigger counts per endpoint and state. */
import { parseArgs } from 'node:util';
import { triggerStatus, type StateCounts } from '../client/index.js';
import { findRedisUrl } from '../triggerer/redis.js';
import { EXIT_OK, UsageError, type CliIO } from './io.js';

const HELP = `usage: supervisor-triggerer status [--json] [--redis-url URL] [--state-dir DIR]

Prints the triggers per endpoint (kwargs.endpoint; '-' for none) and state.
`;

const COLUMNS: (keyof StateCounts)[] = ['waiting', 'active', 'delayed', 'completed', 'failed'];

/** Runs `status`. */
export async function run(args: string[], io: CliIO): Promise<number> {
  let values;
  try {
    values = parseArgs({
      args,
      options: {
        json: { type: 'boolean' },
        'redis-url': { type: 'string' },
        'state-dir': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }).values;
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  if (values.help) {
    io.stdout(HELP);
    return EXIT_OK;
  }
  const connection = await findRedisUrl({
    url: values['redis-url'],
    env: io.env,
    stateDir: values['state-dir'],
  });
  const report = await triggerStatus({ connection });
  if (values.json) {
    io.stdout(`${JSON.stringify(report, null, 2)}\n`);
    return EXIT_OK;
  }
  const rows: string[][] = [
    ['ENDPOINT', ...COLUMNS.map((c) => c.toUpperCase())],
    ...Object.entries(report.endpoints)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([name, counts]) => [name, ...COLUMNS.map((c) => String(counts[c]))]),
    ['TOTAL', ...COLUMNS.map((c) => String(report.total[c]))],
  ];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  io.stdout(
    rows
      .map((r) =>
        r
          .map((cell, i) => cell.padEnd(widths[i] ?? 0))
          .join('  ')
          .trimEnd(),
      )
      .join('\n') + '\n',
  );
  return EXIT_OK;
}
