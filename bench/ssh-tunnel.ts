/**
 * A poll (getAllProcessInfo, 50 programs, ~64 KB) through the SSH tunnel against the same poll of
 * the local unix socket: one supervisord, one real sshd on loopback (the fixture), both clients kept
 * alive, measured side by side in alternating rounds so that load on the machine hits both alike.
 * Prints latency percentiles and the client's CPU per poll (process.cpuUsage), and sshd's CPU per
 * poll for the tunnel (its session process, from /proc).
 * Run: node --import tsx bench/ssh-tunnel.ts   (ROUNDS=10 POLLS=50 by default)
 */
import { readFileSync } from 'node:fs';
import { SupervisorClient } from '../src/supervisor/client.js';
import { closeSshHosts, sshHost } from '../src/supervisor/host/index.js';
import { hostOptions, hostSection } from '../src/config/index.js';
import { descendants } from '../test/fixtures/proc-tree.js';
import { waitUntil } from '../test/fixtures/processes.js';
import { startSshd } from '../test/fixtures/sshd.js';
import { rawCall, startSupervisord } from '../test/fixtures/supervisord.js';
import { sleepers } from './programs.js';
import { machine, quantile } from './stats.js';

const rounds = Number(process.env.ROUNDS ?? 10);
const polls = Number(process.env.POLLS ?? 50);

const sshd = await startSshd();
const sup = await startSupervisord({ programs: sleepers(50), username: 'bench', password: 'bench-pw' });
const local = new SupervisorClient(sup.endpoint);
const tunneled = sshHost(hostOptions(hostSection.parse(sshd.hostSection())), {}).connect(sup.endpoint);

/** CPU seconds (user + system) of sshd's processes serving us: its descendants. */
function sshdCpuSeconds(): number {
  const tick = 100; // USER_HZ on Linux
  let total = 0;
  for (const pid of descendants(sshd.pid())) {
    try {
      const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
      total += (Number(fields[11]) + Number(fields[12])) / tick;
    } catch {
      // gone meanwhile
    }
  }
  return total;
}

try {
  await waitUntil(
    async () =>
      (await local.getAllProcessInfo()).every((p) => p.statename === 'RUNNING') ? true : undefined,
    { timeoutMs: 30_000 },
  );
  const bytes = Buffer.byteLength(await rawCall(sup.endpoint, 'supervisor.getAllProcessInfo'));
  const results = {
    local: { times: [] as number[], cpuUs: 0, sshdS: 0 },
    tunnel: { times: [] as number[], cpuUs: 0, sshdS: 0 },
  };
  // Warm-up: the SSH connection and its channel, JIT, both agents.
  for (let i = 0; i < 20; i++) {
    await local.getAllProcessInfo();
    await tunneled.getAllProcessInfo();
  }
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 === 0 ? (['local', 'tunnel'] as const) : (['tunnel', 'local'] as const);
    for (const which of order) {
      const client = which === 'local' ? local : tunneled;
      const into = results[which];
      const sshd0 = sshdCpuSeconds();
      const cpu0 = process.cpuUsage();
      for (let i = 0; i < polls; i++) {
        const start = process.hrtime.bigint();
        await client.getAllProcessInfo();
        into.times.push(Number(process.hrtime.bigint() - start) / 1e6);
      }
      const cpu = process.cpuUsage(cpu0);
      into.cpuUs += cpu.user + cpu.system;
      into.sshdS += sshdCpuSeconds() - sshd0;
    }
  }
  console.log(
    `supervisord 50 programs (response ${bytes} bytes); ${rounds} rounds x ${polls} polls each; ${machine()}`,
  );
  console.log('| poll | median ms | p90 ms | p99 ms | client CPU per poll ms | sshd CPU per poll ms |');
  console.log('|---|---|---|---|---|---|');
  for (const [name, r] of Object.entries(results)) {
    const n = r.times.length;
    const cpu = (r.cpuUs / 1000 / n).toFixed(3);
    const server = name === 'tunnel' ? ((r.sshdS * 1000) / n).toFixed(3) : '-';
    const label = name === 'local' ? 'local unix socket' : 'through the SSH tunnel (stream-local)';
    console.log(
      `| ${label} | ${quantile(r.times, 0.5).toFixed(3)} | ${quantile(r.times, 0.9).toFixed(3)} | ${quantile(r.times, 0.99).toFixed(3)} | ${cpu} | ${server} |`,
    );
  }
  const ratio = results.tunnel.cpuUs / results.local.cpuUs;
  console.log(`client CPU, tunnel / local: ${ratio.toFixed(2)}x (target: under 2x)`);
} finally {
  local.close();
  tunneled.close();
  closeSshHosts();
  await sup.stop();
  await sshd.stop();
}
