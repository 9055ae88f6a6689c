/**
 * Backup benchmark (`npm run bench backup`, root): a 512 MiB loop "card" with a GPT disk (FAT32 ESP + ext4 root
 * holding 128 MiB of incompressible files and 64 MiB of text) is backed up three ways, each run after
 * `blockdev --flushbufs` so the device is read again, baselines in the same run (printed, never asserted):
 *   1. `dd if=DEV of=card.img bs=4M iflag=direct` (what most guides say: every block, uncompressed)
 *   2. `dd … | zstd -3 -T0 -o card.img.zst` (every block, compressed like ours)
 *   3. `nexus backup` (backupDrive: used blocks only, hashed, compressed, then verified by decompressing)
 * Target: ours ≥ 1.0× dd|zstd in time, with the file verified; the ratio grows with the free space on the card.
 */
import { execa } from 'execa';
import { mkdir, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { backupDrive } from '../../src-main/engine/backup/backup';
import { listDrives } from '../../src-main/engine/drives';
import { LoopSet, patternBytes } from '../support/loop-devices';

const MiB = 1 << 20;
const SIZE = 512 * MiB;
const RUNS = Number(process.env.NEXUS_BENCH_RUNS ?? 3);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const rate = (bytes: number, ms: number) => `${(bytes / MiB / (ms / 1000)).toFixed(0)} MiB/s`;

if (process.getuid?.() !== 0) {
  console.log('backup bench: needs root (loop devices); skipped');
  process.exit(0);
}

const loops = new LoopSet();
try {
  const dir = await loops.workDir();
  const card = await loops.create(SIZE);
  // The disk, made as an image file and written onto the card.
  const root = join(dir, 'root');
  await mkdir(join(root, 'data'), { recursive: true });
  for (let i = 0; i < 8; i++) await writeFile(join(root, 'data', `blob${i}`), patternBytes(16 * MiB, 40 + i));
  await writeFile(join(root, 'data', 'text'), 'nexus backup bench line\n'.repeat((64 * MiB) / 24));
  const disk = join(dir, 'disk.img');
  await writeFile(disk, '');
  await execa('truncate', ['-s', String(SIZE), disk]);
  // The root partition ends 1 MiB before the end (the backup GPT lives there); the filesystem fills it exactly.
  const rootSectors = SIZE / 512 - 71680 - 2048;
  await execa('sfdisk', ['-q', disk], { input: `label: gpt\nstart=2048, size=69632, type=U\nstart=71680, size=${rootSectors}, type=L\n` });
  await execa('mkfs.vfat', ['-F', '32', '--offset=2048', disk, String(69632 / 2)]);
  await execa('mke2fs', ['-q', '-t', 'ext4', '-d', root, '-E', `offset=${71680 * 512}`, disk, `${rootSectors / 2}k`]);
  await execa('dd', [`if=${disk}`, `of=${card.device}`, 'bs=4M', 'oflag=direct', 'conv=fsync', 'status=none']);
  await rm(disk);

  const flush = () => execa('blockdev', ['--flushbufs', card.device]);
  const time = async (fn: () => Promise<unknown>) => {
    const ms: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      await flush();
      const t = performance.now();
      await fn();
      ms.push(performance.now() - t);
    }
    return median(ms);
  };
  const ddImg = join(dir, 'dd.img');
  const ddZst = join(dir, 'dd.img.zst');
  const ours = join(dir, 'ours.img.zst');
  const dd = await time(() => execa('dd', [`if=${card.device}`, `of=${ddImg}`, 'bs=4M', 'iflag=direct', 'status=none']));
  const ddSize = (await stat(ddImg)).size;
  await rm(ddImg);
  const ddz = await time(() => execa('sh', ['-c', 'dd if="$1" bs=4M iflag=direct status=none | zstd -q -3 -T0 -f -o "$2"', 'sh', card.device, ddZst]));
  const ddzSize = (await stat(ddZst)).size;
  await rm(ddZst);
  let mapped = 0;
  const list = () => listDrives({ extraDevices: [card.device], drivelist: async () => [] });
  const ourMs = await time(async () => {
    const r = await backupDrive(card.device, ours, { listDrives: list, force: true });
    mapped = r.mappedBytes;
  });
  const ourSize = (await stat(ours)).size;

  console.log(`card: ${SIZE / MiB} MiB loop (page-cache backed), ext4 root with 192 MiB of files; median of ${RUNS}`);
  console.log(`  dd (every block, raw)          ${(dd / 1000).toFixed(2)} s  ${rate(SIZE, dd)}  file ${(ddSize / MiB).toFixed(0)} MiB`);
  console.log(`  dd | zstd -3 (every block)     ${(ddz / 1000).toFixed(2)} s  ${rate(SIZE, ddz)}  file ${(ddzSize / MiB).toFixed(0)} MiB`);
  console.log(
    `  nexus backup (used blocks)     ${(ourMs / 1000).toFixed(2)} s  read ${(mapped / MiB).toFixed(0)} MiB  file ${(ourSize / MiB).toFixed(0)} MiB, verified`,
  );
  const vsZ = ddz / ourMs;
  console.log(`  ours vs dd|zstd: ${vsZ.toFixed(2)}× (target ≥ 1.0×: ${vsZ >= 1 ? 'met' : 'MISSED'}); vs raw dd: ${(dd / ourMs).toFixed(2)}×`);
} finally {
  await loops.detachAll();
}
