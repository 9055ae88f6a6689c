/**
 * Packaging without the Electron download: bundle main/preload/helper with esbuild, then let electron-builder
 * lay out an unpacked Linux app from a stub Electron (`--dir -c.electronDist=stub`). Checks that the config
 * puts the renderer, the catalog and the privileged helper with its polkit policy where the app expects them.
 */
import { execa } from 'execa';
import { chmod, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { ensureRendererBuilt } from '../../support/e2e/renderer-build';

const ROOT = join(import.meta.dirname, '..', '..', '..');
const exists = (p: string) =>
  stat(p).then(
    () => true,
    () => false,
  );

describe('desktop packaging', () => {
  it('keeps the initial route of the renderer within 500 KB gzip', async () => {
    const dir = await ensureRendererBuilt();
    const html = await readFile(join(dir, 'index.html'), 'utf8');
    const files = ['index.html', ...[...html.matchAll(/(?:src|href)="\.?\/?(assets\/[^"]+)"/g)].map((m) => m[1]!)];
    expect(files.length).toBeGreaterThan(1);
    let total = 0;
    for (const f of files) total += gzipSync(await readFile(join(dir, f)), { level: 9 }).length;
    expect(total).toBeLessThanOrEqual(500 * 1024);
  }, 180_000);

  let work: string | null = null;
  afterAll(async () => {
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('bundles the Electron main process, a self-contained preload and the privileged helper', async () => {
    await execa('node', ['src-main/electron/bundle.mjs'], { cwd: ROOT });
    for (const f of ['build/electron/main.cjs', 'build/electron/preload.cjs', 'build/privileged/helper-main.js'])
      expect(await exists(join(ROOT, f))).toBe(true);
    const preload = await readFile(join(ROOT, 'build/electron/preload.cjs'), 'utf8');
    // A sandboxed preload may only require "electron".
    const requires = [...preload.matchAll(/require\("([^"]+)"\)/g)].map((m) => m[1]);
    expect(new Set(requires)).toEqual(new Set(['electron']));
    expect(preload).toContain('exposeInMainWorld');
  }, 120_000);

  it('electron-builder lays out the app with the renderer, profiles and the polkit helper outside the asar', async () => {
    await ensureRendererBuilt();
    work = await mkdtemp(join(tmpdir(), 'nexus-pack-'));
    const stub = join(work, 'electron-stub');
    await mkdir(join(stub, 'resources'), { recursive: true });
    await writeFile(join(stub, 'electron'), '#!/bin/sh\necho stub\n');
    await chmod(join(stub, 'electron'), 0o755);
    const out = join(work, 'dist');
    const r = await execa('npx', ['electron-builder', '--linux', 'dir', `-c.electronDist=${stub}`, `-c.directories.output=${out}`, '-c.npmRebuild=false'], {
      cwd: ROOT,
      reject: false,
      all: true,
    });
    expect(r.exitCode, r.all).toBe(0);
    const app = join(out, 'linux-unpacked');
    expect(await exists(join(app, 'nexus-imager'))).toBe(true);
    expect(await exists(join(app, 'resources', 'app.asar'))).toBe(true);
    expect(await exists(join(app, 'resources', 'polkit', 'nexus-flash-helper'))).toBe(true);
    expect(await exists(join(app, 'resources', 'polkit', 'io.nexus_imager.flash.policy'))).toBe(true);
    const { stdout } = await execa('npx', ['asar', 'list', join(app, 'resources', 'app.asar')], { cwd: ROOT });
    for (const f of [
      '/build/renderer/index.html',
      '/build/electron/main.cjs',
      '/build/electron/preload.cjs',
      '/build/privileged/helper-main.js',
      '/profiles/boxes/tinybox.yaml',
      '/resources/boards/visionfive2.svg',
    ]) {
      expect(stdout).toContain(f);
    }
    expect(stdout).not.toContain('/resources/polkit/');
  }, 180_000);
});
