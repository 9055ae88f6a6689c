/**
 * The contract over `nexus serve`'s WebSocket: a Transport for the shared createApi(), so the object has the
 * same shape as Electron's window.nexus. Every frame from the server is checked with the shared frame schema.
 * The token comes from the page URL, which `nexus serve` printed.
 */
import type { NexusApi, Response } from '../../src-shared/contract';
import { createApi } from '../../src-shared/create-api';
import { ServerFrame, type ClientFrame } from '../../src-shared/ws-frames';

export interface WsClient {
  api: NexusApi;
  /** Called once when the connection drops. */
  onClose(listener: () => void): void;
  close(): void;
}

const DISCONNECTED = {
  code: 'DISCONNECTED',
  message: 'The connection to Nexus Imager was lost.',
  hint: 'Check that "nexus serve" is still running, then reload the page.',
};

export function wsUrlFromLocation(loc: { protocol: string; host: string; search: string }): string {
  const token = new URLSearchParams(loc.search).get('token') ?? '';
  return `${loc.protocol === 'https:' ? 'wss' : 'ws'}://${loc.host}/ws?token=${encodeURIComponent(token)}`;
}

function parseFrame(data: unknown): ServerFrame | null {
  try {
    const parsed = ServerFrame.safeParse(JSON.parse(String(data)));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}

export function connectWebSocket(url: string, WS: typeof WebSocket = WebSocket): Promise<WsClient> {
  return new Promise((resolve, reject) => {
    const socket = new WS(url);
    let nextId = 1;
    let open = false;
    const pending = new Map<number, (r: Response<unknown>) => void>();
    const streams = new Map<string, (payload: unknown) => void>();
    const closeListeners: Array<() => void> = [];
    const send = (frame: ClientFrame) => socket.readyState === WS.OPEN && socket.send(JSON.stringify(frame));

    socket.onmessage = (msg) => {
      const frame = parseFrame(msg.data);
      if (frame?.kind === 'res') {
        const r = frame.response;
        pending.get(frame.id)?.(r.ok ? { ok: true, value: r.value } : r);
        pending.delete(frame.id);
      } else if (frame?.kind === 'evt') {
        streams.get(frame.name)?.(frame.payload);
      }
    };
    socket.onclose = () => {
      for (const done of pending.values()) done({ ok: false, error: DISCONNECTED });
      pending.clear();
      if (!open) reject(new Error('The WebSocket connection was refused (is the token in the URL?).'));
      for (const l of closeListeners.splice(0)) l();
    };

    const api = createApi({
      invoke: (name, payload) =>
        new Promise<Response<unknown>>((done) => {
          if (socket.readyState !== WS.OPEN) return done({ ok: false, error: DISCONNECTED });
          const id = nextId++;
          pending.set(id, done);
          send({ kind: 'req', id, name, payload });
        }),
      subscribe: (name, deliver) => {
        streams.set(name, deliver);
        send({ kind: 'sub', name });
        return () => {
          streams.delete(name);
          send({ kind: 'unsub', name });
        };
      },
    });

    socket.onopen = () => {
      open = true;
      resolve({ api, onClose: (l) => closeListeners.push(l), close: () => socket.close() });
    };
  });
}
