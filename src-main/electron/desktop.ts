/** Desktop behaviour: taskbar progress, a notification when a long job ends, and asking before closing during a write. */
import { BrowserWindow, Notification, dialog } from 'electron';
import type { CommandName, Payload, Response } from '../../src-shared/contract';
import type { Dispatcher } from '../app/dispatcher';

const LONG_JOB_MS = 20_000;

export function trackProgress(win: BrowserWindow, dispatcher: Dispatcher): () => void {
  const stops = [
    dispatcher.subscribe('build.progress', (p) => {
      const { event } = p as Payload<'build.progress'>;
      if (!win.isDestroyed() && event.status === 'running') win.setProgressBar(event.fraction ?? 2 /* indeterminate */);
    }),
    dispatcher.subscribe('flash.progress', (p) => {
      const { progress } = p as Payload<'flash.progress'>;
      const done = progress.targets.reduce((s, t) => s + t.bytesDone, 0);
      const total = progress.targets.reduce((s, t) => s + (t.bytesTotal ?? 0), 0);
      if (!win.isDestroyed()) win.setProgressBar(total > 0 ? done / total : 2);
    }),
  ];
  return () => stops.forEach((s) => s());
}

export function jobEnded(win: BrowserWindow, name: CommandName, response: Response<unknown>, ms: number): void {
  if (!win.isDestroyed()) win.setProgressBar(-1);
  if (ms < LONG_JOB_MS || !Notification.isSupported()) return;
  const what = name === 'build.start' ? 'The build' : 'Writing';
  const body = response.ok ? `${what} finished.` : response.error.code === 'CANCELLED' ? `${what} was cancelled.` : `${what} failed: ${response.error.message}`;
  new Notification({ title: 'Nexus Imager', body }).show();
}

/** Closing while a drive is being written asks first; cancelling then leaves the drive blank. */
export function confirmCloseDuringWrite(win: BrowserWindow, dispatcher: Dispatcher): void {
  win.on('close', (event) => {
    if (dispatcher.jobs.running('flash.start') === 0) return;
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
