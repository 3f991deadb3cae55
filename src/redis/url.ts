/**
 * Where Redis is, as data: one URL names a server (`redis://`, `rediss://`, `unix://`), a Sentinel
 * group (`redis+sentinel://host:port,host:port/<master>`) or a Redis Cluster
 * (`redis+cluster://host:port,host:port`), each with an optional ACL user and password in the
 * userinfo, as in any URL. A URL is parsed here and nowhere else; no message repeats its password.
 */
import type { RedisOptions } from 'bullmq';

/** A Redis URL that cannot be used. The message never contains the password. */
export class InvalidRedisUrl extends Error {
  override name = 'InvalidRedisUrl';
}

/** A host and port of a sentinel or of a cluster node. */
export interface RedisAddress {
  host: string;
  port: number;
}

/**
 * What a URL names. `options` holds the credentials (and, for a server, where it is; for a sentinel
 * group, the sentinels and the master's name).
 */
export type RedisTarget =
  | { kind: 'server'; options: RedisOptions }
  | { kind: 'sentinel'; options: RedisOptions }
  | { kind: 'cluster'; nodes: RedisAddress[]; options: RedisOptions };

/** The schemes of a list of hosts, and the port a host without one gets. */
const MULTI_HOST: Record<string, { kind: 'sentinel' | 'cluster'; port: number }> = {
  'redis+sentinel:': { kind: 'sentinel', port: 26379 },
  'redis+cluster:': { kind: 'cluster', port: 6379 },
};

const EXPECTED =
  'expected redis://host:port, rediss://, unix:///path, redis+sentinel://host:port,host:port/master or redis+cluster://host:port,host:port';

/** Parses a Redis URL into what it names. */
export function parseRedisUrl(url: string): RedisTarget {
  const scheme = /^([a-z][a-z0-9+.-]*:)\/\//i.exec(url)?.[1]?.toLowerCase();
  const multi = scheme === undefined ? undefined : MULTI_HOST[scheme];
  if (multi) return parseMultiHost(url.slice(scheme!.length + 2), multi.kind, multi.port);
  return { kind: 'server', options: parseServerUrl(url) };
}

function parseServerUrl(url: string): RedisOptions {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new InvalidRedisUrl(`Redis URL is not a URL (${EXPECTED})`);
  }
  const auth = credentials(parsed.username, parsed.password);
  if (parsed.protocol === 'unix:') {
    if (!parsed.pathname) throw new InvalidRedisUrl('unix:// Redis URL needs a socket path');
    return { path: parsed.pathname, ...auth };
  }
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') {
    throw new InvalidRedisUrl(`unsupported Redis URL scheme ${parsed.protocol} (${EXPECTED})`);
  }
  const db = database(parsed.pathname.slice(1));
  return {
    host: parsed.hostname || '127.0.0.1',
    port: parsed.port ? Number(parsed.port) : 6379,
    ...(db !== undefined && { db }),
    ...auth,
    ...(parsed.protocol === 'rediss:' && { tls: { servername: parsed.hostname } }),
  };
}

/** `[user[:password]@]host[:port],host[:port]...[/path]` of a sentinel or cluster URL (after `//`). */
function parseMultiHost(rest: string, kind: 'sentinel' | 'cluster', defaultPort: number): RedisTarget {
  const what = `redis+${kind}:// URL`;
  if (/[?#]/.test(rest)) throw new InvalidRedisUrl(`${what} takes no query or fragment`);
  const slash = rest.indexOf('/');
  const authority = slash === -1 ? rest : rest.slice(0, slash);
  const path = slash === -1 ? '' : rest.slice(slash + 1);
  const at = authority.lastIndexOf('@');
  const userinfo = at === -1 ? '' : authority.slice(0, at);
  const colon = userinfo.indexOf(':');
  const auth =
    colon === -1
      ? credentials(userinfo, '')
      : credentials(userinfo.slice(0, colon), userinfo.slice(colon + 1));
  const hosts = authority.slice(at + 1);
  if (!hosts) throw new InvalidRedisUrl(`${what} names no host`);
  const addresses = hosts.split(',').map((host) => address(host, defaultPort, what));
  if (kind === 'cluster') {
    if (path !== '') throw new InvalidRedisUrl(`${what} takes no path: a cluster has only database 0`);
    return { kind, nodes: addresses, options: auth };
  }
  const [name = '', dbText, ...extra] = path.split('/');
  if (!name || extra.length > 0) {
    throw new InvalidRedisUrl(
      `${what} needs the master's name as its path: redis+sentinel://host:port/<master>[/<db>]`,
    );
  }
  const db = database(dbText ?? '');
  return {
    kind,
    options: {
      sentinels: addresses,
      name: decode(name, 'master name'),
      ...(db !== undefined && { db }),
      ...auth,
    },
  };
}

/** `host`, `host:port` or `[v6]:port`. */
function address(text: string, defaultPort: number, what: string): RedisAddress {
  const match = /^(?:\[([0-9a-f:.]+)\]|([^:[\]]+))(?::(\d{1,5}))?$/i.exec(text);
  const port = match?.[3] === undefined ? defaultPort : Number(match[3]);
  if (!match || port < 1 || port > 65_535) {
    throw new InvalidRedisUrl(`${what}: '${text.slice(0, 100)}' is not host:port`);
  }
  return { host: match[1] ?? match[2]!, port };
}

function credentials(username: string, password: string): { username?: string; password?: string } {
  const user = username ? decode(username, 'user name') : undefined;
  const pass = password ? decode(password, 'password') : undefined;
  return { ...(user && { username: user }), ...(pass && { password: pass }) };
}

/** Percent-decodes a part of a URL; the error names the part, never its text. */
function decode(text: string, part: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    throw new InvalidRedisUrl(`Redis URL ${part} is not valid percent-encoding`);
  }
}

function database(text: string): number | undefined {
  if (text === '') return undefined;
  const db = Number(text);
  if (!Number.isInteger(db) || db < 0)
    throw new InvalidRedisUrl(`Redis URL database '${text.slice(0, 20)}' is not a number`);
  return db;
}

/** The URL with its password replaced by `***`, for logs. */
export function redactRedisUrl(url: string): string {
  try {
    const target = parseRedisUrl(url);
    if (target.kind === 'server') {
      const parsed = new URL(url);
      if (parsed.password) parsed.password = '***';
      return parsed.protocol === 'unix:' ? `unix://${parsed.pathname}` : parsed.toString();
    }
    // Rebuilt from what was parsed: nothing of the userinfo but the user name is carried over.
    const user = target.options.username ? encodeURIComponent(target.options.username) : '';
    const auth = user || target.options.password ? `${user}${target.options.password ? ':***' : ''}@` : '';
    const hosts = (target.kind === 'cluster' ? target.nodes : (target.options.sentinels as RedisAddress[]))
      .map(({ host, port }) => `${host.includes(':') ? `[${host}]` : host}:${port}`)
      .join(',');
    const path =
      target.kind === 'sentinel'
        ? `/${encodeURIComponent(target.options.name ?? '')}${target.options.db === undefined ? '' : `/${target.options.db}`}`
        : '';
    return `redis+${target.kind}://${auth}${hosts}${path}`;
  } catch {
    return '(invalid Redis URL)';
  }
}
