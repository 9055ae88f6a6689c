/** Electron main process: a thin adapter hosting the same app (dispatcher + engine) as `nexus serve`. */
import { app, dialog, ipcMain, type BrowserWindow } from 'electron';
import { join } from 'node:path';
import { createApp } from '../app/create-app';
import { defaultPorts } from '../app/default-ports';
import { defaultOutputDir } from '../app/handlers';
import { cacheDir, configDir } from '../engine/paths';
import { APP_ORIGIN } from './channels';
import { confirmCloseDuringWrite, jobEnded, trackProgress } from './desktop';
import { registerIpc } from './ipc';
import { registerScheme, serveRenderer } from './protocol';
import { createMainWindow, denyPermissions, lockDown } from './window';

// profiles/ and resources/ are packed with the app; the engine finds them through NEXUS_APP_ROOT.
process.env.NEXUS_APP_ROOT ??= app.getAppPath();

registerScheme();
app.on('web-contents-created', (_e, contents) => lockDown(contents));

async function start(): Promise<void> {
  await app.whenReady();
  const root = app.getAppPath();
  serveRenderer(join(root, 'build', 'renderer'));
  let win: BrowserWindow | null = null;
  const pickImage = async () => {
    const options = { properties: ['openFile' as const], filters: [{ name: 'Disk images', extensions: ['img', 'iso', 'raw', 'xz', 'gz', 'zst', 'zip'] }] };
    const r = win ? await dialog.showOpenDialog(win, options) : await dialog.showOpenDialog(options);
    return r.canceled ? null : (r.filePaths[0] ?? null);
  };
  const dispatcher = createApp(
    { ...defaultPorts(), pickImage },
    {
      version: app.getVersion(),
      transport: 'electron',
      configDir: configDir(),
      outputDir: defaultOutputDir(cacheDir()),
    },
  );
  win = createMainWindow(join(root, 'build', 'electron', 'preload.cjs'));
  denyPermissions(win.webContents.session);
  registerIpc(ipcMain, dispatcher, (wc) => wc === win.webContents, { onJobEnd: (name, response, ms) => jobEnded(win, name, response, ms) });
  trackProgress(win, dispatcher);
  confirmCloseDuringWrite(win, dispatcher);
  win.on('closed', () => dispatcher.close());
  await win.loadURL(`${APP_ORIGIN}/index.html`);
}

app.on('window-all-closed', () => app.quit());
start().catch((err) => {
  console.error(err);
  app.exit(1);
});
