/**
 * A run's end conditions, fixed when it starts: `runtime` from the reference time, and `endtime`, a
 * time of day in the job's time zone on the reference day. airflow-ha checks both on every poke;
 * here they are absolute instants the watch trigger fires at, and every setup step checks them.
 */
import type { JobOptions } from '../config/job.js';

/** The absolute end conditions of a run (ISO 8601). */
export interface RunLimits {
  /** reference time + runtime. */
  runtimeEndsAt?: string;
  /** The job's endtime on the reference day, in its time zone. */
  endtimeAt?: string;
}

/** Which end condition holds, and how to say it. */
export interface LimitReached {
  reason: 'runtime' | 'endtime';
  message: string;
}

/** The limits of a run whose reference time is `reference` (unix ms). */
export function limitsOf(options: JobOptions, reference: number): RunLimits {
  const limits: RunLimits = {};
  if (options.runtimeMs !== undefined) {
    limits.runtimeEndsAt = new Date(reference + options.runtimeMs).toISOString();
  }
  if (options.endtime !== undefined) {
    limits.endtimeAt = new Date(endtimeOn(reference, options.endtime, options.timezone)).toISOString();
  }
  return limits;
}

/** The first end condition that holds at `now`, or undefined. */
export function limitReached(limits: RunLimits, now: number): LimitReached | undefined {
  if (limits.endtimeAt !== undefined && now >= Date.parse(limits.endtimeAt)) {
    return { reason: 'endtime', message: `the endtime (${limits.endtimeAt}) has passed` };
  }
  if (limits.runtimeEndsAt !== undefined && now >= Date.parse(limits.runtimeEndsAt)) {
    return { reason: 'runtime', message: `the runtime ended at ${limits.runtimeEndsAt}` };
  }
  return undefined;
}

/**
 * The instant at which the wall clock of `timeZone` (local when undefined) shows `time` (`HH:MM` or
 * `HH:MM:SS`) on the calendar day it shows at `reference`. In a DST gap the clock time that does not
 * exist is read with the offset before the change.
 */
export function endtimeOn(reference: number, time: string, timeZone?: string): number {
  const [hour = 0, minute = 0, second = 0] = time.split(':').map(Number);
  const day = wallClock(reference, timeZone);
  const wall = Date.UTC(day.year, day.month - 1, day.day, hour, minute, second);
  // Two rounds settle the offset across a DST change between the reference and the endtime.
  let at = wall - offsetMs(wall, timeZone);
  at = wall - offsetMs(at, timeZone);
  return at;
}

/** The zone's offset from UTC at `instant`, in ms (east positive). */
function offsetMs(instant: number, timeZone?: string): number {
  const clock = wallClock(instant, timeZone);
  const asUtc = Date.UTC(clock.year, clock.month - 1, clock.day, clock.hour, clock.minute, clock.second);
  return asUtc - Math.floor(instant / 1000) * 1000;
}

interface WallClock {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
}

/** What the wall clock of `timeZone` shows at `instant`. */
function wallClock(instant: number, timeZone?: string): WallClock {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone,
    hourCycle: 'h23',
    year: 'numeric',
    month: 'numeric',
    day: 'numeric',
    hour: 'numeric',
    minute: 'numeric',
    second: 'numeric',
  }).formatToParts(new Date(instant));
  const get = (type: Intl.DateTimeFormatPartTypes) => Number(parts.find((p) => p.type === type)?.value);
  return {
    year: get('year'),
    month: get('month'),
    day: get('day'),
    hour: get('hour'),
    minute: get('minute'),
    second: get('second'),
  };
}
