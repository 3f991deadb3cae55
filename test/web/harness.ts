/**
 * The status page's world under test: a real Redis, a real supervisord whose programs the tests
 * change with supervisorctl, and a triggerer process (the real CLI) serving the page on a free
 * loopback port, with a status token in a file.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { OwnedProcess } from '../fixtures/processes.js';
import { startRedis, type RedisHandle } from '../fixtures/redis.js';
import { startSupervisord, type SupervisordHandle } from '../fixtures/supervisord.js';
import { tempDir } from '../fixtures/tmp.js';
import { startTriggerer } from '../fixtures/triggerers.js';

export const STATUS_TOKEN = 'status-token-0123456789abcdef';

export interface PageWorld {
  redis: RedisHandle;
  supervisord: SupervisordHandle;
  triggerer: OwnedProcess;
  /** `http://127.0.0.1:PORT` of the page. */
  url: string;
  dir: string;
  stop(): Promise<void>;
}

/** Options for {@link startPageWorld}. */
export interface PageWorldOptions {
  /** `[program:NAME]` bodies of the supervisord named `box`. */
  programs: Record<string, string>;
  /** Write a status token file (else the actions are off). @default true */
  token?: boolean;
  /** More keys of the triggerer config. */
  config?: Record<string, unknown>;
}

/** Starts Redis, supervisord and a triggerer serving the page; stops them all if one fails. */
export async function startPageWorld(options: PageWorldOptions): Promise<PageWorld> {
  const dir = await tempDir('page-');
  const stops: (() => Promise<void>)[] = [dir.remove];
  const stopAll = async () => {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
  };
  try {
    const redis = await startRedis();
    stops.push(() => redis.stop());
    const supervisord = await startSupervisord({ programs: options.programs });
    stops.push(() => supervisord.stop());
    const tokenFile = join(dir.path, 'status-token');
    if (options.token ?? true) await writeFile(tokenFile, `${STATUS_TOKEN}\n`, { mode: 0o600 });
    const configPath = join(dir.path, 'triggerer.json');
    await writeFile(
      configPath,
      JSON.stringify({
        connections: { box: { url: supervisord.endpoint.url } },
        default_interval: '200ms',
        lock_duration: '2s',
        stalled_interval: '1s',
        heartbeat_interval: '500ms',
        metrics_port: 0,
        ...((options.token ?? true) && { status_token_file: tokenFile }),
        ...options.config,
      }),
    );
    const triggerer = await startTriggerer(redis.url, configPath);
    stops.push(() => triggerer.stop());
    const url = /"url":"(http:\/\/127\.0\.0\.1:\d+)".*"msg":"serving the status page/.exec(
      triggerer.output(),
    )?.[1];
    if (!url) throw new Error(`the triggerer logged no status page URL:\n${triggerer.output()}`);
    return { redis, supervisord, triggerer, url, dir: dir.path, stop: stopAll };
  } catch (error) {
    await stopAll();
    throw error;
  }
}
