/**
 * TypeScript hooks for the hooks test: for jobs named `ts-*`, each call appends its context as one
 * JSON line to `<tmpdir>/st-hooks-<runId>.jsonl`; `ts-throws` throws from before_start_programs.
 */
import { appendFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { HookContext, JobHooks } from '../../../src/jobs/hooks.js';

async function record(context: HookContext): Promise<void> {
  if (!context.job.startsWith('ts-')) return;
  await appendFile(join(tmpdir(), `st-hooks-${context.runId}.jsonl`), `${JSON.stringify(context)}\n`);
}

const hooks: JobHooks = {
  before_start_programs: async (context) => {
    await record(context);
    if (context.job === 'ts-throws') throw new Error('refused by the TypeScript hook');
  },
  after_start_programs: record,
  on_end: record,
};

export default hooks;
