/**
 * `nexus serve`: the contract over HTTP + WebSocket, and the renderer bundle, for a browser.
 * Loopback only unless the caller explicitly allows another address. Every HTTP request and every
 * WebSocket needs the random token (printed in the URL); the WebSocket also needs our own Origin, and
 * the Host header must name us (DNS rebinding).
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import { WebSocketServer, type WebSocket } from 'ws';
import { NexusError } from '../../src-shared/errors';
import type { Dispatcher } from '../app/dispatcher';
import {
  TOKEN_COOKIE, contentSecurityPolicy, cookieToken, hostAllowed, newToken, originAllowed, originsFor, queryToken, tokensEqual, type Origins,
} from './security';
import { send, serveStatic } from './static-files';
import { ClientFrame, type ServerFrame } from './ws-protocol';

export interface ServeOptions {
  dispatcher: Dispatcher;
  rendererDir: string;
  host?: string;
  port?: number;
  token?: string;
  /** Required to bind to anything but a loopback address. */
  allowRemote?: boolean;
}

export interface RunningServer {
  url: string;
  origin: string;
  token: string;
  port: number;
  close(): Promise<void>;
}

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);
const MAX_FRAME = 1024 * 1024;

export function isLoopback(host: string): boolean {
  return LOOPBACK.has(host) || /^127\.\d+\.\d+\.\d+$/.test(host);
}

export async function startServer(options: ServeOptions): Promise<RunningServer> {
  const host = options.host ?? '127.0.0.1';
  if (!isLoopback(host) && !options.allowRemote) {
    throw new NexusError('REMOTE_BIND_REFUSED', `Refusing to listen on ${host}: anyone who can reach it and learns the token could write to your drives.`, 'Use the default 127.0.0.1, or pass --allow-remote if you really mean it.');
  }
  const token = options.token ?? newToken();
  const root = resolve(options.rendererDir);
  let origins: Origins = originsFor(host, 0);
  const headers: Record<string, string> = {
    'Content-Security-Policy': contentSecurityPolicy(),
    'X-Content-Type-Options': 'nosniff',
    'X-Frame-Options': 'DENY',
    'Referrer-Policy': 'no-referrer',
    'Cross-Origin-Opener-Policy': 'same-origin',
    'Cross-Origin-Resource-Policy': 'same-origin',
  };

  const authorized = (req: IncomingMessage) => tokensEqual(queryToken(req), token) || tokensEqual(cookieToken(req), token);

  const server: Server = createServer((req, res) => {
    if (!hostAllowed(req, origins)) return send(res, 421, 'Misdirected request', headers);
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, 'Method not allowed', headers);
    if (!authorized(req)) return send(res, 403, 'Forbidden: open the URL printed by "nexus serve" (it carries the access token).', headers);
    const extra: Record<string, string> = tokensEqual(queryToken(req), token) ? { 'Set-Cookie': `${TOKEN_COOKIE}=${encodeURIComponent(token)}; HttpOnly; SameSite=Strict; Path=/` } : {};
    serveStatic(root, new URL(req.url ?? '/', 'http://x').pathname, res, { ...headers, ...extra }).catch(() => send(res, 500, 'Internal error', headers));
  });

  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_FRAME });
  server.on('upgrade', (req, socket, head) => {
    const refuse = (status: number, text: string) => {
      socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    };
    if (new URL(req.url ?? '/', 'http://x').pathname !== '/ws') return refuse(404, 'Not Found');
    if (!hostAllowed(req, origins) || !originAllowed(req, origins)) return refuse(403, 'Forbidden');
    if (!authorized(req)) return refuse(401, 'Unauthorized');
    wss.handleUpgrade(req, socket, head, (ws) => attach(ws, options.dispatcher));
  });

  await new Promise<void>((ok, fail) => {
    server.once('error', (err: NodeJS.ErrnoException) => fail(
      err.code === 'EADDRINUSE' ? new NexusError('PORT_IN_USE', `Port ${options.port} on ${host} is already in use (another nexus serve?).`, 'Stop the other program, or choose another port with --port (0 picks a free one).')
        : err.code === 'EACCES' ? new NexusError('PORT_FORBIDDEN', `Not allowed to listen on port ${options.port}.`, 'Ports below 1024 need administrator rights; use --port 0 or a port above 1024.')
          : err));
    server.listen(options.port ?? 0, host, () => ok());
  });
  const port = (server.address() as AddressInfo).port;
  origins = originsFor(host, port);
  const shownHost = host.includes(':') ? `[${host}]` : host;
  const origin = `http://${shownHost}:${port}`;
  return {
    url: `${origin}/?token=${token}`,
    origin,
    token,
    port,
    close: async () => {
      for (const c of wss.clients) c.terminate();
      await new Promise<void>((ok) => wss.close(() => ok()));
      await new Promise<void>((ok) => server.close(() => ok()));
    },
  };
}

function attach(ws: WebSocket, dispatcher: Dispatcher): void {
  const subs = new Map<string, () => void>();
  const out = (frame: ServerFrame) => {
    if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(frame));
  };
  ws.on('message', (data) => {
    let frame: ClientFrame;
    try {
      frame = ClientFrame.parse(JSON.parse(String(data)));
    } catch {
      out({ kind: 'error', error: { code: 'BAD_FRAME', message: 'The message is not a valid frame.' } });
      return;
    }
    if (frame.kind === 'req') {
      void dispatcher.invoke(frame.name, frame.payload).then((response) => out({ kind: 'res', id: frame.id, response }));
    } else if (frame.kind === 'sub') {
      if (subs.has(frame.name)) return;
      try {
        const name = frame.name;
        subs.set(name, dispatcher.subscribe(name, (payload) => out({ kind: 'evt', name, payload })));
      } catch (err) {
        out({ kind: 'error', error: { code: 'UNKNOWN_EVENT', message: (err as Error).message } });
      }
    } else {
      subs.get(frame.name)?.();
      subs.delete(frame.name);
    }
  });
  ws.on('close', () => {
    for (const stop of subs.values()) stop();
    subs.clear();
  });
}
