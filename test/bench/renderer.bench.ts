/**
 * Renderer bench: gzip size of what the initial route (the Box screen) loads, against the 500 KB budget,
 * and the time from navigation to an interactive Box screen in Debian's Chromium against `nexus serve`.
 * Baselines from the same run: the gzip size of React + ReactDOM alone, and the time to load a tiny static page.
 */
import { readFile, readdir, mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { hostApp } from '../../src-main/server/host';
import { hasChromium, launchChromium } from '../support/e2e/browser';
import { ensureRendererBuilt } from '../support/e2e/renderer-build';

const BUDGET = 500 * 1024;
const RUNS = 5;
const kb = (n: number) => `${(n / 1024).toFixed(1)} KB`;
const gz = (b: Buffer | string) => gzipSync(b, { level: 9 }).length;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** Files index.html loads before anything else: the entry script, modulepreloads and stylesheets. */
async function initialRouteFiles(dir: string): Promise<string[]> {
  const html = await readFile(join(dir, 'index.html'), 'utf8');
  const refs = [...html.matchAll(/(?:src|href)="\.?\/?(assets\/[^"]+)"/g)].map((m) => m[1]!);
  return ['index.html', ...new Set(refs)];
}

const dir = await ensureRendererBuilt();
const initial = await initialRouteFiles(dir);
let initialGz = 0;
for (const f of initial) initialGz += gz(await readFile(join(dir, f)));
const all = await readdir(join(dir, 'assets'));
let allGz = 0;
for (const f of all) allGz += gz(await readFile(join(dir, 'assets', f)));
const reactBaseline = gz(
  Buffer.concat(
    await Promise.all([
      readFile(join('node_modules', 'react', 'cjs', 'react.production.js')),
      readFile(join('node_modules', 'react-dom', 'cjs', 'react-dom-client.production.js')),
    ]),
  ),
);

console.log('renderer bundle (gzip -9)');
console.log(`  initial route (${initial.length} files): ${kb(initialGz)} of ${kb(BUDGET)} budget → ${initialGz <= BUDGET ? 'OK' : 'OVER BUDGET'}`);
console.log(`  all chunks (${all.length} files):       ${kb(allGz)}`);
console.log(`  baseline React + ReactDOM:     ${kb(reactBaseline)} (initial route = ${(initialGz / reactBaseline).toFixed(2)}× React alone)`);

if (!hasChromium()) {
  console.log('time to interactive: skipped (no /usr/bin/chromium)');
} else {
  const cfg = await mkdtemp(join(tmpdir(), 'nexus-bench-'));
  const server = await hostApp({ rendererDir: dir, configDir: cfg, outputDir: cfg });
  const tiny = createServer((_req, res) => res.end('<!doctype html><button>ok</button>'));
  await new Promise<void>((r) => tiny.listen(0, '127.0.0.1', () => r()));
  const tinyUrl = `http://127.0.0.1:${(tiny.address() as AddressInfo).port}/`;
  const browser = await launchChromium();
  const tti: number[] = [];
  const base: number[] = [];
  try {
    for (let i = 0; i < RUNS + 1; i++) {
      const ctx = await browser.newContext();
      const page = await ctx.newPage();
      let t = performance.now();
      await page.goto(tinyUrl);
      await page.getByRole('button', { name: 'ok' }).waitFor();
      const b = performance.now() - t;
      t = performance.now();
      await page.goto(server.url);
      await page.getByRole('button', { name: /^tinybox:/ }).click({ trial: true });
      const ms = performance.now() - t;
      if (i > 0) {
        tti.push(ms);
        base.push(b);
      }
      await ctx.close();
    }
  } finally {
    await browser.close();
    await server.close();
    tiny.close();
    await rm(cfg, { recursive: true, force: true });
  }
  console.log(`time to an interactive Box screen (median of ${RUNS}, cold context): ${median(tti).toFixed(0)} ms`);
  console.log(`  baseline tiny static page: ${median(base).toFixed(0)} ms → ${(median(tti) / median(base)).toFixed(1)}×`);
}
