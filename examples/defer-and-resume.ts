/**
 * Defer a task's waiting to the triggerer and resume it in a continuation on the task's own queue.
 * Run a triggerer first (`supervisor-triggerer triggerer --config examples/triggerer.yaml`), start the
 * example job's supervisord and programs, then:
 *   REDIS_URL=redis://127.0.0.1:6379 node --import tsx examples/defer-and-resume.ts
 * and stop the program (`supervisorctl -c /tmp/st-example/supervisord.conf stop ticker`).
 */
import { Worker } from 'bullmq';
import { defer, readTriggerEvent, toConnectionOptions } from '../src/client/index.js';

const redisUrl = process.env.REDIS_URL;
if (!redisUrl) throw new Error("set REDIS_URL to the triggerer's Redis");

const { triggerId } = await defer(
  {
    classpath: 'supervisor.ProgramStateTrigger',
    kwargs: { endpoint: 'example', programs: ['ticker'], states: ['STOPPED', 'EXITED', 'FATAL'] },
  },
  {
    connection: redisUrl,
    timeout: '1h',
    continuation: { queue: 'example-tasks', name: 'after-ticker', data: { note: 'resumed' } },
  },
);
console.log(`deferred ${triggerId}; waiting for the continuation`);

const worker = new Worker(
  'example-tasks',
  async (job) => {
    const event = await readTriggerEvent(job);
    console.log(`continuation ${job.id} resumed with`, event);
    setImmediate(() => void worker.close());
  },
  { connection: toConnectionOptions(redisUrl) },
);
