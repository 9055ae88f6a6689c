/**
 * The one way a NexusApi object is made, whatever carries the messages: Electron's preload (IPC), the browser's
 * WebSocket client and the renderer tests' fake each supply a Transport; the object gets one function per
 * contract entry. Listeners are counted here, so a transport starts one stream per event name however many
 * listeners it has, and stops it when the last one leaves.
 */
import { COMMAND_NAMES, EVENT_NAMES, type CommandName, type EventName, type NexusApi, type Response } from './contract';

export interface Transport {
  invoke(name: CommandName, request: unknown): Promise<Response<unknown>>;
  /** Starts delivering one event stream; returns its stop function. Called once per name while it has listeners. */
  subscribe(name: EventName, deliver: (payload: unknown) => void): () => void;
}

export function createApi(transport: Transport): NexusApi {
  const api: Record<string, unknown> = {};
  for (const name of COMMAND_NAMES) api[name] = (request: unknown) => transport.invoke(name, request ?? {});
  for (const name of EVENT_NAMES) {
    const listeners = new Set<(payload: unknown) => void>();
    let stop: (() => void) | null = null;
    api[name] = (listener: (payload: unknown) => void) => {
      // The same function twice is two subscriptions (each unsubscribe removes its own).
      const own = (payload: unknown) => listener(payload);
      listeners.add(own);
      stop ??= transport.subscribe(name, (payload) => {
        for (const l of [...listeners]) l(payload);
      });
      return () => {
        if (!listeners.delete(own) || listeners.size > 0) return;
        stop?.();
        stop = null;
      };
    };
  }
  // One key per contract entry, each of the shape its mapped type names (built from the same name lists).
  return Object.freeze(api) as unknown as NexusApi;
}
