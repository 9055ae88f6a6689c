/**
 * Contract over Electron IPC. Every message is checked: it must come from the main frame of one of our
 * windows, loaded from our app:// origin (VS Code's validatedIpcMain idea). Requests are then parsed by the
 * dispatcher with the contract's schemas.
 */
import type { IpcMain, IpcMainEvent, IpcMainInvokeEvent, WebContents } from 'electron';
import { COMMAND_NAMES, commands, isEventName, type CommandName, type Response } from '../../src-shared/contract';
import type { Dispatcher } from '../app/dispatcher';
import { SUBSCRIBE, UNSUBSCRIBE, commandChannel, eventChannel, isAppUrl } from './channels';

type SenderEvent = Pick<IpcMainInvokeEvent | IpcMainEvent, 'senderFrame' | 'sender'>;

/** True only for the top frame of a trusted webContents showing our own origin. */
export function isTrustedSender(event: SenderEvent, trusted: (wc: WebContents) => boolean): boolean {
  const frame = event.senderFrame;
  if (!frame || frame.parent !== null) return false;
  if (!trusted(event.sender)) return false;
  return isAppUrl(frame.url);
}

const REFUSED: Response<never> = { ok: false, error: { code: 'IPC_REFUSED', message: 'This request did not come from the Nexus Imager window.' } };

export interface IpcHooks {
  /** A job the contract shows on the desktop finished (for the taskbar progress and the notification). */
  onJobEnd?: (name: CommandName, response: Response<unknown>, ms: number) => void;
}

export function registerIpc(ipcMain: IpcMain, dispatcher: Dispatcher, trusted: (wc: WebContents) => boolean, hooks: IpcHooks = {}): () => void {
  const subscriptions = new Map<number, Map<string, () => void>>();
  for (const name of COMMAND_NAMES) {
    ipcMain.handle(commandChannel(name), async (event, request: unknown) => {
      if (!isTrustedSender(event, trusted)) return REFUSED;
      const started = Date.now();
      const response = await dispatcher.invoke(name, request);
      if (commands[name].job?.desktop) hooks.onJobEnd?.(name, response, Date.now() - started);
      return response;
    });
  }
  const onSubscribe = (event: IpcMainEvent, name: unknown) => {
    if (!isTrustedSender(event, trusted) || !isEventName(name)) return;
    const wc = event.sender;
    let subs = subscriptions.get(wc.id);
    if (!subs) {
      subscriptions.set(wc.id, (subs = new Map()));
      wc.once('destroyed', () => {
        for (const stop of subscriptions.get(wc.id)?.values() ?? []) stop();
        subscriptions.delete(wc.id);
      });
    }
    if (subs.has(name)) return;
    subs.set(
      name,
      dispatcher.subscribe(name, (payload) => {
        if (!wc.isDestroyed()) wc.send(eventChannel(name), payload);
      }),
    );
  };
  const onUnsubscribe = (event: IpcMainEvent, name: unknown) => {
    if (!isTrustedSender(event, trusted) || typeof name !== 'string') return;
    const subs = subscriptions.get(event.sender.id);
    subs?.get(name)?.();
    subs?.delete(name);
  };
  ipcMain.on(SUBSCRIBE, onSubscribe);
  ipcMain.on(UNSUBSCRIBE, onUnsubscribe);
  return () => {
    for (const name of COMMAND_NAMES) ipcMain.removeHandler(commandChannel(name));
    ipcMain.removeListener(SUBSCRIBE, onSubscribe);
    ipcMain.removeListener(UNSUBSCRIBE, onUnsubscribe);
    for (const subs of subscriptions.values()) for (const stop of subs.values()) stop();
    subscriptions.clear();
  };
}
