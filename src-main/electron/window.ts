/**
 * The one window factory. One literal webPreferences object (so Electronegativity's checks see it):
 * context isolation, sandbox, no Node integration. Navigation away, new windows, webviews and every
 * permission request are denied.
 */
import { BrowserWindow, type Session, type WebContents } from 'electron';
import { isAppUrl as isOwnUrl } from './channels';

/** Locks down a webContents: used for the main window and for any other that might appear. */
export function lockDown(contents: WebContents): void {
  contents.on('will-navigate', (event, url) => {
    if (!isOwnUrl(url)) event.preventDefault();
  });
  contents.on('will-redirect', (event, url) => {
    if (!isOwnUrl(url)) event.preventDefault();
  });
  contents.on('will-attach-webview', (event) => event.preventDefault());
  contents.setWindowOpenHandler(() => ({ action: 'deny' }));
}

export function denyPermissions(session: Session): void {
  session.setPermissionRequestHandler((_wc, _permission, callback) => callback(false));
  session.setPermissionCheckHandler(() => false);
}

export function createMainWindow(preload: string): BrowserWindow {
  const win = new BrowserWindow({
    width: 1200,
    height: 860,
    minWidth: 720,
    minHeight: 560,
    title: 'Nexus Imager',
    show: false,
    webPreferences: {
      preload,
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      experimentalFeatures: false,
      webviewTag: false,
      spellcheck: false,
    },
  });
  lockDown(win.webContents);
  denyPermissions(win.webContents.session);
  win.once('ready-to-show', () => win.show());
  return win;
}
