/**
 * Credentials out of free text (a program's log lines before they go into an event): the secrets
 * known by value (the supervisord password the triggerer holds), and what looks like one by its
 * form: a password in a URL, an Authorization header, the value after a secret-like key
 * (`password=…`, `"token": "…"`, `API_KEY: …`), a private key block.
 *
 *   'connecting to redis://app:hunter2@db:6379 with token=abc123'
 *     → 'connecting to redis://app:[redacted]@db:6379 with token=[redacted]'
 */

/** What a redacted value reads as (as in the triggerer's logs). */
export const REDACTED_TEXT = '[redacted]';

/** Secret values shorter than this are not searched for by value: they would match ordinary text. */
const MIN_SECRET_CHARS = 4;

/** A key that names a secret, as in src/client/redact.ts: `password`, `DB_PASSWORD`, `apiKey`, … */
const KEY = String.raw`[\w.-]*(?:pass(?:word|phrase|wd)|pass\b|secret|token|api[-_]?key|private[-_]?key|credentials?)[\w.-]*`;
/** A value: quoted (kept quoted), or up to a space or separator. */
const VALUE = String.raw`("[^"\n]*"|'[^'\n]*'|[^\s"',;&]+)`;
/** The value replaced, its quotes kept. */
const hidden = (value: string) =>
  /^["']/.test(value) ? `${value[0]}${REDACTED_TEXT}${value[0]}` : REDACTED_TEXT;

type Replacer = (match: string, ...groups: string[]) => string;

const PATTERNS: readonly [RegExp, Replacer][] = [
  // -----BEGIN … PRIVATE KEY----- … -----END … PRIVATE KEY----- (or to the end of a cut tail)
  [
    /-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----[\s\S]*?(-----END [A-Z0-9 ]*PRIVATE KEY-----|$)/g,
    () => REDACTED_TEXT,
  ],
  // scheme://user:password@host
  [/(\b[a-z][a-z0-9+.-]*:\/\/[^\s:/@]*:)[^\s@/]+@/gi, (_, head = '') => `${head}${REDACTED_TEXT}@`],
  // Authorization: Basic xxx / Bearer xxx
  [
    /(\bauthori[sz]ation["']?\s*[:=]\s*["']?)((?:basic|bearer|token|digest)\s+)?[^\s"',;]+/gi,
    (_, head = '', scheme = '') => `${head}${scheme}${REDACTED_TEXT}`,
  ],
  // password=…, "token": "…", API_KEY: …
  [
    new RegExp(String.raw`(\b${KEY}["']?\s*[:=]\s*)${VALUE}`, 'gi'),
    (_, head = '', value = '') => `${head}${hidden(value)}`,
  ],
  // --password …, -token …
  [
    new RegExp(String.raw`((?:^|\s)--?${KEY}\s+)(?!-)${VALUE}`, 'gi'),
    (_, head = '', value = '') => `${head}${hidden(value)}`,
  ],
];

/** `text` with every known secret and every credential-looking value replaced by `[redacted]`. */
export function redactText(text: string, secrets: readonly (string | undefined)[] = []): string {
  let result = text;
  for (const secret of secrets) {
    if (secret !== undefined && secret.length >= MIN_SECRET_CHARS)
      result = result.split(secret).join(REDACTED_TEXT);
  }
  for (const [pattern, replace] of PATTERNS) result = result.replace(pattern, replace);
  return result;
}
