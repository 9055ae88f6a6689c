/** Serves the built renderer bundle (read-only, no directory listing, no path escapes). */
import { readFile, stat } from 'node:fs/promises';
import type { ServerResponse } from 'node:http';
import { extname, join, normalize, sep } from 'node:path';
import { decodeComponent } from './security';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.woff2': 'font/woff2',
};

export async function serveStatic(root: string, urlPath: string, res: ServerResponse, headers: Record<string, string>): Promise<void> {
  let rel = decodeComponent(urlPath.split('?')[0] ?? '/');
  if (rel.includes('\0')) return send(res, 400, 'Bad request', headers);
  if (rel === '/' || rel === '') rel = '/index.html';
  const file = normalize(join(root, rel));
  if (!file.startsWith(root.endsWith(sep) ? root : root + sep)) return send(res, 403, 'Forbidden', headers);
  const st = await stat(file).catch(() => null);
  if (!st?.isFile()) {
    if (rel === '/index.html') return send(res, 500, 'The renderer is not built: run "npm run build:renderer".', headers);
    return send(res, 404, 'Not found', headers);
  }
  const body = await readFile(file);
  const type = TYPES[extname(file)] ?? 'application/octet-stream';
  const cache = rel.startsWith('/assets/') ? 'public, max-age=31536000, immutable' : 'no-store';
  res.writeHead(200, { ...headers, 'Content-Type': type, 'Content-Length': body.length, 'Cache-Control': cache });
  res.end(body);
}

export function send(res: ServerResponse, status: number, text: string, headers: Record<string, string> = {}): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  res.writeHead(status, { ...headers, 'Content-Type': 'text/plain; charset=utf-8' });
  res.end(text);
}
