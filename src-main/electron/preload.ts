/**
 * The sandboxed preload: exposes exactly one function per contract entry as window.nexus (no ipcRenderer,
 * no channel strings). Commands become `invoke` on their own channel; event streams return an unsubscribe
 * function and never leak the IpcRendererEvent.
 */
import { contextBridge, ipcRenderer, type IpcRendererEvent } from 'electron';
import { COMMAND_NAMES, EVENT_NAMES } from '../../src-shared/contract';
import { SUBSCRIBE, UNSUBSCRIBE, commandChannel, eventChannel } from './channels';

export function buildApi(ipc: Pick<typeof ipcRenderer, 'invoke' | 'on' | 'removeListener' | 'send'>): Record<string, unknown> {
  const api: Record<string, unknown> = {};
  for (const name of COMMAND_NAMES) api[name] = (request: unknown) => ipc.invoke(commandChannel(name), request ?? {});
  for (const name of EVENT_NAMES) {
    api[name] = (listener: (payload: unknown) => void) => {
      const handler = (_event: IpcRendererEvent, payload: unknown) => listener(payload);
      ipc.on(eventChannel(name), handler);
      ipc.send(SUBSCRIBE, name);
      return () => {
        ipc.removeListener(eventChannel(name), handler);
        ipc.send(UNSUBSCRIBE, name);
      };
    };
  }
  return api;
}

contextBridge.exposeInMainWorld('nexus', buildApi(ipcRenderer));
