/**
 * The CLI's commands on a Sentinel group or a Redis Cluster that nothing answers for (no sentinel,
 * no node listening): one line and exit 1, naming the URL without its password, never a hang (ioredis
 * asks sentinels again without end unless told otherwise) nor a stack trace.
 */
import { test } from 'node:test';
import { assertOneLineFailure, runCli } from '../fixtures/cli.js';
import { freePort } from '../fixtures/ports.js';

const SECRET = 'pw-never-printed-7d';
/** Each command must be over well before this (a hang is a failure, not a slow pass). */
const BOUND_MS = 30_000;

const COMMANDS = [
  ['defer', '--classpath', 'time.TimeDeltaTrigger'],
  ['cancel', 'some-id'],
  ['status'],
  ['job', 'list'],
  ['triggerer', '--metrics-port', 'none'],
];

/** What each command's one line says: the `job` command words it its own way. */
function expected(command: string, shown: string, cause: string): RegExp {
  return command === 'job'
    ? new RegExp(`^supervisor-triggerer job: cannot reach Redis at ${shown}: ${cause}`)
    : new RegExp(`^supervisor-triggerer ${command}: Redis at ${shown} is unreachable: ${cause}`);
}

for (const kind of ['sentinel', 'cluster'] as const) {
  test(`with no ${kind} answering, defer, cancel, status, job and the triggerer exit 1 with one line`, async () => {
    const [a, b] = [await freePort(), await freePort()];
    const hosts = `127.0.0.1:${a},127.0.0.1:${b}`;
    const path = kind === 'sentinel' ? '/mymaster' : '';
    const url = `redis+${kind}://:${SECRET}@${hosts}${path}`;
    const shown = `redis\\+${kind}://:\\*\\*\\*@${hosts.replaceAll('.', '\\.')}${path}`;
    // A cluster client reports whichever step found no node first: the connect or the slots refresh.
    const cause =
      kind === 'sentinel'
        ? 'All sentinels are unreachable'
        : '(None of startup nodes is available|Failed to refresh slots cache)';
    const results = await Promise.all(
      COMMANDS.map((args) => runCli(args, { env: { REDIS_URL: url }, timeoutMs: BOUND_MS })),
    );
    results.forEach((result, i) => {
      const args = COMMANDS[i]!;
      assertOneLineFailure(result, expected(args[0]!, shown, cause), args.join(' '), [SECRET]);
    });
  });
}
