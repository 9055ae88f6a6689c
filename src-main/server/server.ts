/**
 * `nexus serve`: the contract over HTTP + WebSocket, and the renderer bundle, for a browser.
 * Loopback only unless the caller explicitly allows another address. Every HTTP request and every
 * WebSocket needs the random token (printed in the URL); the WebSocket also needs our own Origin, and
 * the Host header must name us (DNS rebinding).
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { isUtf8 } from 'node:buffer';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { resolve } from 'node:path';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import { NexusError, toErrorInfo } from '../../src-shared/errors';
import type { Dispatcher } from '../app/dispatcher';
import {
  BadRequest,
  TOKEN_COOKIE,
  contentSecurityPolicy,
  cookieToken,
  hostAllowed,
  newToken,
  originAllowed,
  originsFor,
  requestUrl,
  tokensEqual,
  type Origins,
} from './security';
import { send, serveStatic } from './static-files';
import { handleUpload, type UploadOptions } from './upload';
import { ClientFrame, type ServerFrame } from '../../src-shared/ws-frames';

export interface ServeOptions {
  dispatcher: Dispatcher;
  rendererDir: string;
  host?: string;
  port?: number;
  token?: string;
  /** Required to bind to anything but a loopback address. */
  allowRemote?: boolean;
  /** Where `POST /upload` puts images a browser sends (upload.ts); absent: uploads are refused. */
  upload?: UploadOptions;
}

export interface RunningServer {
  url: string;
  origin: string;
  token: string;
  port: number;
  close(): Promise<void>;
}

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);
/** The largest WebSocket message we accept; a larger one closes that socket with 1009. */
export const MAX_FRAME = 1024 * 1024;

export function isLoopback(host: string): boolean {
  return LOOPBACK.has(host) || /^127\.\d+\.\d+\.\d+$/.test(host);
}

export async function startServer(options: ServeOptions): Promise<RunningServer> {
  const host = options.host ?? '127.0.0.1';
  if (!isLoopback(host) && !options.allowRemote) {
    throw new NexusError(
      'REMOTE_BIND_REFUSED',
      `Refusing to listen on ${host}: anyone who can reach it and learns the token could write to your drives.`,
      'Use the default 127.0.0.1, or pass --allow-remote if you really mean it.',
    );
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

  // Everything a client sends is parsed inside a guard: a malformed request gets 400 (or its socket closed),
  // never an exception on the server's event loop (that would end every write in progress with it).
  const authorized = (req: IncomingMessage, url: URL) => tokensEqual(url.searchParams.get('token'), token) || tokensEqual(cookieToken(req), token);
  const failure = (err: unknown): [number, string] => (err instanceof BadRequest ? [400, `Bad request: ${err.message}`] : [500, 'Internal error']);

  const server: Server = createServer((req, res) => {
    try {
      if (!hostAllowed(req, origins)) return send(res, 421, 'Misdirected request', headers);
      if (req.method === 'POST' && options.upload && req.url?.startsWith('/upload?')) {
        const url = requestUrl(req);
        // Like the WebSocket: our own page only (Origin), and the cookie token (SameSite=Strict) — never the URL's.
        if (url.pathname !== '/upload' || !originAllowed(req, origins) || !tokensEqual(cookieToken(req), token)) return send(res, 403, 'Forbidden', headers);
        handleUpload(req, res, url, options.upload, headers).catch((err: unknown) => send(res, ...failure(err), headers));
        return;
      }
      if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, 'Method not allowed', headers);
      const url = requestUrl(req);
      if (!authorized(req, url)) return send(res, 403, 'Forbidden: open the URL printed by "nexus serve" (it carries the access token).', headers);
      const extra: Record<string, string> = tokensEqual(url.searchParams.get('token'), token)
        ? { 'Set-Cookie': `${TOKEN_COOKIE}=${encodeURIComponent(token)}; HttpOnly; SameSite=Strict; Path=/` }
        : {};
      serveStatic(root, url.pathname, res, { ...headers, ...extra }).catch((err: unknown) => send(res, ...failure(err), headers));
    } catch (err) {
      send(res, ...failure(err), headers);
    }
  });

  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_FRAME });
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    // Node hands the raw socket over without its error listener: a reset here must not crash the process.
    socket.on('error', () => socket.destroy());
    const refuse = (status: number, text: string) => {
      socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    };
    try {
      const url = requestUrl(req);
      if (url.pathname !== '/ws') return refuse(404, 'Not Found');
      if (!hostAllowed(req, origins) || !originAllowed(req, origins)) return refuse(403, 'Forbidden');
      if (!authorized(req, url)) return refuse(401, 'Unauthorized');
      wss.handleUpgrade(req, socket, head, (ws) => attach(ws, options.dispatcher));
    } catch (err) {
      const [status] = failure(err);
      refuse(status, status === 400 ? 'Bad Request' : 'Internal Server Error');
    }
  });

  await new Promise<void>((ok, fail) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      fail(
        err.code === 'EADDRINUSE'
          ? new NexusError(
              'PORT_IN_USE',
              `Port ${options.port} on ${host} is already in use (another nexus serve?).`,
              'Stop the other program, or choose another port with --port (0 picks a free one).',
            )
          : err.code === 'EACCES'
            ? new NexusError(
                'PORT_FORBIDDEN',
                `Not allowed to listen on port ${options.port}.`,
                'Ports below 1024 need administrator rights; use --port 0 or a port above 1024.',
              )
            : err,
      ),
    );
    server.listen(options.port ?? 0, host, () => ok());
  });
  server.removeAllListeners('error');
  // After listening, an error (e.g. EMFILE on accept) is reported, never thrown on the event loop.
  server.on('error', (err) => console.error(`nexus serve: ${err.message}`));
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
    if (ws.readyState !== ws.OPEN) return;
    let text: string;
    try {
      text = JSON.stringify(frame);
    } catch {
      text = JSON.stringify({ kind: 'error', error: { code: 'INTERNAL', message: 'A response could not be encoded.' } } satisfies ServerFrame);
    }
    ws.send(text);
  };
  // Oversized messages (1009), invalid UTF-8 in a text message (1007) and socket resets arrive here: ws has
  // already started closing this one socket; the others and the jobs in progress are untouched.
  ws.on('error', () => {
    if (ws.readyState === ws.OPEN) ws.close(1011);
  });
  ws.on('message', (data: RawData, isBinary: boolean) => {
    const bytes = Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data);
    // ws checks text messages itself; a binary one must be UTF-8 JSON too.
    if (isBinary && !isUtf8(bytes)) {
      ws.close(1007, 'Invalid UTF-8');
      return;
    }
    let frame: ClientFrame;
    try {
      frame = ClientFrame.parse(JSON.parse(bytes.toString('utf8')));
    } catch {
      out({ kind: 'error', error: { code: 'BAD_FRAME', message: 'The message is not a valid frame.' } });
      return;
    }
    if (frame.kind === 'req') {
      const id = frame.id;
      dispatcher.invoke(frame.name, frame.payload).then(
        (response) => out({ kind: 'res', id, response }),
        (err: unknown) => out({ kind: 'res', id, response: { ok: false, error: { code: 'INTERNAL', message: String(err) } } }),
      );
    } else if (frame.kind === 'sub') {
      if (subs.has(frame.name)) return;
      try {
        const name = frame.name;
        subs.set(
          name,
          dispatcher.subscribe(name, (payload) => out({ kind: 'evt', name, payload })),
        );
      } catch (err) {
        out({ kind: 'error', error: { code: 'UNKNOWN_EVENT', message: toErrorInfo(err).message } });
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
