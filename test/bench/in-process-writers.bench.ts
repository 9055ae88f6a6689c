/**
 * In-process writers vs the host tools they replace (issue 17), printed, never asserted: the dm-verity hash tree
 * (verity-tree.ts vs `veritysetup format`) on 64 and 256 MiB of data, the UKI (uki.ts vs objcopy) with a 12 MiB
 * kernel and a 16 MiB initramfs, and the pc board's 128 MiB FAT32 ESP holding a 30 MiB UKI (fat/writer.ts vs
 * mkfs.vfat + mmd + mcopy); each also with the main thread's longest task (the engine runs in the Electron main
 * process; target < 200 ms). Outputs are compared in the same run (byte for byte; the ESP's UKI read back by mcopy).
 * EROFS: the cryptobox root written by erofs/writer.ts vs mkfs.erofs, LZ4 (-zlz4hc) and uncompressed: time and size.
 */
import { execa } from 'execa';
import { randomBytes } from 'node:crypto';
import { lstat, mkdtemp, readdir, readFile, readlink, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeErofs } from '../../src-main/engine/image/erofs/writer';
import { writeFat } from '../../src-main/engine/image/fat/writer';
import { makeUki } from '../../src-main/engine/image/tools/uki';
import { verityFormat } from '../../src-main/engine/image/tools/verity';
import { makeVfat } from '../../src-main/engine/image/tools/vfat';
import { buildUki } from '../../src-main/engine/image/uki';
import { writeVerityTree } from '../../src-main/engine/image/verity-tree';
import { probeMainThread } from '../../src-main/engine/workers/main-thread-probe';
import type { FsManifest } from '../../src-main/engine/rootfs/entries';
import { buildFromTestFeed, extractPartition, planFor, readTable, sharedNexusCache } from '../support/image-build';

const MiB = 1024 * 1024;
const SALT = randomBytes(32).toString('hex');
const UUID = '6f1c1a52-3d9e-4c1b-9f4e-2b7f4f0a9d11';
const row = (label: string, value: string, note = '') => process.stdout.write(`${label.padEnd(52)} ${value.padStart(14)}  ${note}\n`);
const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

async function timed<T>(fn: () => Promise<T>): Promise<{ ms: number; longestTaskMs: number; value: T }> {
  const probe = probeMainThread();
  const t = performance.now();
  const value = await fn();
  const ms = performance.now() - t;
  return { ms, longestTaskMs: probe.stop().longestTaskMs, value };
}

const dir = await mkdtemp(join(tmpdir(), 'nexus-bench-writers-'));
try {
  for (const size of [64, 256]) {
    const data = join(dir, 'data');
    await writeFile(data, randomBytes(size * MiB));
    const ours = await timed(() => writeVerityTree(data, join(dir, 'ours'), { salt: SALT, uuid: UUID }));
    const tool = await timed(() => verityFormat(data, join(dir, 'theirs'), SALT, UUID));
    const same = (await readFile(join(dir, 'ours'))).equals(await readFile(join(dir, 'theirs'))) && ours.value.rootHash === tool.value.rootHash;
    row(`dm-verity ${size} MiB: in-process`, s(ours.ms), `longest main-thread task ${ours.longestTaskMs.toFixed(0)} ms`);
    row(`dm-verity ${size} MiB: veritysetup format`, s(tool.ms), `ratio ${(ours.ms / tool.ms).toFixed(2)}; identical: ${same}`);
  }
  const stub = await readFile('/usr/lib/systemd/boot/efi/linuxx64.efi.stub').catch(() => null);
  if (!stub) row('UKI', 'skipped', 'no systemd EFI stub on this host');
  else {
    const parts = {
      stub,
      osRelease: 'ID=nexus\n',
      cmdline: 'console=ttyS0 quiet',
      kernel: randomBytes(12 * MiB),
      initrd: randomBytes(16 * MiB),
      epoch: 1_700_000_000,
    };
    const ours = await timed(async () => {
      const b = buildUki(parts);
      await writeFile(join(dir, 'uki-ours.efi'), b);
      return b;
    });
    const tool = await timed(() => makeUki(join(dir, 'uki-objcopy.efi'), parts, dir));
    const same = ours.value.equals(await readFile(join(dir, 'uki-objcopy.efi')));
    row('UKI 12 MiB kernel + 16 MiB initrd: in-process', s(ours.ms), `longest main-thread task ${ours.longestTaskMs.toFixed(0)} ms`);
    row('UKI 12 MiB kernel + 16 MiB initrd: objcopy', s(tool.ms), `ratio ${(ours.ms / tool.ms).toFixed(2)}; identical: ${same}`);
  }
  // The 128 MiB ESP of the pc board with a ~30 MiB UKI: fat/writer.ts vs mkfs.vfat + mmd + mcopy (tools/vfat.ts).
  {
    const files = [{ dest: 'EFI/BOOT/BOOTX64.EFI', data: randomBytes(30 * MiB + 4321) }];
    const o = { sizeBytes: 128 * MiB, fat: 'fat32' as const, label: 'NEXUSESP', volumeId: '1a2b3c4d', epoch: 1_700_000_000 };
    const ours = await timed(() => writeFat(join(dir, 'esp-ours.vfat'), files, o));
    const tool = await timed(() => makeVfat(join(dir, 'esp-tools.vfat'), files, { ...o, scratch: dir }));
    const env = { ...process.env, MTOOLS_SKIP_CHECK: '1' };
    await execa('mcopy', ['-i', join(dir, 'esp-ours.vfat'), '::/EFI/BOOT/BOOTX64.EFI', join(dir, 'uki-back.efi')], { env });
    const same = (await readFile(join(dir, 'uki-back.efi'))).equals(files[0]!.data);
    row('FAT32 128 MiB ESP, 30 MiB UKI: in-process', s(ours.ms), `longest main-thread task ${ours.longestTaskMs.toFixed(0)} ms`);
    row('FAT32 128 MiB ESP, 30 MiB UKI: mkfs.vfat+mmd+mcopy', s(tool.ms), `ratio ${(ours.ms / tool.ms).toFixed(2)}; UKI read back by mcopy: ${same}`);
  }
  // The cryptobox root (qemu-x86_64, test feed): built once, its EROFS extracted back into a manifest, then written
  // by erofs/writer.ts and by mkfs.erofs (1.5, over the extracted tree) with and without LZ4.
  {
    process.env.NEXUS_CACHE_DIR = sharedNexusCache('bench-in-process');
    const img = join(dir, 'cryptobox.img');
    await buildFromTestFeed(await planFor('cryptobox', 'qemu-x86_64', img));
    const t = await readTable(img);
    const part = await extractPartition(
      img,
      t.entries.find((e) => e.name === 'root')!,
      join(dir, 'root-part.erofs'),
    );
    const tree = join(dir, 'root-tree');
    await execa('fsck.erofs', [`--extract=${tree}`, part]);
    const manifest = await treeManifest(tree);
    const files = [...manifest.values()].filter((e) => e.type === 'file');
    row('EROFS: cryptobox root', `${files.length} files`, `${(files.reduce((n, e) => n + e.size, 0) / MiB).toFixed(1)} MiB of file data`);
    for (const compression of ['lz4hc', 'none'] as const) {
      const ours = await timed(() => writeErofs(join(dir, `ours-${compression}.erofs`), manifest, { uuid: UUID, epoch: 1_700_000_000, compression }));
      const args = [
        '--quiet',
        '-T',
        '1700000000',
        '-U',
        UUID,
        '-x',
        '-1',
        ...(compression === 'none' ? [] : ['-zlz4hc']),
        join(dir, `mkfs-${compression}.erofs`),
        tree,
      ];
      const tool = await timed(() => execa('mkfs.erofs', args));
      const oursSize = (await stat(join(dir, `ours-${compression}.erofs`))).size;
      const toolSize = (await stat(join(dir, `mkfs-${compression}.erofs`))).size;
      const fsck = await execa('fsck.erofs', [join(dir, `ours-${compression}.erofs`)], { reject: false });
      row(
        `EROFS ${compression}: in-process`,
        s(ours.ms),
        `${(oursSize / MiB).toFixed(2)} MiB; longest main-thread task ${ours.longestTaskMs.toFixed(0)} ms; fsck.erofs: ${fsck.exitCode === 0 ? 'clean' : 'FAILED'}`,
      );
      row(
        `EROFS ${compression}: mkfs.erofs${compression === 'none' ? '' : ' -zlz4hc'}`,
        s(tool.ms),
        `${(toolSize / MiB).toFixed(2)} MiB; time ratio ${(ours.ms / tool.ms).toFixed(2)}, size ratio ${(oursSize / toolSize).toFixed(3)}`,
      );
    }
  }
} finally {
  await rm(dir, { recursive: true, force: true });
}

/** A directory tree (as extracted by fsck.erofs, owners kept) as a manifest with file contents from the tree. */
async function treeManifest(root: string): Promise<FsManifest> {
  const m: FsManifest = new Map();
  const st0 = await lstat(root);
  m.set('/', { path: '/', type: 'dir', mode: st0.mode & 0o7777, uid: st0.uid, gid: st0.gid, mtime: 0, size: 0, owner: 'bench' });
  const walk = async (rel: string) => {
    for (const name of (await readdir(join(root, rel))).sort()) {
      const path = `${rel}/${name}`;
      const st = await lstat(join(root, path));
      const base = { path, mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, mtime: 0, owner: 'bench' };
      if (st.isDirectory()) {
        m.set(path, { ...base, type: 'dir', size: 0 });
        await walk(path);
      } else if (st.isSymbolicLink()) m.set(path, { ...base, type: 'symlink', size: 0, linkTarget: await readlink(join(root, path)) });
      else if (st.isFile()) m.set(path, { ...base, type: 'file', size: st.size, content: { kind: 'file', path: join(root, path) } });
    }
  };
  await walk('');
  return m;
}
