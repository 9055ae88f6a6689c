/**
 * The real Electron app through Playwright's `_electron`: the same security checks as the mocked unit tests
 * (test/unit/electron), against the bundled main/preload and the built renderer.
 *
 * The Electron binary cannot be downloaded on the CI machines, so this file skips there. To run it:
 *   npm install electron   (without ELECTRON_SKIP_BINARY_DOWNLOAD, so the binary is fetched)
 *   npx vitest run test/e2e/electron.test.ts
 * (on a headless Linux box: xvfb-run -a npx vitest run test/e2e/electron.test.ts)
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { _electron, type ElectronApplication, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_KEYS } from '../../src-shared/contract';
import { ensureRendererBuilt } from '../support/e2e/renderer-build';

const ROOT = join(import.meta.dirname, '..', '..');

function electronBinary(): string | null {
  try {
    const path = createRequire(import.meta.url)('electron') as unknown;
    return typeof path === 'string' && existsSync(path) ? path : null;
  } catch {
    return null;
  }
}

const binary = electronBinary();
const title = binary
  ? 'Electron app (real binary)'
  : 'Electron app — SKIPPED: the Electron binary is not installed (npm install electron without ELECTRON_SKIP_BINARY_DOWNLOAD to run these)';

describe.skipIf(!binary)(title, () => {
  let app: ElectronApplication;
  let page: Page;
  let home: string;

  beforeAll(async () => {
    await ensureRendererBuilt();
    await execa('node', ['src-main/electron/bundle.mjs'], { cwd: ROOT });
    home = await mkdtemp(join(tmpdir(), 'nexus-electron-'));
    app = await _electron.launch({
      executablePath: binary!,
      args: [join(ROOT, 'build', 'electron', 'main.cjs'), '--no-sandbox'],
      cwd: ROOT,
      env: { ...process.env, NEXUS_CONFIG_DIR: join(home, 'config'), NEXUS_CACHE_DIR: join(home, 'cache'), NEXUS_APP_ROOT: ROOT },
    });
    page = await app.firstWindow();
    await page.getByRole('heading', { name: 'Choose a Box' }).waitFor({ timeout: 30_000 });
  }, 120_000);

  afterAll(async () => {
    await app?.close();
    if (home) await rm(home, { recursive: true, force: true });
  });

  it('the window runs isolated and sandboxed with exactly the contract exposed', async () => {
    const seen = await page.evaluate(() => ({
      require: typeof (window as unknown as { require?: unknown }).require,
      process: typeof (window as unknown as { process?: unknown }).process,
      keys: Object.keys(window.nexus ?? {}).sort(),
      origin: location.origin,
    }));
    expect(seen.require).toBe('undefined');
    expect(seen.process).toBe('undefined');
    expect(seen.keys).toEqual([...API_KEYS].sort());
    expect(seen.origin).toBe('app://nexus');
    // Sandboxed renderers cannot see Node even through the preload's globals.
    expect(await page.evaluate(() => typeof (globalThis as unknown as { Buffer?: unknown }).Buffer)).toBe('undefined');
  });

  it('navigation away and window.open are blocked', async () => {
    await page.evaluate(() => {
      location.href = 'https://example.org/';
    });
    await page.waitForTimeout(500);
    expect(new URL(page.url()).host).toBe('nexus');
    expect(await page.evaluate(() => window.open('https://example.org/') === null)).toBe(true);
    expect(app.windows()).toHaveLength(1);
  });

  it('an IPC call from a sub-frame is refused', async () => {
    const r = await page.evaluate(async () => {
      const f = document.createElement('iframe');
      f.src = 'about:blank';
      document.body.appendChild(f);
      const api = (f.contentWindow as unknown as { nexus?: { 'system.info': (r: object) => Promise<unknown> } }).nexus;
      return api ? api['system.info']({}) : { noApiInFrame: true };
    });
    expect(r).toSatisfy(
      (x: unknown) => (x as { noApiInFrame?: boolean }).noApiInFrame === true || (x as { error?: { code?: string } }).error?.code === 'IPC_REFUSED',
    );
  });
});
