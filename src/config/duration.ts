/**
 * The one rule for durations written as data (job files, the triggerer config, trigger kwargs, CLI
 * flags): `30s`, `5m`, `8h`, `1h30m`, `250ms`, `2d`, ISO 8601 `PT5M`, or a bare number of SECONDS.
 * Only TypeScript options whose names end in `Ms` take milliseconds.
 */
import { z } from 'zod';

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Longest duration text accepted: a duration is short, and a long one must not cost parse time. */
export const MAX_DURATION_TEXT = 64;
/** Longest duration accepted (about 100 years): anything longer is a mistake, not a wait. */
export const MAX_DURATION_MS = 100 * 366 * UNIT_MS.d!;

/** Parses a duration into milliseconds; throws an Error saying what is accepted. */
export function parseDuration(value: string | number): number {
  return checkMagnitude(parseDurationText(value), value);
}

function checkMagnitude(ms: number, value: string | number): number {
  if (!Number.isFinite(ms) || ms > MAX_DURATION_MS) {
    throw new Error(`duration ${describe(value)} is too long (at most 100 years)`);
  }
  return ms;
}

function describe(value: string | number): string {
  const text = String(value);
  return text.length > 20 ? `'${text.slice(0, 20)}…'` : `'${text}'`;
}

function parseDurationText(value: string | number): number {
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || value < 0)
      throw new Error(`expected a non-negative duration, got ${describe(value)}`);
    return Math.round(value * 1000);
  }
  if (typeof value !== 'string') throw new Error('expected a duration as text or a number of seconds');
  // Checked before any pattern runs: every pattern below is then bounded by this length.
  if (value.length > MAX_DURATION_TEXT) {
    throw new Error(
      `expected a duration like 30s or 5m, got ${value.length} characters (at most ${MAX_DURATION_TEXT})`,
    );
  }
  const text = value.trim();
  // The common case first (`5s`, `250ms`): every trigger's interval is parsed when it is set up.
  const single = /^(\d+)(ms|s|m|h|d)$/.exec(text);
  if (single) return Number(single[1]) * UNIT_MS[single[2]!]!;
  if (/^\d+(\.\d+)?$/.test(text)) return Math.round(Number(text) * 1000);
  const iso =
    /^P(?:(\d+(?:\.\d+)?)D)?(?:T(?:(\d+(?:\.\d+)?)H)?(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)S)?)?$/i.exec(
      text,
    );
  if (iso && text.length > 1 && !/T$/i.test(text)) {
    const [, d = '0', h = '0', m = '0', s = '0'] = iso;
    return Math.round(
      Number(d) * UNIT_MS.d! + Number(h) * UNIT_MS.h! + Number(m) * UNIT_MS.m! + Number(s) * 1000,
    );
  }
  const parts = [...text.matchAll(/(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)/gi)];
  const joined = parts.map((p) => p[0]).join('');
  if (parts.length > 0 && joined.replace(/\s/g, '') === text.replace(/\s/g, '')) {
    return Math.round(parts.reduce((sum, p) => sum + Number(p[1]) * UNIT_MS[p[2]!.toLowerCase()]!, 0));
  }
  throw new Error(
    `expected a duration like 30s, 5m, 8h, 1h30m, PT5M or a number of seconds, got ${describe(value)}`,
  );
}

/**
 * A zod schema of a duration written as data (text or seconds), output in ms. Its messages say what
 * is wrong, not where: the issue's path names the key.
 */
export function durationSchema() {
  return z
    .union([z.number(), z.string()], {
      error: (issue) =>
        issue.input === undefined
          ? 'required'
          : 'expected a duration like 250ms, 10s, 5m, 1h30m, PT5M or a number of seconds',
    })
    .transform((value, ctx) => {
      try {
        return parseDuration(value);
      } catch (error) {
        ctx.addIssue({ code: 'custom', message: (error as Error).message });
        return z.NEVER;
      }
    });
}
