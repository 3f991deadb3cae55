/** XML-RPC methodCall encoding for the parameter types supervisord's methods take. */

/** A value we can send: supervisord takes strings, ints, booleans, and arrays/structs in multicall. */
export type XmlRpcParam =
  string | number | boolean | Buffer | readonly XmlRpcParam[] | { readonly [member: string]: XmlRpcParam };

const ESCAPE = /[&<>]/g;
const ESCAPED: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;' };

function escape(text: string): string {
  return text.replace(ESCAPE, (c) => ESCAPED[c] as string);
}

function encodeValue(value: XmlRpcParam): string {
  if (typeof value === 'string') return `<value><string>${escape(value)}</string></value>`;
  if (typeof value === 'boolean') return `<value><boolean>${value ? 1 : 0}</boolean></value>`;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new TypeError(`cannot send the number ${value} over XML-RPC`);
    return Number.isInteger(value)
      ? `<value><int>${value}</int></value>`
      : `<value><double>${value}</double></value>`;
  }
  if (Buffer.isBuffer(value)) return `<value><base64>${value.toString('base64')}</base64></value>`;
  if (Array.isArray(value)) {
    return `<value><array><data>${(value as readonly XmlRpcParam[]).map(encodeValue).join('')}</data></array></value>`;
  }
  const members = Object.entries(value as { readonly [member: string]: XmlRpcParam })
    .map(([name, member]) => `<member><name>${escape(name)}</name>${encodeValue(member)}</member>`)
    .join('');
  return `<value><struct>${members}</struct></value>`;
}

/** The body of a methodCall of `method` with positional `params`. */
export function encodeCall(method: string, params: readonly XmlRpcParam[]): string {
  const encoded = params.map((param) => `<param>${encodeValue(param)}</param>`).join('');
  return `<?xml version="1.0"?>\n<methodCall><methodName>${escape(method)}</methodName><params>${encoded}</params></methodCall>`;
}
