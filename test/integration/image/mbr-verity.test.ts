/**
 * A verity root on an MBR disk (the layout cryptobox gets on a Raspberry Pi 5): MBR partitions have no names, so
 * the initramfs finds them by the disk signature and partition numbers from the command line. Shown on QEMU
 * x86_64 (OVMF boots an MBR ESP of type 0xEF) because no Pi 5 can be emulated here.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BuildPlan } from '../../../src-shared/plan';
import { buildFromTestFeed, planFor, readJson, readTable, sharedNexusCache } from '../../support/image-build';

let dir: string;
beforeAll(async () => {
  process.env.NEXUS_CACHE_DIR = sharedNexusCache('mbr-verity');
  dir = await mkdtemp(join(tmpdir(), 'nexus-it-mbr-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('verity root on an MBR disk', () => {
  it('boots to the marker, finding the partitions by disk signature and number', async () => {
    const base = await planFor('cryptobox', 'qemu-x86_64', join(dir, 'mbr.img'));
    const types: Record<string, string> = { esp: 'ef', root: '83', 'root-verity': 'da', state: '83' };
    const plan: BuildPlan = { ...base, partitionTable: 'mbr', partitions: base.partitions.map((p) => ({ ...p, type: types[p.role]! })) };
    const b = await buildFromTestFeed(plan, { bootTest: true });
    const t = await readTable(join(dir, 'mbr.img'));
    expect(t.kind).toBe('mbr');
    expect(t.entries.map((e) => e.type)).toEqual(['ef', '83', 'da', '83']);
    const m = await readJson<{ boot: { kernelCmdline: string } }>(join(dir, 'mbr.manifest.json'));
    expect(m.boot.kernelCmdline).toMatch(/nexus\.mbr=[0-9a-f]{8} nexus\.parts=root:2,root-verity:3,state:4/);
    expect(b.result.bootTest?.passed).toBe(true);
    expect(await readFile(join(dir, 'mbr.console.log'), 'utf8')).not.toMatch(/state partition not mounted/);
  }, 240_000);
});
