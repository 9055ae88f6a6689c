/**
 * In-process writers vs the host tools they replace (issue 17), printed, never asserted: the dm-verity hash tree
 * (verity-tree.ts vs `veritysetup format`) on 64 and 256 MiB of data, the UKI (uki.ts vs objcopy) with a 12 MiB
 * kernel and a 16 MiB initramfs, and the pc board's 128 MiB FAT32 ESP holding a 30 MiB UKI (fat/writer.ts vs
 * mkfs.vfat + mmd + mcopy); each also with the main thread's longest task (the engine runs in the Electron main
 * process; target < 200 ms). Outputs are compared in the same run (byte for byte; the ESP's UKI read back by mcopy).
 */
import { execa } from 'execa';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeFat } from '../../src-main/engine/image/fat/writer';
import { makeUki } from '../../src-main/engine/image/tools/uki';
import { verityFormat } from '../../src-main/engine/image/tools/verity';
import { makeVfat } from '../../src-main/engine/image/tools/vfat';
import { buildUki } from '../../src-main/engine/image/uki';
import { writeVerityTree } from '../../src-main/engine/image/verity-tree';
import { probeMainThread } from '../../src-main/engine/workers/main-thread-probe';

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
} finally {
  await rm(dir, { recursive: true, force: true });
}
