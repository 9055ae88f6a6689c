/** Picks the transport once at startup: Electron's preload API when present, else the WebSocket of `nexus serve`. */
import type { NexusApi } from '../../src-shared/contract';
import { connectWebSocket, wsUrlFromLocation } from './ws-client';

declare global {
  interface Window {
    nexus?: NexusApi;
  }
}

export interface PickedTransport {
  api: NexusApi;
  kind: 'electron' | 'websocket';
  onClose?: (listener: () => void) => void;
}

export async function pickTransport(): Promise<PickedTransport> {
  if (window.nexus) return { api: window.nexus, kind: 'electron' };
  const client = await connectWebSocket(wsUrlFromLocation(window.location));
  return { api: client.api, kind: 'websocket', onClose: client.onClose };
}
