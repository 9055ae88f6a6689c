/**
 * A tiny HTTP server that hands the autoinstall(8) response file to OpenBSD's installer on the local
 * network. The installer fetches it with ftp(1) when the user answers "Response file location?" with
 * the printed URL (or automatically, when a DHCP server sends next-server/filename "auto_install").
 * It serves only GET/HEAD of install.conf (also as MAC-install.conf and HOST-install.conf, the other
 * names the installer asks for) and nothing else.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { networkInterfaces } from 'node:os';
import { NexusError } from '../../../src-shared/errors';

export interface AnswersRequest {
  from: string;
  path: string;
  status: number;
  time: number;
}

export interface AnswersServer {
  port: number;
  host: string;
  /** URLs to type at the installer's "Response file location?" prompt, one per LAN address. */
  urls: string[];
  requests: AnswersRequest[];
  close(): Promise<void>;
}

export interface ServeAnswersOptions {
  /** Address to listen on (default 0.0.0.0: the board must reach this machine over the LAN). */
  host?: string;
  /** Port (default 8080; 0 picks a free one). Port 80 makes the DHCP "auto_install" path work unattended. */
  port?: number;
  onRequest?: (r: AnswersRequest) => void;
}

/** Non-internal IPv4 addresses of this machine (the ones a board on the LAN can reach). */
export function lanAddresses(): string[] {
  const out: string[] = [];
  for (const list of Object.values(networkInterfaces())) for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) out.push(a.address);
  return out;
}

const NAME = /^\/(?:(?:[0-9a-f]{2}:){5}[0-9a-f]{2}-|[A-Za-z0-9][A-Za-z0-9.-]*-)?install\.conf$/i;

export async function serveAnswers(text: string, opts: ServeAnswersOptions = {}): Promise<AnswersServer> {
  const body = Buffer.from(text, 'utf8');
  const requests: AnswersRequest[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const ok = (req.method === 'GET' || req.method === 'HEAD') && NAME.test(path);
    const rec: AnswersRequest = { from: req.socket.remoteAddress ?? '?', path, status: ok ? 200 : 404, time: Date.now() };
    requests.push(rec);
    opts.onRequest?.(rec);
    res.statusCode = rec.status;
    res.setHeader('Cache-Control', 'no-store');
    if (!ok) return void res.end();
    res.setHeader('Content-Type', 'text/plain; charset=utf-8');
    res.setHeader('Content-Length', String(body.length));
    res.end(req.method === 'HEAD' ? undefined : body);
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  const host = opts.host ?? '0.0.0.0';
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(
        new NexusError(
          'SERVE_FAILED',
          `Cannot listen on ${host}:${opts.port ?? 8080}: ${err.code ?? err.message}.`,
          err.code === 'EACCES'
            ? 'Ports below 1024 need administrator rights; choose 8080 or another port above 1024.'
            : 'Choose another port (--port on the command line), or stop the program that uses it.',
        ),
      ),
    );
    server.listen(opts.port ?? 8080, host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const addrs = host === '0.0.0.0' ? lanAddresses() : [host];
  const urls = (addrs.length ? addrs : ['127.0.0.1']).map((a) => `http://${a}${port === 80 ? '' : `:${port}`}/install.conf`);
  return {
    port,
    host,
    urls,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
