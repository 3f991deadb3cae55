/** Timing helpers shared by the benches. */
import { cpus } from 'node:os';
import { readFileSync } from 'node:fs';

/** Runs `fn` `warmup` times, then times `iterations` runs; returns each duration in ms. */
export async function sample(fn: () => unknown, { warmup = 50, iterations = 500 } = {}): Promise<number[]> {
  for (let i = 0; i < warmup; i++) await fn();
  const times: number[] = [];
  for (let i = 0; i < iterations; i++) {
    const start = process.hrtime.bigint();
    await fn();
    times.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  return times;
}

/** The `q` quantile (0..1) of `times`. */
export function quantile(times: readonly number[], q: number): number {
  const sorted = [...times].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
}

/** `median / p99` in ms, formatted for a table. */
export function summary(times: readonly number[]): { median: string; p99: string } {
  return { median: quantile(times, 0.5).toFixed(3), p99: quantile(times, 0.99).toFixed(3) };
}

/** The machine the figures come from. */
export function machine(): string {
  const model = /model name\s*:\s*(.*)/.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? cpus()[0]?.model;
  return `nproc ${cpus().length}, CPU ${model ?? 'unknown'}, node ${process.version}`;
}
