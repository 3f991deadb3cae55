/**
 * `status --watch`: a full-screen view that redraws every interval (like `pm2 monit`), on the
 * terminal's alternate screen so that quitting (`q`, Ctrl-C, SIGTERM) gives the screen back as it
 * was. When stdout is not a terminal it prints a plain frame every interval instead (a log, a pipe),
 * and with `--json` one JSON object per line. A frame that cannot be read says why on the screen and
 * the next one tries again.
 */
import { RedisConnectionError } from '../client/index.js';
import { WatchReader, type WatchSnapshot } from './watch-snapshot.js';
import { renderFrame } from './watch-view.js';

/** Where the view is drawn and what ends it. */
export interface WatchTerminal {
  /** stdout is a terminal: draw full-screen. */
  readonly isTTY: boolean;
  /** Its size now. */
  size(): { columns: number; rows: number };
  write(text: string): void;
  /** `q` or Ctrl-C typed (on a terminal), or SIGINT, SIGTERM, SIGHUP. */
  onQuit(callback: () => void): void;
  /** The terminal was resized. */
  onResize(callback: () => void): void;
  /** Gives the terminal back: raw mode off, every listener removed. */
  release(): void;
}

/** Options for {@link watchStatus}. */
export interface WatchOptions {
  /** Redis URL. */
  url: string;
  intervalMs: number;
  /** One JSON object per line instead of frames. */
  json: boolean;
}

/** The alternate screen, cursor hidden, and back. */
const ENTER = '\x1b[?1049h\x1b[?25l';
const LEAVE = '\x1b[?25h\x1b[?1049l';

/** Runs the view until quit; resolves with the exit code. */
export async function watchStatus(options: WatchOptions, terminal: WatchTerminal): Promise<number> {
  const reader = new WatchReader(options.url);
  const fullScreen = terminal.isTTY && !options.json;
  let quitting = false;
  let wake: () => void = () => undefined;
  terminal.onQuit(() => {
    quitting = true;
    wake();
  });
  let last: WatchSnapshot | undefined;
  let error: string | undefined;
  const draw = () => {
    const size = terminal.size();
    const lines = renderFrame(last, {
      columns: fullScreen ? size.columns : 200,
      rows: fullScreen ? size.rows : Infinity,
      color: fullScreen,
      where: reader.where,
      intervalMs: options.intervalMs,
      interactive: fullScreen,
      ...(error !== undefined && { error }),
    });
    // Home, each line over the old one (cleared to its end), then the rest of the screen cleared.
    if (fullScreen) terminal.write(`\x1b[H${lines.join('\x1b[K\n')}\x1b[K\x1b[J`);
    else terminal.write(`${lines.join('\n')}\n\n`);
  };
  if (fullScreen) {
    terminal.write(ENTER);
    terminal.onResize(draw);
  }
  try {
    while (!quitting) {
      const read = reader.read().then(
        (snapshot) => {
          last = snapshot;
          error = undefined;
        },
        (failure: unknown) => {
          error = redisMessageOf(failure);
        },
      );
      await Promise.race([read, new Promise<void>((resolve) => (wake = resolve))]);
      if (quitting) break;
      if (options.json) {
        terminal.write(`${JSON.stringify(error === undefined ? last : { at: Date.now(), error })}\n`);
      } else draw();
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, options.intervalMs);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  } finally {
    if (fullScreen) terminal.write(LEAVE);
    terminal.release();
    await reader.close();
  }
  return 0;
}

/** One line for the screen: the SDK's own message (its URL without password) or ioredis's first line. */
function redisMessageOf(error: unknown): string {
  if (error instanceof RedisConnectionError) return error.message;
  const text = error instanceof Error ? error.message : String(error);
  return `cannot read Redis: ${(text.split('\n')[0] ?? '').slice(0, 300)}`;
}

/** The process's own stdout, stdin and signals. */
export function processTerminal(): WatchTerminal {
  const out = process.stdout;
  const input = process.stdin;
  const raw = out.isTTY === true && input.isTTY === true;
  const undo: (() => void)[] = [];
  return {
    isTTY: out.isTTY === true,
    size: () => ({ columns: out.columns ?? 80, rows: out.rows ?? 24 }),
    write: (text) => void out.write(text),
    onQuit(callback) {
      for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
        process.on(signal, callback);
        undo.push(() => process.removeListener(signal, callback));
      }
      if (!raw) return;
      const onData = (data: Buffer) => {
        // q, Q or Ctrl-C (in raw mode Ctrl-C arrives as a byte, not as SIGINT).
        if (data.includes(0x71) || data.includes(0x51) || data.includes(0x03)) callback();
      };
      input.setRawMode(true);
      input.on('data', onData);
      input.resume();
      undo.push(() => {
        input.removeListener('data', onData);
        input.setRawMode(false);
        input.pause();
      });
    },
    onResize(callback) {
      out.on('resize', callback);
      undo.push(() => out.removeListener('resize', callback));
    },
    release() {
      for (const step of undo.splice(0).reverse()) step();
    },
  };
}
