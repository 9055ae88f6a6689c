/**
 * FAT volumes made with mkfs.vfat and filled with mtools: kept only as the cross-check of the in-process writer
 * (../fat/writer.ts), which the build uses; tests compare the two (test/integration/image/fat-writer.test.ts).
 */
import { mkdir, open, utimes, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { normalizeFatTimestamps } from './fat-timestamps';
import { runTool } from './run';

export interface FatFile {
  /** Path on the partition ("EFI/BOOT/BOOTX64.EFI"). */
  dest: string;
  data: Uint8Array;
}

export interface FatOptions {
  sizeBytes: number;
  fat: 'fat16' | 'fat32';
  label: string;
  /** 8 hex digits. */
  volumeId: string;
  epoch: number;
  signal?: AbortSignal;
  /** Scratch directory for staging the files. */
  scratch: string;
}

export async function makeVfat(out: string, files: FatFile[], o: FatOptions): Promise<void> {
  if (!/^[0-9a-f]{8}$/i.test(o.volumeId)) throw new Error(`invalid FAT volume id "${o.volumeId}"`);
  // --invariant fixes the label entry's time, but also sets the volume id to 1234-ABCD: mkfs.fat (4.2) applies
  // options in order, so it must come before -i. setFatVolumeId then makes sure whatever mkfs.fat did.
  await runTool(
    'mkfs.vfat',
    [
      '-C',
      '-F',
      o.fat === 'fat32' ? '32' : '16',
      '-n',
      o.label.toUpperCase().slice(0, 11),
      '--invariant',
      '-i',
      o.volumeId,
      out,
      String(Math.floor(o.sizeBytes / 1024)),
    ],
    'making the FAT boot partition',
    { signal: o.signal },
  );
  await setFatVolumeId(out, o.volumeId);
  if (files.length === 0) return;
  const stage = join(o.scratch, 'fat');
  const dirs = new Set<string>();
  for (const f of files) {
    const p = join(stage, f.dest);
    await mkdir(dirname(p), { recursive: true });
    await writeFile(p, f.data);
    await utimes(p, o.epoch, o.epoch);
    for (let d = dirname(f.dest); d !== '.' && d !== '/'; d = dirname(d)) dirs.add(d);
  }
  // mtools stamps directories it creates with the current time unless SOURCE_DATE_EPOCH is set.
  const env = { SOURCE_DATE_EPOCH: String(o.epoch), MTOOLS_SKIP_CHECK: '1', TZ: 'UTC' };
  const sortedDirs = [...dirs].sort((a, b) => a.split('/').length - b.split('/').length || a.localeCompare(b));
  if (sortedDirs.length)
    await runTool('mmd', ['-i', out, ...sortedDirs.map((d) => `::/${d}`)], 'creating directories on the FAT partition', { signal: o.signal, env });
  for (const f of [...files].sort((a, b) => a.dest.localeCompare(b.dest))) {
    await runTool('mcopy', ['-m', '-o', '-i', out, join(stage, f.dest), `::/${f.dest}`], 'copying boot files to the FAT partition', { signal: o.signal, env });
  }
  await normalizeFatTimestamps(out, o.epoch);
}

/** Where the volume id lives: the extended BPB, after the FAT12/16 or the longer FAT32 BPB. */
export function volumeIdOffset(bs: Buffer): number {
  const fat32 = bs.readUInt16LE(22) === 0; // BPB_FATSz16 is 0 only on FAT32
  const sig = fat32 ? 0x42 : 0x26;
  if (bs[sig] !== 0x29) throw new Error('FAT boot sector without an extended boot signature (no volume id)');
  return sig + 1; // 0x43 (FAT32) or 0x27 (FAT12/16)
}

/**
 * Writes the volume id (8 hex digits, read as mkfs.fat's `-i` reads them) into the boot sector and, on FAT32,
 * into the backup boot sector too (fsck.fat compares the two).
 */
export async function setFatVolumeId(path: string, volumeId: string): Promise<void> {
  const id = Buffer.alloc(4);
  id.writeUInt32LE(parseInt(volumeId, 16) >>> 0);
  const fh = await open(path, 'r+');
  try {
    const bs = Buffer.alloc(512);
    await fh.read(bs, 0, 512, 0);
    const at = volumeIdOffset(bs);
    const sectors = [0];
    if (bs.readUInt16LE(22) === 0) {
      const backup = bs.readUInt16LE(0x32); // BPB_BkBootSec
      if (backup !== 0 && backup !== 0xffff) sectors.push(backup);
    }
    const bps = bs.readUInt16LE(11);
    for (const s of sectors) await fh.write(id, 0, 4, s * bps + at);
  } finally {
    await fh.close();
  }
}
