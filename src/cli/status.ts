/** `supervisor-triggerer status [--json]`: live triggerers with their load, then triggers per endpoint and state. */
import { parseArgs } from 'node:util';
import { liveTriggerers, triggerStatus, type StateCounts } from '../client/index.js';
import type { TriggererInfo } from '../triggerer/heartbeat.js';
import { findRedisUrl } from '../triggerer/redis.js';
import { EXIT_OK, type CliIO } from './io.js';
import { REDIS_FLAGS, usageErrors } from './args.js';

const HELP = `usage: supervisor-triggerer status [--json] [--redis-url URL] [--state-dir DIR]

Prints the live triggerers (heartbeats in Redis) with their load, then the triggers per endpoint
(kwargs.endpoint; '-' for none) and state. --json prints { triggerers: [...], triggers: {...} }.
`;

const COLUMNS: (keyof StateCounts)[] = ['waiting', 'active', 'delayed', 'completed', 'failed'];

/** Runs `status`. */
export async function run(args: string[], io: CliIO): Promise<number> {
  const { values } = usageErrors(() =>
    parseArgs({
      args,
      options: {
        json: { type: 'boolean' },
        ...REDIS_FLAGS,
      },
      strict: true,
      allowPositionals: false,
    }),
  );
  if (values.help) {
    io.stdout(HELP);
    return EXIT_OK;
  }
  const connection = await findRedisUrl({
    url: values['redis-url'],
    env: io.env,
    stateDir: values['state-dir'],
  });
  const [triggerers, triggers] = await Promise.all([
    liveTriggerers({ connection }),
    triggerStatus({ connection }),
  ]);
  if (values.json) {
    io.stdout(`${JSON.stringify({ triggerers, triggers }, null, 2)}\n`);
    return EXIT_OK;
  }
  const now = Date.now();
  const triggererRows = triggerers.map((t) => [
    t.id,
    t.hostname,
    String(t.pid),
    `${t.running}/${t.capacity}`,
    endpointsCell(t),
    `${Math.max(0, Math.round((now - Date.parse(t.beat)) / 1000))}s ago`,
  ]);
  const triggerRows = [
    ...Object.entries(triggers.endpoints)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([name, counts]) => [name, ...COLUMNS.map((c) => String(counts[c]))]),
    ['TOTAL', ...COLUMNS.map((c) => String(triggers.total[c]))],
  ];
  io.stdout(
    [
      `triggerers (${triggerers.length} live)`,
      ...(triggerers.length === 0
        ? ['  none: no triggerer has beaten in the last few intervals']
        : table([['ID', 'HOST', 'PID', 'RUNNING/CAPACITY', 'ENDPOINTS', 'LAST BEAT'], ...triggererRows])),
      '',
      'triggers',
      ...table([['ENDPOINT', ...COLUMNS.map((c) => c.toUpperCase())], ...triggerRows]),
    ].join('\n') + '\n',
  );
  return EXIT_OK;
}

function endpointsCell(t: TriggererInfo): string {
  const entries = Object.entries(t.endpoints).sort(([a], [b]) => a.localeCompare(b));
  return entries.length === 0 ? '-' : entries.map(([name, n]) => `${name}:${n}`).join(' ');
}

/** Left-aligned columns, indented by two spaces. */
function table(rows: string[][]): string[] {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map(
    (r) =>
      '  ' +
      r
        .map((cell, i) => cell.padEnd(widths[i] ?? 0))
        .join('  ')
        .trimEnd(),
  );
}
