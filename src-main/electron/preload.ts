/**
 * The sandboxed preload: exposes exactly one function per contract entry as window.nexus (no ipcRenderer,
 * no channel strings), built by the shared createApi() over an IPC transport. Commands become `invoke` on their
 * own channel; event streams never leak the IpcRendererEvent.
 */
import { contextBridge, ipcRenderer, type IpcRendererEvent } from 'electron';
import type { NexusApi } from '../../src-shared/contract';
import { createApi } from '../../src-shared/create-api';
import { SUBSCRIBE, UNSUBSCRIBE, commandChannel, eventChannel } from './channels';

export function buildApi(ipc: Pick<typeof ipcRenderer, 'invoke' | 'on' | 'removeListener' | 'send'>): NexusApi {
  return createApi({
    invoke: (name, request) => ipc.invoke(commandChannel(name), request),
    subscribe: (name, deliver) => {
      const handler = (_event: IpcRendererEvent, payload: unknown) => deliver(payload);
      ipc.on(eventChannel(name), handler);
      ipc.send(SUBSCRIBE, name);
      return () => {
        ipc.removeListener(eventChannel(name), handler);
        ipc.send(UNSUBSCRIBE, name);
      };
    },
  });
}

contextBridge.exposeInMainWorld('nexus', buildApi(ipcRenderer));
