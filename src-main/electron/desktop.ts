/** Desktop behaviour: taskbar progress, a notification when a long job ends, and asking before closing during a write. */
import { BrowserWindow, Notification, dialog } from 'electron';
import { COMMAND_NAMES, commands, progressOf, type CommandName, type Response } from '../../src-shared/contract';
import type { Dispatcher } from '../app/dispatcher';

const LONG_JOB_MS = 20_000;

/** The taskbar shows the progress of the jobs the contract marks for the desktop. */
export function trackProgress(win: BrowserWindow, dispatcher: Dispatcher): () => void {
  const streams = new Set(COMMAND_NAMES.flatMap((n) => (commands[n].job?.desktop && commands[n].job.progress ? [commands[n].job.progress] : [])));
  const stops = [...streams].map((name) =>
    dispatcher.subscribe(name, (payload) => {
      const fraction = progressOf(name, payload)?.fraction;
      if (fraction !== undefined && !win.isDestroyed()) win.setProgressBar(fraction ?? 2 /* indeterminate */);
    }),
  );
  return () => stops.forEach((s) => s());
}

export function jobEnded(win: BrowserWindow, name: CommandName, response: Response<unknown>, ms: number): void {
  if (!win.isDestroyed()) win.setProgressBar(-1);
  const what = commands[name].job?.desktop?.title;
  if (!what || ms < LONG_JOB_MS || !Notification.isSupported()) return;
  const body = response.ok ? `${what} finished.` : response.error.code === 'CANCELLED' ? `${what} was cancelled.` : `${what} failed: ${response.error.message}`;
  new Notification({ title: 'Nexus Imager', body }).show();
}

/** Closing while a drive is being written asks first; cancelling then leaves the drive blank. */
export function confirmCloseDuringWrite(win: BrowserWindow, dispatcher: Dispatcher): void {
  win.on('close', (event) => {
    if (dispatcher.jobs.running((c) => commands[c].job?.confirmClose === true) === 0) return;
    const choice = dialog.showMessageBoxSync(win, {
      type: 'warning',
      buttons: ['Keep writing', 'Stop and close'],
      defaultId: 0,
      cancelId: 0,
      message: 'A drive is being written.',
      detail: 'If you close now, writing stops and the drive is left blank; it will have to be written again.',
    });
    if (choice === 0) event.preventDefault();
    else dispatcher.close();
  });
}
