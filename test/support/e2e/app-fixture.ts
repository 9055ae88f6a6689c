/**
 * The real app for end-to-end tests: `nexus serve`'s host with the real engine, a private config/cache/output
 * directory, the renderer bundle built by the test itself, and the Debian-based test feed served over
 * loopback HTTP (so faults and delays can be injected).
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { hostApp } from '../../../src-main/server/host';
import type { RunningServer } from '../../../src-main/server/server';
import { debianTestFeed, type FeedArch } from '../debian-test-feed';
import { serveDirectory, type TestHttpServer } from '../http-server';
import { launchChromium } from './browser';
import { ensureRendererBuilt } from './renderer-build';

export interface E2eApp {
  server: RunningServer;
  mirror: TestHttpServer | null;
  dir: string;
  browser: Browser;
  newPage(): Promise<Page>;
  /** A fresh engine cache (so a build really downloads again). */
  freshCache(): Promise<void>;
  close(): Promise<void>;
}

/**
 * withFeed: the Debian-based package feed (x86_64 unless another arch and/or replica packs are asked for);
 * mirror/keysDir: any other mirror (e.g. a fixture OpenBSD release).
 */
export async function startE2eApp(o: { withFeed?: boolean | { arch?: FeedArch; packs?: string[] }; mirror?: string; keysDir?: string } = {}): Promise<E2eApp> {
  // NEXUS_E2E_RENDERER_DIR: use another build (e.g. `vite build --minify false --outDir /tmp/r`) to debug.
  const rendererDir = process.env.NEXUS_E2E_RENDERER_DIR ?? (await ensureRendererBuilt());
  const dir = await mkdtemp(join(tmpdir(), 'nexus-e2e-'));
  let cacheN = 0;
  const freshCache = async () => {
    process.env.NEXUS_CACHE_DIR = join(dir, `cache${cacheN++}`);
    await mkdir(process.env.NEXUS_CACHE_DIR, { recursive: true });
  };
  await freshCache();
  let mirror: TestHttpServer | null = null;
  let keysDir: string | undefined = o.keysDir;
  if (o.mirror) mirror = await serveDirectory(o.mirror);
  if (o.withFeed) {
    const f = typeof o.withFeed === 'object' ? o.withFeed : {};
    const feed = await debianTestFeed(f.arch ?? 'x86_64', f.packs ? { packs: f.packs } : {});
    mirror = await serveDirectory(feed.mirror);
    keysDir = feed.keysDir;
  }
  const server = await hostApp({
    rendererDir,
    configDir: join(dir, 'config'),
    outputDir: join(dir, 'out'),
    checkResponses: true,
    ...(mirror ? { mirror: mirror.url } : {}),
    ...(keysDir ? { keysDir } : {}),
  });
  const browser = await launchChromium();
  return {
    server,
    mirror,
    dir,
    browser,
    freshCache,
    newPage: async () => {
      const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
      page.setDefaultTimeout(20_000);
      page.on('pageerror', (e) => console.error(`[page error] ${e.stack ?? e.message}`));
      page.on('console', async (m) => {
        if (m.type() !== 'error') return;
        const args = await Promise.all(m.args().map((a) => a.jsonValue().catch(() => '?')));
        console.error(`[page console] ${args.map(String).join(' ')}`);
      });
      return page;
    },
    close: async () => {
      await browser.close().catch(() => undefined);
      await server.close();
      await mirror?.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** The app's build history, read over the real WebSocket API (as the page would, with its Origin). */
export async function fetchHistory(app: E2eApp) {
  const { connectWebSocket } = await import('../../../src-renderer/transport/ws-client');
  const { default: WebSocket } = await import('ws');
  class OriginWs extends WebSocket {
    constructor(url: string) {
      super(url, { headers: { Origin: app.server.origin } });
    }
  }
  const client = await connectWebSocket(
    `${app.server.origin.replace('http', 'ws')}/ws?token=${app.server.token}`,
    OriginWs as unknown as typeof globalThis.WebSocket,
  );
  try {
    const r = await client.api['history.list']({});
    if (!r.ok) throw new Error(r.error.message);
    return r.value;
  } finally {
    client.close();
  }
}
