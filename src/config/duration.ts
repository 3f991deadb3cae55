/**
 * The one rule for durations written as data (job files, the triggerer config, trigger kwargs, CLI
 * flags): `30s`, `5m`, `8h`, `1h30m`, `250ms`, `2d`, ISO 8601 `PT5M`, or a bare number of SECONDS.
 * Only TypeScript options whose names end in `Ms` take milliseconds.
 */
import { z } from 'zod';

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Parses a duration into milliseconds; throws an Error saying what is accepted. */
export function parseDuration(value: string | number): number {
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || value < 0)
      throw new Error(`expected a non-negative duration, got ${value}`);
    return Math.round(value * 1000);
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
  throw new Error(`expected a duration like 30s, 5m, 8h, 1h30m, PT5M or a number of seconds, got '${value}'`);
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
