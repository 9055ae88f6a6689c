/**
 * A static file server on 127.0.0.1 (random port) for integration tests of anything that downloads:
 * GET/HEAD, single `Range: bytes=a-b` requests (206/416), request counting and fault injection.
 *
 * ```ts
 * const server = await serveDirectory(repo.mirror);
 * server.faults.push({ path: /hello-1\.0-r0\.apk$/, cutAfter: 1000, times: 1 }); // drop the socket after 1000 body bytes once
 * ... download from server.url + '/v3.22/main/x86_64/hello-1.0-r0.apk' ...
 * expect(server.count('/v3.22/main/x86_64/hello-1.0-r0.apk')).toBe(2);
 * expect(server.log.at(-1)?.range).toBe('bytes=1000-');
 * await server.close();
 * ```
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { join, normalize, sep } from 'node:path';

export interface Fault {
  /** Request path (exact, leading slash) or a pattern. */
  path: string | RegExp;
  /** Send this many body bytes, then destroy the connection. */
  cutAfter?: number;
  /** Answer with this status and no body instead. */
  status?: number;
  /** Ignore Range headers (answer 200 with the full file). */
  ignoreRange?: boolean;
  /** Delay before answering, in ms. */
  delayMs?: number;
  /** How many matching requests this fault applies to (default: all). */
  times?: number;
}

export interface RequestRecord {
  method: string;
  path: string;
  range?: string;
  status: number;
}

export interface TestHttpServer {
  /** "http://127.0.0.1:PORT" (no trailing slash). */
  url: string;
  faults: Fault[];
  log: RequestRecord[];
  /** Requests seen for a path (all methods). */
  count(path: string): number;
  close(): Promise<void>;
}

function matches(f: Fault, path: string): boolean {
  return typeof f.path === 'string' ? f.path === path : f.path.test(path);
}

function parseRange(header: string | undefined, size: number): { start: number; end: number } | 'invalid' | null {
  if (!header) return null;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) return 'invalid';
  let start: number;
  let end: number;
  if (m[1] === '') {
    start = Math.max(0, size - Number(m[2]));
    end = size - 1;
  } else {
    start = Number(m[1]);
    end = m[2] === '' ? size - 1 : Math.min(size - 1, Number(m[2]));
  }
  return start > end || start >= size ? 'invalid' : { start, end };
}

export async function serveDirectory(root: string, init: { faults?: Fault[] } = {}): Promise<TestHttpServer> {
  const faults: Fault[] = init.faults ?? [];
  const log: RequestRecord[] = [];
  const sockets = new Set<Socket>();

  const finish = (res: ServerResponse, rec: RequestRecord, status: number) => {
    rec.status = status;
    res.statusCode = status;
    res.end();
  };

  const server = createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const path = decodeURIComponent(url.pathname);
    const rec: RequestRecord = { method: req.method ?? 'GET', path, status: 0, ...(req.headers.range ? { range: req.headers.range } : {}) };
    log.push(rec);
    const fault = faults.find((f) => matches(f, path) && (f.times === undefined || f.times > 0));
    if (fault && fault.times !== undefined) fault.times--;
    if (fault?.delayMs) await new Promise((r) => setTimeout(r, fault.delayMs));
    if (fault?.status) return finish(res, rec, fault.status);

    const file = normalize(join(root, path));
    if (file !== root && !file.startsWith(root.endsWith(sep) ? root : root + sep)) return finish(res, rec, 403);
    let size: number;
    try {
      const st = await stat(file);
      if (!st.isFile()) return finish(res, rec, 404);
      size = st.size;
    } catch {
      return finish(res, rec, 404);
    }
    const range = fault?.ignoreRange ? null : parseRange(req.headers.range, size);
    if (range === 'invalid') {
      res.setHeader('Content-Range', `bytes */${size}`);
      return finish(res, rec, 416);
    }
    const start = range?.start ?? 0;
    const end = range?.end ?? size - 1;
    rec.status = range ? 206 : 200;
    res.statusCode = rec.status;
    res.setHeader('Accept-Ranges', 'bytes');
    res.setHeader('Content-Type', 'application/octet-stream');
    res.setHeader('Content-Length', String(Math.max(0, end - start + 1)));
    if (range) res.setHeader('Content-Range', `bytes ${start}-${end}/${size}`);
    if (req.method === 'HEAD' || size === 0) return void res.end();
    const cutAt = fault?.cutAfter;
    const stream = createReadStream(file, { start, end: cutAt !== undefined ? Math.min(end, start + cutAt - 1) : end });
    if (cutAt === undefined) return void stream.pipe(res);
    // Send the partial body, then kill the socket so the client sees a truncated response.
    stream.on('data', (chunk) => res.write(chunk));
    stream.on('end', () => setTimeout(() => res.socket?.destroy(), 20));
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    faults,
    log,
    count: (path) => log.filter((r) => r.path === path).length,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
