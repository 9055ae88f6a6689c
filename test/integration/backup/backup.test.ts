/**
 * Back up a card and restore it: a GPT disk made by the real tools (a boot blob in the gap before the first
 * partition, a FAT32 ESP, an ext4 root with files, free space in both) is written onto loop device A through
 * flash(); `nexus backup` reads A into card.img.zst + card.bmap, reading only the blocks the FAT and ext4 maps
 * say are used; the backup is written onto loop B through the ordinary flash path, and A and B are compared
 * byte for byte. Then the failure paths: a tampered backup fails the restore's verification, a path that is no
 * drive is refused, and an output onto the drive being read is refused.
 */
import { execa } from 'execa';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, readFile, stat, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backupDrive, verifyBackup } from '../../../src-main/engine/backup/backup';
import { listDrives } from '../../../src-main/engine/drives';
import { flash } from '../../../src-main/engine/flash';
import { siblingBmap } from '../../../src-main/engine/flash/sibling-bmap';
import { parseBmap } from '../../../src-main/engine/image/bmap';
import { LoopSet, patternBytes, type Loop } from '../../support/loop-devices';
import { nexus } from '../../support/run-cli';

const MiB = 1 << 20;
const isRoot = process.getuid?.() === 0;
const loops = new LoopSet();
let dir: string;
let a: Loop;
let b: Loop;
let disk: string;

const list = () => listDrives({ extraDevices: loops.devices(), drivelist: async () => [] });

async function sha256(path: string, length?: number): Promise<string> {
  const h = createHash('sha256');
  for await (const c of createReadStream(path, length ? { start: 0, end: length - 1 } : {})) h.update(c as Buffer);
  return h.digest('hex');
}

/** 128 MiB GPT disk: boot blob at 32 KiB, ESP (FAT32, 40 MiB) with files, ext4 root (80 MiB) with 12 MiB of files. */
async function makeDisk(path: string): Promise<void> {
  const root = join(dir, 'rootfs');
  await mkdir(join(root, 'etc'), { recursive: true });
  await mkdir(join(root, 'usr/lib'), { recursive: true });
  await writeFile(join(root, 'etc/hostname'), 'backup-test\n');
  for (let i = 0; i < 6; i++) await writeFile(join(root, `usr/lib/lib${i}.so`), patternBytes(2 * MiB, 100 + i));
  const esp = join(dir, 'espfiles');
  await mkdir(join(esp, 'EFI/BOOT'), { recursive: true });
  await writeFile(join(esp, 'EFI/BOOT/BOOTX64.EFI'), patternBytes(3 * MiB, 7));
  await truncate(path, 128 * MiB).catch(async () => writeFile(path, '').then(() => truncate(path, 128 * MiB)));
  await execa('sfdisk', ['-q', path], { input: 'label: gpt\nstart=2048, size=81920, type=U, name="ESP"\nstart=83968, size=163840, type=L, name="root"\n' });
  // A boot loader where some boards keep one: in the gap between the GPT and the first partition.
  const blob = patternBytes(256 * 1024, 3);
  const fh = await open(path, 'r+');
  await fh.write(blob, 0, blob.length, 32 * 1024);
  await fh.close();
  await execa('mkfs.vfat', ['-F', '32', '-n', 'NEXUSESP', '--offset=2048', path, String(81920 / 2)]);
  await execa('mcopy', ['-s', '-i', `${path}@@1M`, join(esp, 'EFI'), '::/'], { env: { MTOOLS_SKIP_CHECK: '1' } });
  await execa('mke2fs', ['-q', '-t', 'ext4', '-L', 'root', '-d', root, '-E', `offset=${83968 * 512}`, path, `${163840 / 2}k`]);
}

describe.skipIf(!isRoot)('backup a card and restore it (loop devices, real filesystems)', () => {
  beforeAll(async () => {
    dir = await loops.workDir();
    disk = join(dir, 'disk.img');
    await makeDisk(disk);
    a = await loops.create(160 * MiB);
    b = await loops.create(160 * MiB);
    const written = await flash({ source: { kind: 'file', path: disk }, targets: [a.device], verify: true }, { listDrives: list, skipUnmount: true });
    expect(written.ok).toBe(true);
  }, 120_000);

  afterAll(async () => {
    await loops.detachAll();
  });

  it('nexus backup reads only the used blocks, the backup restores through flash, and the two drives are identical', async () => {
    const out = join(dir, 'card.img.zst');
    const r = await nexus(['backup', '--drive', a.device, out, '--json'], { env: { NEXUS_EXTRA_DRIVES: loops.devices().join(',') } });
    expect(r.code, r.stderr).toBe(0);
    const result = JSON.parse(r.stdout).value;
    expect(result).toMatchObject({ device: a.device, image: out, imageSize: 160 * MiB, verified: true });
    const methods = Object.fromEntries(result.regions.map((x: { label: string; method: string }) => [x.label, x.method]));
    expect(methods).toMatchObject({
      'p1 FAT32': 'fat-table',
      'p2 ext4': 'ext4-bitmap',
      'boot area before the first partition': 'unpartitioned',
      'GPT partition table': 'partition-table',
    });
    // 3 MiB of ESP files and 12 MiB of root files, plus metadata and the journal: far below the 160 MiB drive.
    expect(result.mappedBytes).toBeGreaterThan(15 * MiB);
    expect(result.mappedBytes).toBeLessThan(40 * MiB);
    console.log(
      `backup: read ${(result.mappedBytes / MiB).toFixed(1)} MiB of ${result.imageSize / MiB} MiB, file ${(result.compressedSize / MiB).toFixed(1)} MiB, ${result.seconds.toFixed(2)} s`,
    );

    const bmap = siblingBmap(out);
    expect(bmap).toBe(join(dir, 'card.bmap'));
    const parsed = parseBmap(await readFile(bmap!, 'utf8'));
    expect(parsed.imageSize).toBe(160 * MiB);
    // bmaptool, an independent reader of the format, accepts the pair too (it checks every range's SHA-256).
    const plain = join(dir, 'card-bmaptool.img');
    const bt = await execa('bmaptool', ['copy', '--bmap', bmap!, out, plain], { reject: false });
    expect(bt.exitCode, bt.stderr).toBe(0);

    const restored = await flash({ source: { kind: 'file', path: out }, bmap, targets: [b.device], verify: true }, { listDrives: list, skipUnmount: true });
    expect(restored.ok).toBe(true);
    expect(restored.targets[0]).toMatchObject({ state: 'image', verified: true });
    await execa('blockdev', ['--flushbufs', a.device]);
    await execa('blockdev', ['--flushbufs', b.device]);
    expect(await sha256(b.device)).toBe(await sha256(a.device));
    // And both hold the disk that was written (the rest of the 160 MiB drive is zeros on both).
    expect(await sha256(b.device, (await stat(disk)).size)).toBe(await sha256(disk));
    const fsck = await execa('e2fsck', ['-fn', `${b.device}?offset=${83968 * 512}`], { reject: false });
    expect(fsck.exitCode, fsck.stdout + fsck.stderr).toBe(0);
  }, 60_000);

  it('a backup whose file was damaged fails its restore verification; bad drives and outputs are refused', async () => {
    const out = join(dir, 'again.img.zst');
    const r = await backupDrive(a.device, out, { listDrives: list });
    expect(r.verified).toBe(true);
    await expect(backupDrive(a.device, out, { listDrives: list })).rejects.toMatchObject({ code: 'OUTPUT_EXISTS' });
    await expect(backupDrive('/etc/passwd', join(dir, 'x.img.zst'), { listDrives: list })).rejects.toMatchObject({ code: 'DRIVE_NOT_FOUND' });
    await expect(backupDrive(a.device, join(dir, 'x.img'), { listDrives: list })).rejects.toMatchObject({ code: 'USAGE_BACKUP_OUTPUT' });
    // A drive whose mount point holds the output directory: the backup would be written onto itself.
    const mounted = async () => (await list()).map((d) => (d.device === a.device ? { ...d, mountpoints: [{ path: dir, label: null }] } : d));
    await expect(backupDrive(a.device, join(dir, 'self.img.zst'), { listDrives: mounted })).rejects.toMatchObject({ code: 'OUTPUT_ON_SOURCE' });

    // Flip bytes in the compressed data: zstd's own checksum or the bmap's range hashes catch it on restore.
    const buf = await readFile(out);
    for (let i = 0; i < 64; i++) buf[Math.floor(buf.length / 2) + i]! ^= 0xff;
    const bad = join(dir, 'bad.img.zst');
    await writeFile(bad, buf);
    await writeFile(join(dir, 'bad.bmap'), await readFile(join(dir, 'again.bmap')));
    // The backup's own check (run before a backup gets its name) refuses it too.
    await expect(verifyBackup(bad, 160 * MiB)).rejects.toMatchObject({ code: 'BACKUP_VERIFY_FAILED' });
    const restored = await flash(
      { source: { kind: 'file', path: bad }, bmap: join(dir, 'bad.bmap'), targets: [b.device], verify: true },
      { listDrives: list, skipUnmount: true },
    ).catch((e) => e);
    const ok = 'ok' in restored ? restored.ok : false;
    expect(ok).toBe(false);
  }, 120_000);
});
