import { Queue } from 'bullmq';
import { pino } from 'pino';
import { NEVER } from 'rxjs';
import { z } from 'zod';
import { defer } from '../../src/client/index.js';
import { TRIGGERS_QUEUE } from '../../src/record.js';
import { ConnectionResolver } from '../../src/triggerer/connections.js';
import { Triggerer } from '../../src/triggerer/daemon.js';
import { redisOptions } from '../../src/triggerer/redis.js';
import { startRedis } from '../fixtures/redis.js';
import { waitUntil } from '../fixtures/processes.js';

const redis = await startRedis();
const registry = { get: () => ({ classpath: 'test.Never', kwargs: z.object({}), run: () => NEVER }) };
const endpoints = await ConnectionResolver.create({ env: {} });
const triggerer = new Triggerer({ connection: redisOptions(redis.url), registry, endpoints, logger: pino({ level: 'silent' }) });
const queue = new Queue(TRIGGERS_QUEUE, { connection: redisOptions(redis.url) });
await triggerer.start();
console.log('started');
if (process.argv[2] !== 'nojob') {
await defer({ classpath: 'test.Never' }, { connection: redis.url, id: 'held-1' });
await waitUntil(async () => ((await queue.getJobState('held-1')) === 'active' ? true : undefined));
}
console.log('active');
const w = (triggerer as any).worker;
for (const m of ['whenCurrentJobsFinished']) { const o = w[m].bind(w); w[m] = async (...a: unknown[]) => { console.log('>', m); const r = await o(...a); console.log('<', m); return r; }; }
const b = w.backend; for (const m of ['disconnectBlocking','close']) { const o = b[m].bind(b); b[m] = async (...a: unknown[]) => { console.log('>', m); const r = await o(...a); console.log('<', m); return r; }; }
const lm = w.lockManager; { const o = lm.close.bind(lm); lm.close = async () => { console.log('> lm.close'); await o(); console.log('< lm.close'); }; }

await triggerer.close();
console.log('closed', await queue.getJobState('held-1'));
await queue.close();
console.log('queue closed');
await redis.stop();
console.log('redis stopped');
setTimeout(() => {
  for (const h of (process as any)._getActiveHandles()) console.log('HANDLE', h.constructor.name, h.remotePort, h._pendingData ?? '');
}, 3000).unref();
