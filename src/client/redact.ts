/**
 * What `status` may show of a record's kwargs or an event's payload: values under secret-like keys
 * replaced, and everything bounded, so that neither a credential someone put in a record by mistake
 * nor a huge value reaches a terminal or a log. The result is still a plain JSON value.
 *
 *   { password: 'x', programs: [...500 names] }  →  { password: '[redacted]', programs: [...20 names, '… 480 more'] }
 */

/** Keys whose values are never shown (matched case-insensitively anywhere in the key). */
const SECRET_KEY =
  /pass(word|phrase|wd)?|secret|token|api[-_]?key|private[-_]?key|credential|authori[sz]ation|^auth$/i;
/** What a redacted value is replaced by (as in the triggerer's logs). */
export const REDACTED = '[redacted]';

/** How much of a value is shown. */
export interface ShownLimits {
  /** Characters of one string. @default 200 */
  stringChars?: number;
  /** Items of one array. @default 20 */
  arrayItems?: number;
  /** Keys of one object. @default 30 */
  objectKeys?: number;
  /** Levels of nesting. @default 5 */
  depth?: number;
  /** Values in all (what keeps the whole small however the others combine). @default 300 */
  values?: number;
}

function limitsOf(limits: ShownLimits): Required<ShownLimits> {
  return { stringChars: 200, arrayItems: 20, objectKeys: 30, depth: 5, values: 300, ...limits };
}

/** The value with secret-like keys redacted and strings, arrays, objects, nesting and size bounded. */
export function shownValue(value: unknown, limits: ShownLimits = {}): unknown {
  const all = limitsOf(limits);
  return shown(value, all, 0, { left: all.values });
}

function shown(
  value: unknown,
  limits: Required<ShownLimits>,
  depth: number,
  budget: { left: number },
): unknown {
  if (budget.left <= 0) return '…';
  budget.left -= 1;
  if (typeof value === 'string') {
    return value.length <= limits.stringChars
      ? value
      : `${value.slice(0, limits.stringChars)}… (${value.length - limits.stringChars} more characters)`;
  }
  if (value === null || typeof value !== 'object') return value;
  if (depth >= limits.depth) return Array.isArray(value) ? '[…]' : '{…}';
  if (Array.isArray(value)) {
    const items = value.slice(0, limits.arrayItems).map((item) => shown(item, limits, depth + 1, budget));
    const more = value.length - limits.arrayItems;
    return more > 0 ? [...items, `… ${more} more`] : items;
  }
  const entries = Object.entries(value as Record<string, unknown>);
  const result: Record<string, unknown> = {};
  for (const [key, item] of entries.slice(0, limits.objectKeys)) {
    const name = key.length <= limits.stringChars ? key : `${key.slice(0, limits.stringChars)}…`;
    result[name] = SECRET_KEY.test(key) ? REDACTED : shown(item, limits, depth + 1, budget);
  }
  const more = entries.length - limits.objectKeys;
  if (more > 0) result['…'] = `${more} more keys`;
  return result;
}
