/**
 * supervisord's `environment=` syntax, both ways. supervisord parses the value with Python's
 * non-POSIX `shlex` (quotes kept in the token, then stripped; `#` starts a comment outside quotes;
 * no backslash escapes) and reads every fourth token as the separator. This is a faithful port, so
 * what we parse is what supervisord would set.
 */

// `%` is added so that `%(ENV_X)s` stays one word: supervisord expands it before tokenizing.
const WORD_CHARS = /[A-Za-z0-9_/.+\-():%]/;
const WHITESPACE = ' \t\r\n';
const QUOTES = `'"`;

/** Python `shlex.shlex(text)` (posix=False) with supervisord's extra word characters. */
function tokenize(input: string): string[] {
  const tokens: string[] = [];
  let i = 0;
  const skipLine = () => {
    while (i < input.length && input[i] !== '\n') i++;
    if (i < input.length) i++;
  };
  for (;;) {
    let token = '';
    let state: string = ' ';
    for (;;) {
      const ch = i < input.length ? input[i++]! : '';
      if (state === ' ') {
        if (ch === '') break;
        if (WHITESPACE.includes(ch)) continue;
        if (ch === '#') skipLine();
        else if (WORD_CHARS.test(ch)) {
          token = ch;
          state = 'a';
        } else if (QUOTES.includes(ch)) {
          token = ch;
          state = ch;
        } else {
          token = ch;
          break;
        }
      } else if (QUOTES.includes(state)) {
        if (ch === '') throw new Error(`no closing quotation in environment value '${input}'`);
        token += ch;
        if (ch === state) break;
      } else {
        // word state: words run on through word characters and quote characters
        if (ch === '') break;
        if (WHITESPACE.includes(ch)) break;
        if (ch === '#') skipLine();
        else if (WORD_CHARS.test(ch) || QUOTES.includes(ch)) token += ch;
        else {
          i--; // shlex pushes the character back; it becomes the next one-character token
          break;
        }
      }
    }
    if (token === '') return tokens;
    tokens.push(token);
  }
}

/** Parses `KEY=val,KEY2="v,2"` exactly as supervisord's `dict_of_key_value_pairs` does. */
export function parseEnvironment(text: string): Record<string, string> {
  const tokens = tokenize(text);
  const out: Record<string, string> = {};
  for (let i = 0; i < tokens.length; i += 4) {
    const [key, eq, value] = tokens.slice(i, i + 3);
    if (key === undefined || eq !== '=' || value === undefined) {
      throw new Error(`unexpected end of key/value pairs in environment value '${text}'`);
    }
    out[key] = value.replace(/^['"]+|['"]+$/g, '');
  }
  return out;
}

/** Why a value cannot be written so that supervisord reads it back unchanged, or undefined. */
export function environmentValueProblem(value: string): string | undefined {
  if (value.includes('"') && value.includes("'")) return 'a value cannot contain both kinds of quote';
  if (/^['"]|['"]$/.test(value)) return 'a value cannot start or end with a quote (supervisord strips them)';
  if (/[\r\n]/.test(value)) return 'a value cannot contain a line break';
  return undefined;
}

/** Renders a map as supervisord reads it: `KEY="value"` pairs joined by commas. */
export function renderEnvironment(env: Record<string, string>): string {
  return Object.entries(env)
    .map(([key, value]) => {
      const problem = environmentValueProblem(value);
      if (problem) throw new Error(`${key}: ${problem}`);
      const quote = value.includes('"') ? "'" : '"';
      return `${key}=${quote}${value}${quote}`;
    })
    .join(',');
}
