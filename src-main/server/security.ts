/** Who may talk to `nexus serve`: the token holder, from our own origin, naming our host (no DNS rebinding). */
import type { IncomingMessage } from 'node:http';
import { randomToken } from '../engine/net/tokens';

export { tokensEqual } from '../engine/net/tokens';

export const TOKEN_COOKIE = 'nexus_token';

export const newToken = () => randomToken(24, 'base64url');

/** Request data we cannot parse (a malformed URL, a cookie with broken percent-encoding): answered with 400, never a crash. */
export class BadRequest extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BadRequest';
  }
}

/** The request target as a URL; throws BadRequest for targets WHATWG URL refuses (e.g. `http://[/`). */
export function requestUrl(req: IncomingMessage): URL {
  try {
    return new URL(req.url ?? '/', 'http://x');
  } catch {
    throw new BadRequest('The request target is not a valid URL.');
  }
}

/** decodeURIComponent that throws BadRequest (not URIError) on broken percent-encoding. */
export function decodeComponent(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    throw new BadRequest('Broken percent-encoding in the request.');
  }
}

export function cookieToken(req: IncomingMessage): string | null {
  const header = req.headers.cookie;
  if (typeof header !== 'string') return null;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    const k = part.slice(0, eq).trim();
    const v = part.slice(eq + 1).trim();
    if (k === TOKEN_COOKIE && v) return decodeComponent(v);
  }
  return null;
}

export function queryToken(req: IncomingMessage): string | null {
  return requestUrl(req).searchParams.get('token');
}

export interface Origins {
  /** Host header values we answer to ("127.0.0.1:4242", "localhost:4242"). */
  hosts: Set<string>;
  /** Origins allowed to open the WebSocket. */
  origins: Set<string>;
}

export function originsFor(host: string, port: number): Origins {
  const names = new Set([host, '127.0.0.1', 'localhost', host.includes(':') ? `[${host}]` : host]);
  const hosts = new Set([...names].map((n) => `${n}:${port}`));
  return { hosts, origins: new Set([...hosts].map((h) => `http://${h}`)) };
}

export const hostAllowed = (req: IncomingMessage, o: Origins) => o.hosts.has(req.headers.host ?? '');
export const originAllowed = (req: IncomingMessage, o: Origins) => o.origins.has(req.headers.origin ?? '');

export function contentSecurityPolicy(): string {
  return [
    "default-src 'none'",
    "script-src 'self'",
    // MUI (emotion) injects <style> elements at run time.
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data:",
    "font-src 'self'",
    "connect-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}
