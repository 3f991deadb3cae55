/**
 * Parse cost of a 50-program getAllProcessInfo response: our specialised decoder against the
 * `xmlrpc` package's generic parser, on the same bytes fetched from a real supervisord.
 * Run: node --import tsx bench/parse.ts
 */
import assert from 'node:assert/strict';
import { rawCall, startSupervisord } from '../test/fixtures/supervisord.js';
import { waitUntil } from '../test/fixtures/processes.js';
import { decodeResponse } from '../src/supervisor/xmlrpc/decode.js';
import { toProcessInfoList } from '../src/supervisor/xmlrpc/shapes.js';
import { genericDecode } from './generic-decoder.js';
import { sleepers } from './programs.js';
import { machine, sample, summary } from './stats.js';

const PROGRAMS = 50;
const sup = await startSupervisord({ programs: sleepers(PROGRAMS) });
try {
  const xml = await waitUntil(
    async () => {
      const body = await rawCall(sup.endpoint, 'supervisor.getAllProcessInfo');
      return (body.match(/<string>RUNNING<\/string>/g) ?? []).length === PROGRAMS ? body : undefined;
    },
    { timeoutMs: 30_000, what: `${PROGRAMS} programs RUNNING` },
  );
  const ours = () => {
    const decoded = decodeResponse(xml);
    if (decoded.kind !== 'value') throw new Error('fault');
    return decoded.value;
  };
  assert.deepStrictEqual(ours(), genericDecode(xml), 'both decoders must agree');

  const rows = {
    'xmlrpc package (sax)': summary(await sample(() => genericDecode(xml), { warmup: 30, iterations: 300 })),
    'specialised decoder': summary(await sample(ours, { warmup: 300, iterations: 3000 })),
    'specialised + validation': summary(
      await sample(() => toProcessInfoList(ours()), { warmup: 300, iterations: 3000 }),
    ),
  };
  console.log(`getAllProcessInfo, ${PROGRAMS} programs, ${xml.length} bytes; ${machine()}`);
  console.log('| decoder | median ms | p99 ms |\n|---|---|---|');
  for (const [name, { median, p99 }] of Object.entries(rows)) console.log(`| ${name} | ${median} | ${p99} |`);
} finally {
  await sup.stop();
}
