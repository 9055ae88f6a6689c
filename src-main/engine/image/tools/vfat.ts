/** FAT boot partitions (ESP, Pi boot, extlinux), made with mkfs.vfat and filled with mtools: no mount needed. */
import { utimes, writeFile, mkdir } from 'node:fs/promises';
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
  await runTool('mkfs.vfat', ['-C', '-F', o.fat === 'fat32' ? '32' : '16', '-n', o.label.toUpperCase().slice(0, 11), '-i', o.volumeId, '--invariant', out, String(Math.floor(o.sizeBytes / 1024))],
    'making the FAT boot partition', { signal: o.signal });
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
  if (sortedDirs.length) await runTool('mmd', ['-i', out, ...sortedDirs.map((d) => `::/${d}`)], 'creating directories on the FAT partition', { signal: o.signal, env });
  for (const f of [...files].sort((a, b) => a.dest.localeCompare(b.dest))) {
    await runTool('mcopy', ['-m', '-o', '-i', out, join(stage, f.dest), `::/${f.dest}`], 'copying boot files to the FAT partition', { signal: o.signal, env });
  }
  await normalizeFatTimestamps(out, o.epoch);
}
