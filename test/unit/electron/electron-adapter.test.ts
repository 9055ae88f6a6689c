/**
 * The Electron adapter under plain Node with `electron` mocked (the binary cannot be downloaded here):
 * the preload surface, IPC sender validation, and the window's security settings and handlers.
 * The same checks against a real Electron run in test/e2e/electron.test.ts where the binary exists.
 */
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { API_KEYS, COMMAND_NAMES } from '../../../src-shared/contract';

const h = vi.hoisted(() => ({
  exposed: new Map<string, unknown>(),
  windows: [] as Array<{ options: Record<string, unknown>; contents: FakeContents }>,
  notifications: [] as string[],
  dialogs: 0,
}));

interface FakeContents {
  handlers: Map<string, (...args: unknown[]) => void>;
  openHandler?: (d: { url: string }) => { action: string };
  on(event: string, fn: (...args: unknown[]) => void): void;
  setWindowOpenHandler(fn: (d: { url: string }) => { action: string }): void;
  session: {
    permission?: (wc: unknown, p: string, cb: (ok: boolean) => void) => void;
    check?: () => boolean;
    setPermissionRequestHandler(f: never): void;
    setPermissionCheckHandler(f: never): void;
  };
}

function fakeContents(): FakeContents {
  const c: FakeContents = {
    handlers: new Map(),
    on(event, fn) {
      c.handlers.set(event, fn);
    },
    setWindowOpenHandler(fn) {
      c.openHandler = fn;
    },
    session: {
      setPermissionRequestHandler(f) {
        c.session.permission = f;
      },
      setPermissionCheckHandler(f) {
        c.session.check = f;
      },
    },
  };
  return c;
}

vi.mock('electron', () => ({
  Notification: class {
    static isSupported = () => true;
    constructor(readonly options: { body: string }) {}
    show() {
      h.notifications.push(this.options.body);
    }
  },
  dialog: { showMessageBoxSync: () => (h.dialogs++, 0) },
  contextBridge: { exposeInMainWorld: (key: string, api: unknown) => h.exposed.set(key, api) },
  ipcRenderer: { invoke: vi.fn(), on: vi.fn(), removeListener: vi.fn(), send: vi.fn() },
  BrowserWindow: class {
    webContents = fakeContents();
    constructor(options: Record<string, unknown>) {
      h.windows.push({ options, contents: this.webContents });
    }
    once() {}
  },
}));

describe('preload', () => {
  it('exposes exactly one function per contract entry as window.nexus, and nothing else', async () => {
    await import('../../../src-main/electron/preload');
    expect([...h.exposed.keys()]).toEqual(['nexus']);
    const api = h.exposed.get('nexus') as Record<string, unknown>;
    expect(Object.keys(api).sort()).toEqual([...API_KEYS].sort());
    for (const k of API_KEYS) expect(typeof api[k]).toBe('function');
  });

  it('maps commands to their own channel and events to subscribe/unsubscribe without leaking the IPC event', async () => {
    const { buildApi } = await import('../../../src-main/electron/preload');
    const ipc = { invoke: vi.fn(async () => ({ ok: true, value: 1 })), on: vi.fn(), removeListener: vi.fn(), send: vi.fn() };
    const api = buildApi(ipc as never) as Record<string, (x: unknown) => unknown>;
    await api['drives.list']!({});
    expect(ipc.invoke).toHaveBeenCalledWith('nexus:cmd:drives.list', {});
    const listener = vi.fn();
    const off = api['drives.changed']!(listener) as () => void;
    expect(ipc.send).toHaveBeenCalledWith('nexus:subscribe', 'drives.changed');
    const [channel, handler] = ipc.on.mock.calls[0] as unknown as [string, (e: unknown, p: unknown) => void];
    expect(channel).toBe('nexus:evt:drives.changed');
    handler({ sender: 'secret' }, { drives: [] });
    expect(listener).toHaveBeenCalledWith({ drives: [] });
    off();
    expect(ipc.send).toHaveBeenCalledWith('nexus:unsubscribe', 'drives.changed');
  });
});

describe('IPC sender validation', () => {
  const wc = { id: 1 };
  const trusted = (x: unknown) => x === wc;
  const ev = (url: string, parent: unknown = null, sender: unknown = wc) => ({ senderFrame: { url, parent }, sender }) as never;

  it('accepts only the main frame of our window showing app://nexus', async () => {
    const { isTrustedSender } = await import('../../../src-main/electron/ipc');
    expect(isTrustedSender(ev('app://nexus/index.html'), trusted)).toBe(true);
    expect(isTrustedSender(ev('app://nexus/index.html', { url: 'app://nexus/' }), trusted)).toBe(false);
    expect(isTrustedSender(ev('https://evil.example/'), trusted)).toBe(false);
    expect(isTrustedSender(ev('app://nexus.evil.example/'), trusted)).toBe(false);
    expect(isTrustedSender(ev('file:///etc/passwd'), trusted)).toBe(false);
    expect(isTrustedSender(ev('app://nexus/index.html', null, { id: 2 }), trusted)).toBe(false);
    expect(isTrustedSender({ senderFrame: null, sender: wc } as never, trusted)).toBe(false);
  });

  it('registers one handler per command and refuses untrusted callers before the dispatcher sees them', async () => {
    const { registerIpc } = await import('../../../src-main/electron/ipc');
    const handles = new Map<string, (e: unknown, r: unknown) => Promise<unknown>>();
    const ipcMain = { handle: (c: string, f: never) => handles.set(c, f), on: vi.fn(), removeHandler: vi.fn(), removeListener: vi.fn() };
    const dispatcher = { invoke: vi.fn(async () => ({ ok: true, value: 'x' })), subscribe: vi.fn() };
    registerIpc(ipcMain as never, dispatcher as never, trusted as never);
    expect([...handles.keys()].sort()).toEqual(COMMAND_NAMES.map((n) => `nexus:cmd:${n}`).sort());
    const call = handles.get('nexus:cmd:drives.list')!;
    expect(await call(ev('https://evil.example/'), {})).toMatchObject({ ok: false, error: { code: 'IPC_REFUSED' } });
    expect(dispatcher.invoke).not.toHaveBeenCalled();
    expect(await call(ev('app://nexus/index.html'), {})).toEqual({ ok: true, value: 'x' });
    expect(dispatcher.invoke).toHaveBeenCalledWith('drives.list', {});
  });
});

describe('window factory', () => {
  beforeEach(() => {
    h.windows.length = 0;
  });

  it('uses isolation, the sandbox and no Node integration, and denies navigation, new windows, webviews and permissions', async () => {
    const { createMainWindow } = await import('../../../src-main/electron/window');
    createMainWindow('/app/build/electron/preload.cjs');
    const [{ options, contents }] = h.windows as [(typeof h.windows)[number]];
    expect(options.webPreferences).toMatchObject({
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      webSecurity: true,
      webviewTag: false,
      preload: '/app/build/electron/preload.cjs',
    });

    const navigate = (url: string) => {
      const event = { preventDefault: vi.fn() };
      contents.handlers.get('will-navigate')!(event, url);
      return event.preventDefault.mock.calls.length > 0;
    };
    expect(navigate('https://evil.example/')).toBe(true);
    expect(navigate('file:///etc/passwd')).toBe(true);
    expect(navigate('app://nexus/index.html')).toBe(false);
    expect(contents.openHandler!({ url: 'https://example.org' })).toEqual({ action: 'deny' });
    const webview = { preventDefault: vi.fn() };
    contents.handlers.get('will-attach-webview')!(webview);
    expect(webview.preventDefault).toHaveBeenCalled();
    const answer = vi.fn();
    contents.session.permission!(null, 'media', answer);
    expect(answer).toHaveBeenCalledWith(false);
    expect(contents.session.check!()).toBe(false);
  });
});

describe('desktop behaviour, derived from the contract', () => {
  it('the taskbar follows the jobs marked for the desktop; a long one ends with a notification naming it; closing asks only during a write', async () => {
    const { trackProgress, jobEnded, confirmCloseDuringWrite } = await import('../../../src-main/electron/desktop');
    const { Dispatcher, JobRegistry } = await import('../../../src-main/app/dispatcher');
    const jobs = new JobRegistry();
    const d = new Dispatcher({} as never, jobs, { throttleMs: 0 });
    const bars: number[] = [];
    const closeHandlers: Array<(e: { preventDefault(): void }) => void> = [];
    const win = {
      isDestroyed: () => false,
      setProgressBar: (f: number) => bars.push(f),
      on: (_: string, f: (typeof closeHandlers)[number]) => closeHandlers.push(f),
    };
    const stop = trackProgress(win as never, d);
    const ev = (status: 'pending' | 'running', fraction: number | null) => ({
      jobId: 'job-b1',
      event: { type: 'progress' as const, stage: 's', status, fraction, bytesDone: null, bytesTotal: null, rate: null, etaSeconds: null, message: '' },
    });
    d.emit('build.progress', ev('pending', null));
    d.emit('build.progress', ev('running', 0.25));
    d.emit('build.progress', ev('running', null));
    const target = { device: '/dev/sdz', phase: 'writing' as const, bytesDone: 30, bytesTotal: 120, speed: 1, avgSpeed: 1, etaSeconds: 1 };
    d.emit('flash.progress', {
      jobId: 'job-f1',
      progress: { type: 'flash.progress', phase: 'writing', sourceBytesRead: 0, sourceBytesTotal: null, targets: [target], elapsedMs: 1 },
    });
    d.emit('image.progress', { jobId: 'job-i1', bytesRead: 1, bytesTotal: 2 }); // not a desktop job
    expect(bars).toEqual([0.25, 2, 0.25]);
    stop();

    jobEnded(win as never, 'build.start', { ok: true, value: null }, 60_000);
    jobEnded(win as never, 'flash.start', { ok: false, error: { code: 'CANCELLED', message: 'x' } }, 60_000);
    jobEnded(win as never, 'flash.start', { ok: true, value: null }, 1_000); // short: no notification
    expect(h.notifications).toEqual(['The build finished.', 'Writing was cancelled.']);

    confirmCloseDuringWrite(win as never, d);
    const close = () => closeHandlers.forEach((f) => f({ preventDefault: () => undefined }));
    jobs.start('job-b2', 'build.start');
    close();
    expect(h.dialogs).toBe(0);
    jobs.start('job-f2', 'flash.start');
    close();
    expect(h.dialogs).toBe(1);
    d.close();
  });
});
