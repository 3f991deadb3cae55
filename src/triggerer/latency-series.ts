/**
 * The last hour of one kind of latency, a point per minute and per key (an endpoint's polls, or one
 * key for every resume): what the status page's chart draws. The current minute of each key is a
 * small log-scale histogram and each finished minute is kept as its count, p50 and p99, so the memory
 * is bounded whatever the rate (a few hundred bytes per key and minute) and an observation costs one
 * array increment.
 *
 *   observe('box', 12); observe('box', 30)   →   history().box = [{ minute, count: 2, p50Ms: ~12, p99Ms: ~30 }]
 *
 * Quantiles are read from the histogram: each is the geometric middle of its bucket, within ±12%.
 */

/** One minute of one key. */
export interface LatencyPoint {
  /** Start of the minute (unix ms). */
  minute: number;
  /** Observations in that minute. */
  count: number;
  p50Ms: number;
  p99Ms: number;
}

/** Options for {@link LatencySeries}. */
export interface LatencySeriesOptions {
  /** Minutes kept. @default 60 */
  minutes?: number;
  /** Keys kept; a new key past this drops the one observed least recently. @default 50 */
  maxKeys?: number;
  /** Clock in unix ms. @default Date.now */
  now?: () => number;
}

const MINUTE_MS = 60_000;
/** Bucket i holds latencies up to FIRST_BOUND_MS × GROWTH^i: 0.5 ms to about 13 min in 64 buckets. */
const FIRST_BOUND_MS = 0.5;
const GROWTH = 1.25;
const BUCKETS = 64;
const LOG_GROWTH = Math.log(GROWTH);

interface KeySeries {
  /** Start of the minute `counts` holds. */
  minute: number;
  counts: Uint32Array;
  total: number;
  /** Finished minutes, oldest first. */
  points: LatencyPoint[];
  lastSeen: number;
}

/** Per-minute p50/p99 of a latency per key, over the last `minutes`. */
export class LatencySeries {
  private readonly keys = new Map<string, KeySeries>();
  private readonly minutes: number;
  private readonly maxKeys: number;
  private readonly now: () => number;

  constructor(options: LatencySeriesOptions = {}) {
    this.minutes = options.minutes ?? 60;
    this.maxKeys = options.maxKeys ?? 50;
    this.now = options.now ?? Date.now;
  }

  /** One latency of `key`, in ms (negative counts as 0). */
  observe(key: string, ms: number): void {
    const now = this.now();
    let series = this.keys.get(key);
    if (series === undefined) {
      if (this.keys.size >= this.maxKeys) this.dropStalest();
      series = {
        minute: minuteOf(now),
        counts: new Uint32Array(BUCKETS),
        total: 0,
        points: [],
        lastSeen: now,
      };
      this.keys.set(key, series);
    }
    this.roll(series, now);
    series.counts[bucketOf(ms)]! += 1;
    series.total += 1;
    series.lastSeen = now;
  }

  /** Every key's points over the last `minutes`, oldest first, the current minute last. */
  history(): Record<string, LatencyPoint[]> {
    const now = this.now();
    const out: Record<string, LatencyPoint[]> = {};
    for (const [key, series] of this.keys) {
      this.roll(series, now);
      const points = series.total > 0 ? [...series.points, pointOf(series)] : [...series.points];
      if (points.length > 0) out[key] = points;
      else this.keys.delete(key);
    }
    return out;
  }

  /** Closes the minutes that ended before `now` and forgets points older than the window. */
  private roll(series: KeySeries, now: number): void {
    const minute = minuteOf(now);
    if (minute !== series.minute) {
      if (series.total > 0) series.points.push(pointOf(series));
      series.minute = minute;
      series.counts.fill(0);
      series.total = 0;
    }
    const oldest = minute - (this.minutes - 1) * MINUTE_MS;
    let drop = 0;
    while (drop < series.points.length && series.points[drop]!.minute < oldest) drop += 1;
    if (drop > 0) series.points.splice(0, drop);
  }

  private dropStalest(): void {
    let stalest: string | undefined;
    let seen = Infinity;
    for (const [key, series] of this.keys) {
      if (series.lastSeen < seen) [stalest, seen] = [key, series.lastSeen];
    }
    if (stalest !== undefined) this.keys.delete(stalest);
  }
}

function minuteOf(ms: number): number {
  return Math.floor(ms / MINUTE_MS) * MINUTE_MS;
}

function bucketOf(ms: number): number {
  if (!(ms > FIRST_BOUND_MS)) return 0;
  return Math.min(BUCKETS - 1, Math.ceil(Math.log(ms / FIRST_BOUND_MS) / LOG_GROWTH));
}

/** The geometric middle of bucket i (bucket 0: half its bound). */
function middleOf(bucket: number): number {
  if (bucket === 0) return FIRST_BOUND_MS / 2;
  return FIRST_BOUND_MS * GROWTH ** (bucket - 0.5);
}

function pointOf(series: KeySeries): LatencyPoint {
  return {
    minute: series.minute,
    count: series.total,
    p50Ms: round(quantile(series, 0.5)),
    p99Ms: round(quantile(series, 0.99)),
  };
}

function quantile(series: KeySeries, q: number): number {
  const rank = Math.max(1, Math.ceil(q * series.total));
  let seen = 0;
  for (let i = 0; i < BUCKETS; i++) {
    seen += series.counts[i]!;
    if (seen >= rank) return middleOf(i);
  }
  return middleOf(BUCKETS - 1);
}

function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}
