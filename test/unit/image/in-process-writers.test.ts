/**
 * `nexus doctor` after issue 17's in-process writers: veritysetup, objcopy and e2fsprogs (mke2fs, e2fsck, debugfs)
 * are optional cross-checks, not build requirements, and a build no longer asks for them (the engine's build code
 * does not run them).
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { doctor } from '../../../src-main/engine/host-tools';

async function sources(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    if (e.isDirectory()) out.push(...(await sources(join(dir, e.name))));
    else if (e.name.endsWith('.ts')) out.push(join(dir, e.name));
  }
  return out;
}

describe('in-process dm-verity, UKI, ext4, FAT and EROFS writers', () => {
  it('doctor lists veritysetup, objcopy, mke2fs, e2fsck, debugfs, mkfs.vfat, mcopy, mmd, mkfs.f2fs and mkfs.erofs as optional cross-checks', async () => {
    const rows = await doctor();
    for (const tool of ['veritysetup', 'objcopy', 'mke2fs', 'e2fsck', 'debugfs', 'mkfs.vfat', 'mcopy', 'mmd', 'mkfs.f2fs', 'mkfs.erofs']) {
      const row = rows.find((r) => r.command === tool)!;
      expect(row.optional, tool).toBe(true);
      expect(row.features.join(' '), tool).toMatch(/^cross-check: .*the build writes them itself/);
    }
  });

  it('no engine module but the cross-check wrappers runs veritysetup, objcopy, e2fsprogs, mkfs.vfat, mtools, mkfs.f2fs or mkfs.erofs', async () => {
    const root = join(__dirname, '../../../src-main/engine');
    const runners: string[] = [];
    for (const f of await sources(root)) {
      if (/runTool\(\s*'(veritysetup|objcopy|mke2fs|e2fsck|debugfs|mkfs\.vfat|mcopy|mmd|mkfs\.f2fs|mkfs\.erofs)'/.test(await readFile(f, 'utf8')))
        runners.push(f.slice(root.length + 1));
    }
    expect(runners.sort()).toEqual([
      'image/tools/erofs.ts',
      'image/tools/ext4.ts',
      'image/tools/f2fs.ts',
      'image/tools/uki.ts',
      'image/tools/verity.ts',
      'image/tools/vfat.ts',
    ]);
    for (const f of await sources(join(root, 'image/stages')))
      expect(await readFile(f, 'utf8'), f).not.toMatch(/from '\.\.\/tools\/(uki|verity|ext4|vfat|f2fs|erofs)'/);
  });

  it('partition tables are ours too: sfdisk is an optional cross-check and no engine module runs sfdisk or sgdisk', async () => {
    const row = (await doctor()).find((r) => r.command === 'sfdisk');
    expect(row?.optional).toBe(true);
    expect(row?.features.join(' ')).toMatch(/^cross-check: /);
    const root = join(__dirname, '../../../src-main/engine');
    for (const f of await sources(root)) expect(await readFile(f, 'utf8'), f).not.toMatch(/runTool\(\s*'(sfdisk|sgdisk)'/);
  });
});
