/**
 * How much of a filesystem image must be written to a card for the filesystem to be correct there, whatever
 * the card held before: the block map lists these bytes even where they are zero.
 */
import { open } from 'node:fs/promises';

export type MapPolicy =
  /** Everything (EROFS, verity hash trees, raw firmware, ext4). */
  | { kind: 'all' }
  /** The first `bytes` (metadata and allocated data); the rest only where it is not zero. */
  | { kind: 'prefix'; bytes: number };

async function head(path: string, n: number): Promise<Buffer> {
  const fh = await open(path, 'r');
  try {
    const b = Buffer.alloc(n);
    await fh.read(b, 0, n, 0);
    return b;
  } finally {
    await fh.close();
  }
}

/** FAT: boot sector, FATs, root directory and every cluster up to the last allocated one (mtools fills from the start). */
export async function fatUsedPrefix(path: string): Promise<number> {
  const bs = await head(path, 512);
  const bps = bs.readUInt16LE(11);
  const spc = bs[13]!;
  const reserved = bs.readUInt16LE(14);
  const fats = bs[16]!;
  const rootEntries = bs.readUInt16LE(17);
  const fatSize = bs.readUInt16LE(22) || bs.readUInt32LE(36);
  const fat32 = bs.readUInt16LE(22) === 0;
  const fatBytes = fatSize * bps;
  const fh = await open(path, 'r');
  let lastCluster = 1;
  try {
    const fat = Buffer.alloc(fatBytes);
    await fh.read(fat, 0, fatBytes, reserved * bps);
    const entry = fat32 ? 4 : 2;
    for (let i = fat.length / entry - 1; i >= 2; i--) {
      const v = fat32 ? fat.readUInt32LE(i * entry) & 0x0fffffff : fat.readUInt16LE(i * entry);
      if (v !== 0) {
        lastCluster = i;
        break;
      }
    }
  } finally {
    await fh.close();
  }
  const dataStart = (reserved + fats * fatSize) * bps + Math.ceil((rootEntries * 32) / bps) * bps;
  return dataStart + Math.max(0, lastCluster - 1) * spc * bps;
}

/** F2FS: everything before the main area (superblocks, checkpoint, SIT, NAT, SSA). */
export async function f2fsMetadataPrefix(path: string): Promise<number> {
  const sb = (await head(path, 4096)).subarray(1024);
  if (sb.readUInt32LE(0) !== 0xf2f52010) throw new Error('not an F2FS image');
  const logBlock = sb.readUInt32LE(16);
  return sb.readUInt32LE(92) * 2 ** logBlock;
}
