/**
 * The page's files (src/web/static/, copied next to the compiled code by the build): a fixed list,
 * read once, served from memory. Nothing else on disk can be asked for by name. The headers carry the
 * page's Content-Security-Policy: scripts, styles and connections from this server only, no inline
 * code, no framing.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';

/** The page's Content-Security-Policy: nothing inline, nothing from elsewhere. */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/** One file as it is served. */
export interface Asset {
  body: Buffer;
  type: string;
  etag: string;
}

/** Request path → file in static/ and its type. */
const FILES: Record<string, [file: string, type: string]> = {
  '/': ['index.html', 'text/html; charset=utf-8'],
  '/assets/style.css': ['style.css', 'text/css; charset=utf-8'],
  '/assets/app.js': ['app.js', 'text/javascript; charset=utf-8'],
  '/assets/dom.js': ['dom.js', 'text/javascript; charset=utf-8'],
  '/assets/views.js': ['views.js', 'text/javascript; charset=utf-8'],
  '/assets/chart.js': ['chart.js', 'text/javascript; charset=utf-8'],
  '/assets/icon.svg': ['icon.svg', 'image/svg+xml'],
};

/** Reads every file of the page; throws when one is missing (a build that did not copy them). */
export function loadAssets(dir = new URL('./static/', import.meta.url)): Map<string, Asset> {
  const assets = new Map<string, Asset>();
  for (const [path, [file, type]] of Object.entries(FILES)) {
    const body = readFileSync(new URL(file, dir));
    const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 16)}"`;
    assets.set(path, { body, type, etag });
  }
  return assets;
}

/** The headers every answer of the page and its API carries. */
export function securityHeaders(): Record<string, string> {
  return {
    'Content-Security-Policy': CONTENT_SECURITY_POLICY,
    'X-Content-Type-Options': 'nosniff',
    'X-Frame-Options': 'DENY',
    'Referrer-Policy': 'no-referrer',
    'Cross-Origin-Resource-Policy': 'same-origin',
  };
}
