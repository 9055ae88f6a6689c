/**
 * The contract over `nexus serve`'s WebSocket: an object with one function per contract entry, the same
 * shape as Electron's window.nexus. The token comes from the page URL, which `nexus serve` printed.
 */
import { COMMAND_NAMES, EVENT_NAMES, type NexusApi, type Response } from '../../src-shared/contract';

type Frame =
  | { kind: 'res'; id: number; response: Response<unknown> }
  | { kind: 'evt'; name: string; payload: unknown }
  | { kind: 'error'; error: { code: string; message: string; hint?: string } };

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

export function connectWebSocket(url: string, WS: typeof WebSocket = WebSocket): Promise<WsClient> {
  return new Promise((resolve, reject) => {
    const socket = new WS(url);
    let nextId = 1;
    let open = false;
    const pending = new Map<number, (r: Response<unknown>) => void>();
    const listeners = new Map<string, Set<(p: unknown) => void>>();
    const closeListeners: Array<() => void> = [];
    const send = (frame: unknown) => socket.readyState === WS.OPEN && socket.send(JSON.stringify(frame));

    socket.onmessage = (msg) => {
      const frame = JSON.parse(String(msg.data)) as Frame;
      if (frame.kind === 'res') {
        pending.get(frame.id)?.(frame.response);
        pending.delete(frame.id);
      } else if (frame.kind === 'evt') {
        for (const l of listeners.get(frame.name) ?? []) l(frame.payload);
      }
    };
    socket.onclose = () => {
      for (const done of pending.values()) done({ ok: false, error: DISCONNECTED });
      pending.clear();
      if (!open) reject(new Error('The WebSocket connection was refused (is the token in the URL?).'));
      for (const l of closeListeners.splice(0)) l();
    };

    const api: Record<string, unknown> = {};
    for (const name of COMMAND_NAMES) {
      api[name] = (request: unknown) =>
        new Promise<Response<unknown>>((done) => {
          if (socket.readyState !== WS.OPEN) return done({ ok: false, error: DISCONNECTED });
          const id = nextId++;
          pending.set(id, done);
          send({ kind: 'req', id, name, payload: request ?? {} });
        });
    }
    for (const name of EVENT_NAMES) {
      api[name] = (listener: (p: unknown) => void) => {
        let set = listeners.get(name);
        if (!set) listeners.set(name, (set = new Set()));
        set.add(listener);
        if (set.size === 1) send({ kind: 'sub', name });
        return () => {
          set.delete(listener);
          if (set.size === 0) send({ kind: 'unsub', name });
        };
      };
    }

    socket.onopen = () => {
      open = true;
      resolve({ api: Object.freeze(api) as unknown as NexusApi, onClose: (l) => closeListeners.push(l), close: () => socket.close() });
    };
  });
}
