/**
 * Round trip of getAllProcessInfo (50 programs, ~60 KB) and getState (tiny) over: TCP kept alive,
 * TCP with a fresh connection per call, and a unix socket (kept alive). supervisord never sets
 * TCP_NODELAY, so large responses on a kept-alive TCP connection stall on Nagle vs delayed ACK.
 * Run: node --import tsx bench/transport.ts
 */
import { SupervisorClient } from '../src/supervisor/client.js';
import { freePort } from '../test/fixtures/ports.js';
import { waitUntil } from '../test/fixtures/processes.js';
import { startSupervisord } from '../test/fixtures/supervisord.js';
import { sleepers } from './programs.js';
import { machine, sample, summary } from './stats.js';

const port = await freePort();
const sup = await startSupervisord({
  programs: sleepers(50),
  extra: `[inet_http_server]\nport=127.0.0.1:${port}\n`,
});
const clients = {
  'TCP, kept alive': new SupervisorClient({ url: `http://127.0.0.1:${port}/RPC2` }, { tcpKeepAlive: true }),
  'TCP, fresh connection per call': new SupervisorClient({ url: `http://127.0.0.1:${port}/RPC2` }),
  'unix socket, kept alive': new SupervisorClient(sup.endpoint),
};
try {
  const first = Object.values(clients)[0] as SupervisorClient;
  await waitUntil(
    async () =>
      (await first.getAllProcessInfo()).every((p) => p.statename === 'RUNNING') ? true : undefined,
    { timeoutMs: 30_000 },
  );
  console.log(`supervisord 50 programs; ${machine()}`);
  console.log('| transport | getAllProcessInfo median ms | p99 ms | getState median ms | p99 ms |');
  console.log('|---|---|---|---|---|');
  for (const [name, client] of Object.entries(clients)) {
    const big = summary(await sample(() => client.getAllProcessInfo(), { warmup: 10, iterations: 100 }));
    const small = summary(await sample(() => client.getState(), { warmup: 10, iterations: 200 }));
    console.log(`| ${name} | ${big.median} | ${big.p99} | ${small.median} | ${small.p99} |`);
  }
} finally {
  for (const client of Object.values(clients)) client.close();
  await sup.stop();
}
