/**
 * A hand-written XML-RPC methodResponse decoder for the shapes supervisord (Python's xmlrpc.client)
 * emits. The generic `xmlrpc` package runs every byte through a SAX parser and costs ~20 ms of CPU
 * for a 50-program getAllProcessInfo; this scans with `indexOf` and slices, about 50x less.
 * Supported: params/fault, value of struct, array, string (typed or bare, entities and CDATA), int,
 * i4, i8 (as a string, like the `xmlrpc` package), boolean, double, base64, nil. Anything else
 * (dateTime.iso8601, attributes, comments) is a `DecodeError`.
 */

/** A decoded XML-RPC value. */
export type XmlRpcValue =
  string | number | boolean | null | Buffer | XmlRpcValue[] | { [member: string]: XmlRpcValue };

/** The response carried either one value or a fault. */
export type DecodedResponse =
  { kind: 'value'; value: XmlRpcValue } | { kind: 'fault'; code: number; faultString: string };

/** The text is not an XML-RPC methodResponse this decoder understands. */
export class DecodeError extends Error {
  override name = 'DecodeError';
}

const ENTITY = /&(#x[0-9a-fA-F]+|#[0-9]+|amp|lt|gt|quot|apos);/g;
const NAMED: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

function unescape(text: string): string {
  if (text.indexOf('&') === -1) return text;
  return text.replace(ENTITY, (_, entity: string) => {
    if (entity.charCodeAt(0) !== 35 /* # */) return NAMED[entity] as string;
    const code = entity[1] === 'x' ? parseInt(entity.slice(2), 16) : parseInt(entity.slice(1), 10);
    return String.fromCodePoint(code);
  });
}

/** The member names last seen at each position of a struct (see `memberName`). */
const MEMBER_NAMES: Array<string | undefined> = new Array<string | undefined>(32).fill(undefined);

/** Decodes one methodResponse document. Throws `DecodeError` on anything malformed. */
export function decodeResponse(xml: string): DecodedResponse {
  return new Scanner(xml).response();
}

class Scanner {
  private i = 0;
  constructor(private readonly s: string) {}

  response(): DecodedResponse {
    this.ws();
    if (this.s.startsWith('<?xml', this.i)) {
      const end = this.s.indexOf('?>', this.i);
      if (end === -1) this.fail('unterminated XML declaration');
      this.i = end + 2;
      this.ws();
    }
    this.expect('<methodResponse>');
    this.ws();
    let result: DecodedResponse;
    if (this.take('<params>')) {
      this.ws();
      this.expect('<param>');
      const value = this.value();
      this.ws();
      this.expect('</param>');
      this.ws();
      this.expect('</params>');
      result = { kind: 'value', value };
    } else if (this.take('<fault>')) {
      const fault = this.value();
      this.ws();
      this.expect('</fault>');
      result = toFault(fault);
    } else {
      this.fail('expected <params> or <fault>');
    }
    this.ws();
    this.expect('</methodResponse>');
    this.ws();
    if (this.i !== this.s.length) this.fail('trailing content after </methodResponse>');
    return result;
  }

  private value(): XmlRpcValue {
    this.ws();
    if (this.take('<value/>')) return '';
    this.expect('<value>');
    const lt = this.s.indexOf('<', this.i);
    if (lt === -1) this.fail('unterminated <value>');
    if (this.at('</value>', lt)) {
      // A bare value is a string, whitespace included.
      const text = unescape(this.s.slice(this.i, lt));
      this.i = lt + 8;
      return text;
    }
    this.i = lt;
    const value = this.typed();
    this.ws();
    this.expect('</value>');
    return value;
  }

  private typed(): XmlRpcValue {
    const s = this.s;
    const close = s.indexOf('>', this.i);
    if (close === -1) this.fail('unterminated tag');
    const selfClosing = s.charCodeAt(close - 1) === 47; /* / */
    const tag = s.slice(this.i + 1, selfClosing ? close - 1 : close);
    this.i = close + 1;
    if (selfClosing) {
      if (tag === 'nil') return null;
      if (tag === 'string') return '';
      if (tag === 'struct') return {};
      if (tag === 'array') return [];
      this.fail(`unsupported empty element <${tag}/>`);
    }
    switch (tag) {
      case 'string':
        return this.stringText('</string>');
      case 'struct':
        return this.struct();
      case 'array':
        return this.array();
      case 'int':
      case 'i4':
        return this.integer(this.text(`</${tag}>`));
      case 'i8': {
        const text = this.text('</i8>');
        if (!/^-?\d+$/.test(text)) this.fail(`bad i8 ${JSON.stringify(text)}`);
        return text;
      }
      case 'boolean': {
        const text = this.text('</boolean>');
        if (text === '1') return true;
        if (text === '0') return false;
        return this.fail(`bad boolean ${JSON.stringify(text)}`);
      }
      case 'double': {
        const text = this.text('</double>');
        const n = parseFloat(text);
        if (Number.isNaN(n)) this.fail(`bad double ${JSON.stringify(text)}`);
        return n;
      }
      case 'base64':
        return Buffer.from(this.text('</base64>'), 'base64');
      case 'nil':
        this.expect('</nil>');
        return null;
      default:
        return this.fail(`unsupported type <${tag}>`);
    }
  }

  private struct(): { [member: string]: XmlRpcValue } {
    const out: { [member: string]: XmlRpcValue } = {};
    for (let index = 0; ; index++) {
      this.ws();
      if (this.take('</struct>')) return out;
      this.expect('<member>');
      this.ws();
      this.expect('<name>');
      const name = this.memberName(index);
      const value = this.value();
      this.ws();
      this.expect('</member>');
      if (name === '__proto__') {
        Object.defineProperty(out, name, { value, enumerable: true, writable: true, configurable: true });
      } else {
        out[name] = value;
      }
    }
  }

  private array(): XmlRpcValue[] {
    const out: XmlRpcValue[] = [];
    this.ws();
    if (this.take('<data/>')) {
      this.ws();
      this.expect('</array>');
      return out;
    }
    this.expect('<data>');
    for (;;) {
      this.ws();
      if (this.take('</data>')) break;
      out.push(this.value());
    }
    this.ws();
    this.expect('</array>');
    return out;
  }

  private integer(text: string): number {
    const n = parseInt(text, 10);
    if (Number.isNaN(n)) this.fail(`bad int ${JSON.stringify(text)}`);
    return n;
  }

  /** The raw text up to `end`, which is consumed. Markup inside (CDATA, nested tags) is refused. */
  private text(end: string): string {
    const at = this.s.indexOf(end, this.i);
    if (at === -1) this.fail(`missing ${end}`);
    const text = this.s.slice(this.i, at);
    if (text.indexOf('<') !== -1) this.fail(`markup inside an element before ${end}`);
    this.i = at + end.length;
    return text;
  }

  /**
   * A member name. Most of the time goes into building objects, and keys that are fresh slices cost
   * a string-table lookup each; supervisord repeats the same names in the same order in every
   * struct, so the name last seen at this position is reused when the text matches it.
   */
  private memberName(index: number): string {
    const known = MEMBER_NAMES[index];
    if (known !== undefined && this.at(known, this.i) && this.at('</name>', this.i + known.length)) {
      this.i += known.length + 7;
      return known;
    }
    const name = this.stringText('</name>');
    if (index < MEMBER_NAMES.length) MEMBER_NAMES[index] = name;
    return name;
  }

  /** Character data up to `end` (consumed): entities resolved, CDATA sections kept verbatim. */
  private stringText(end: string): string {
    const s = this.s;
    const lt = s.indexOf('<', this.i);
    if (lt !== -1 && this.at(end, lt)) {
      const text = unescape(s.slice(this.i, lt));
      this.i = lt + end.length;
      return text;
    }
    let out = '';
    for (;;) {
      const next = s.indexOf('<', this.i);
      if (next === -1) this.fail(`missing ${end}`);
      out += unescape(s.slice(this.i, next));
      this.i = next;
      if (this.take(end)) return out;
      if (!this.take('<![CDATA[')) this.fail(`markup inside an element before ${end}`);
      const close = s.indexOf(']]>', this.i);
      if (close === -1) this.fail('unterminated CDATA section');
      out += s.slice(this.i, close);
      this.i = close + 3;
    }
  }

  private ws(): void {
    const s = this.s;
    let i = this.i;
    for (;;) {
      const c = s.charCodeAt(i);
      if (c === 32 || c === 10 || c === 13 || c === 9) i++;
      else break;
    }
    this.i = i;
  }

  private take(token: string): boolean {
    if (!this.at(token, this.i)) return false;
    this.i += token.length;
    return true;
  }

  /** `s.startsWith(token, i)`, as an inlinable loop: builtin calls dominate on short tokens. */
  private at(token: string, i: number): boolean {
    const s = this.s;
    const n = token.length;
    for (let k = 0; k < n; k++) if (s.charCodeAt(i + k) !== token.charCodeAt(k)) return false;
    return true;
  }

  private expect(token: string): void {
    if (!this.take(token)) this.fail(`expected ${token}`);
  }

  private fail(what: string): never {
    const near = this.s.slice(this.i, this.i + 40);
    throw new DecodeError(`${what} at offset ${this.i} (near ${JSON.stringify(near)})`);
  }
}

function toFault(value: XmlRpcValue): DecodedResponse {
  if (value === null || typeof value !== 'object' || Array.isArray(value) || Buffer.isBuffer(value)) {
    throw new DecodeError('fault is not a struct');
  }
  const { faultCode, faultString } = value;
  if (typeof faultCode !== 'number' || typeof faultString !== 'string') {
    throw new DecodeError('fault lacks an int faultCode and a string faultString');
  }
  return { kind: 'fault', code: faultCode, faultString };
}
