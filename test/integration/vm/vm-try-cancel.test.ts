/**
 * "Try in a VM" is a real job: job.cancel kills its QEMU and leaves no temporary files, also when the cancel
 * arrives before QEMU has started (the signal is already aborted when the boot begins). Real QEMU (x86_64, TCG)
 * on a blank disk image, so it never reaches a boot marker: only a cancel ends it.
 */
import { mkdir, mkdtemp, readdir, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createApp } from '../../../src-main/app/create-app';
import { defaultPorts } from '../../../src-main/app/default-ports';
import type { Dispatcher } from '../../../src-main/app/dispatcher';
import { HistoryStore } from '../../../src-main/app/history-store';

const QEMU = '/usr/bin/qemu-system-x86_64';

/** Pids of processes whose command line mentions `needle`. */
async function processesWith(needle: string): Promise<number[]> {
  const pids: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const cmdline = await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '');
    if (cmdline.includes(needle)) pids.push(Number(entry));
  }
  return pids;
}

describe.skipIf(!existsSync(QEMU))('vm.try cancellation (real QEMU)', () => {
  let dir: string;
  let scratchRoot: string;
  let image: string;
  let app: Dispatcher;
  const savedTmp = process.env.TMPDIR;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'nexus-vm-cancel-'));
    // bootTest makes its scratch folder (UEFI variables) under the OS temp dir: a private one shows what is left.
    scratchRoot = join(dir, 'tmp');
    await mkdir(scratchRoot);
    process.env.TMPDIR = scratchRoot;
    image = join(dir, 'blank-disk.img');
    await writeFile(image, '');
    await truncate(image, 64 * 1024 * 1024);
    const history = new HistoryStore(dir);
    await history.add({
      id: 'blank-1',
      time: Date.now(),
      box: 'tinybox',
      arch: 'x86_64',
      board: 'qemu-x86_64',
      fragments: [],
      image,
      sha256: '0'.repeat(64),
      size: 64 * 1024 * 1024,
      manifest: null,
      bmap: null,
      answers: null,
    });
    app = createApp(defaultPorts(), { version: 't', transport: 'memory', configDir: dir, outputDir: dir }, { checkResponses: true });
  });

  afterAll(async () => {
    app.close();
    if (savedTmp === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = savedTmp;
    await rm(dir, { recursive: true, force: true });
  });

  it('a running VM: job.cancel kills QEMU and removes its scratch files; the console log stays next to the image', async () => {
    const console: string[] = [];
    const stop = app.subscribe('vm.console', (p) => console.push(JSON.stringify(p)));
    const running = app.invoke('vm.try', { jobId: 'vm-running', historyId: 'blank-1', keepRunning: true });
    await vi.waitFor(async () => expect(await processesWith(image)).toHaveLength(1), { timeout: 30_000, interval: 100 });
    expect(await readdir(scratchRoot)).toHaveLength(1); // nexus-vm-…: the VM's UEFI variables
    expect(await app.invoke('job.cancel', { jobId: 'vm-running' })).toEqual({ ok: true, value: { ok: true } });
    // No boot marker was seen: stopping it is a cancellation, not a passed boot.
    expect(await running).toMatchObject({ ok: false, error: { code: 'CANCELLED' } });
    expect(await processesWith(image)).toEqual([]);
    expect(await readdir(scratchRoot)).toEqual([]);
    expect(existsSync(image.replace(/\.img$/, '.console.log'))).toBe(true);
    expect(await app.invoke('job.cancel', { jobId: 'vm-running' })).toMatchObject({ ok: false, error: { code: 'NO_SUCH_JOB' } });
    stop();
  }, 60_000);

  it('cancelled before QEMU starts: QEMU never runs on, the job ends at once and nothing is left', async () => {
    const started = Date.now();
    const running = app.invoke('vm.try', { jobId: 'vm-early', historyId: 'blank-1', keepRunning: true });
    expect(await app.invoke('job.cancel', { jobId: 'vm-early' })).toEqual({ ok: true, value: { ok: true } });
    expect(await running).toMatchObject({ ok: false, error: { code: 'CANCELLED' } });
    expect(Date.now() - started).toBeLessThan(20_000); // the backstop for a forgotten VM is 30 min
    expect(await processesWith(image)).toEqual([]);
    expect(await readdir(scratchRoot)).toEqual([]);
  }, 60_000);
});
