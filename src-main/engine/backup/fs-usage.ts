/**
 * Which bytes of a partition its filesystem uses, from the filesystem's own free-space map: ext2/3/4 block
 * bitmaps and FAT12/16/32 allocation tables. Anything else (EROFS with a dm-verity tree after it, F2FS, swap,
 * LUKS, unknown) returns null and the partition is read whole: a block is skipped only when its filesystem
 * says it is free.
 */
import type { ReadAt } from './partitions';
import type { RegionMethod } from '../../../src-shared/backup';

export interface Range {
  start: number;
  end: number;
}

export interface FsUsage {
  fs: string;
  method: RegionMethod;
  /** Used byte ranges relative to the partition start, sorted. */
  used: Range[];
  /** Bytes the filesystem spans: whatever follows it in the partition (a dm-verity tree, say) is read whole. */
  fsSize: number;
}

/** Adds [start, end) to sorted, coalesced ranges built in increasing order. */
function push(out: Range[], start: number, end: number): void {
  const last = out.at(-1);
  if (last && start <= last.end) last.end = Math.max(last.end, end);
  else out.push({ start, end });
}

// ------------------------------------------------------------------------------------------------ ext2/3/4

const EXT_MAGIC = 0xef53;
const INCOMPAT_64BIT = 0x80;
const INCOMPAT_META_BG = 0x10;
const RO_COMPAT_SPARSE_SUPER = 0x1;
const BG_BLOCK_UNINIT = 0x2;

/** Groups holding a superblock backup under sparse_super: 0, 1 and powers of 3, 5 and 7. */
function hasSuperBackup(g: number, sparse: boolean): boolean {
  if (!sparse || g <= 1) return true;
  for (const p of [3, 5, 7]) {
    let x = p;
    while (x < g) x *= p;
    if (x === g) return true;
  }
  return false;
}

async function ext4Usage(readAt: ReadAt, sb: Buffer, partSize: number): Promise<FsUsage | null> {
  const blocksLo = sb.readUInt32LE(0x04);
  const firstDataBlock = sb.readUInt32LE(0x14);
  const blockSize = 1024 << sb.readUInt32LE(0x18);
  const blocksPerGroup = sb.readUInt32LE(0x20);
  const inodesPerGroup = sb.readUInt32LE(0x28);
  const incompat = sb.readUInt32LE(0x60);
  const roCompat = sb.readUInt32LE(0x64);
  const inodeSize = sb.readUInt16LE(0x58) || 128;
  const reservedGdt = sb.readUInt16LE(0xce);
  const is64 = (incompat & INCOMPAT_64BIT) !== 0;
  const descSize = is64 ? sb.readUInt16LE(0xfe) || 64 : 32;
  const blocks = blocksLo + (is64 ? sb.readUInt32LE(0x150) * 2 ** 32 : 0);
  // meta_bg moves the group descriptors around: not worth parsing for cards, read it whole.
  if (incompat & INCOMPAT_META_BG) return null;
  if (blockSize > 65536 || blocksPerGroup === 0 || blocks === 0 || blocks * blockSize > partSize) return null;
  const groups = Math.ceil((blocks - firstDataBlock) / blocksPerGroup);
  const gdtBlocks = Math.ceil((groups * descSize) / blockSize);
  const gdt = await readAt((firstDataBlock + 1) * blockSize, groups * descSize);
  const lohi = (d: Buffer, lo: number, hi: number) => d.readUInt32LE(lo) + (is64 ? d.readUInt32LE(hi) * 2 ** 32 : 0);
  const descs = Array.from({ length: groups }, (_, g) => {
    const d = gdt.subarray(g * descSize, (g + 1) * descSize);
    return { blockBitmap: lohi(d, 0x0, 0x20), inodeBitmap: lohi(d, 0x4, 0x24), inodeTable: lohi(d, 0x8, 0x28), flags: d.readUInt16LE(0x12) };
  });
  // Metadata blocks, wherever flex_bg put them: needed for groups whose bitmap is not initialised (BLOCK_UNINIT).
  const meta: Range[] = [];
  const itBlocks = Math.ceil((inodesPerGroup * inodeSize) / blockSize);
  const sparse = (roCompat & RO_COMPAT_SPARSE_SUPER) !== 0;
  for (const [g, d] of descs.entries()) {
    meta.push(
      { start: d.blockBitmap, end: d.blockBitmap + 1 },
      { start: d.inodeBitmap, end: d.inodeBitmap + 1 },
      { start: d.inodeTable, end: d.inodeTable + itBlocks },
    );
    if (hasSuperBackup(g, sparse)) {
      const first = firstDataBlock + g * blocksPerGroup;
      meta.push({ start: first, end: first + 1 + gdtBlocks + reservedGdt });
    }
  }
  meta.sort((a, b) => a.start - b.start);

  const usedBlocks: Range[] = [];
  // Block 0 (and the boot block before the superblock with 1 KiB blocks) is always kept.
  push(usedBlocks, 0, firstDataBlock + 1);
  for (const [g, d] of descs.entries()) {
    const first = firstDataBlock + g * blocksPerGroup;
    const count = Math.min(blocksPerGroup, blocks - first);
    if (d.flags & BG_BLOCK_UNINIT) {
      for (const m of meta) {
        const s = Math.max(m.start, first);
        const e = Math.min(m.end, first + count);
        if (s < e) push(usedBlocks, s, e);
      }
      continue;
    }
    if (d.blockBitmap >= blocks) return null;
    const bitmap = await readAt(d.blockBitmap * blockSize, Math.ceil(count / 8));
    // A short read (the device ends early): usage unknown, so everything is copied.
    if (bitmap.length < Math.ceil(count / 8)) return null;
    let runStart = -1;
    for (let i = 0; i <= count; i++) {
      const used = i < count && (bitmap.readUInt8(i >> 3) >> (i & 7)) & 1;
      if (used && runStart < 0) runStart = i;
      else if (!used && runStart >= 0) {
        push(usedBlocks, first + runStart, first + i);
        runStart = -1;
      }
    }
  }
  return {
    fs: 'ext4',
    method: 'ext4-bitmap',
    used: usedBlocks.map((r) => ({ start: r.start * blockSize, end: r.end * blockSize })),
    fsSize: blocks * blockSize,
  };
}

// ------------------------------------------------------------------------------------------------ FAT

async function fatUsage(readAt: ReadAt, bs: Buffer, partSize: number): Promise<FsUsage | null> {
  const bytesPerSector = bs.readUInt16LE(0x0b);
  const spc = bs.readUInt8(0x0d);
  const reserved = bs.readUInt16LE(0x0e);
  const fats = bs.readUInt8(0x10);
  const rootEntries = bs.readUInt16LE(0x11);
  const total = bs.readUInt16LE(0x13) || bs.readUInt32LE(0x20);
  const fatSize = bs.readUInt16LE(0x16) || bs.readUInt32LE(0x24);
  if (![512, 1024, 2048, 4096].includes(bytesPerSector) || spc === 0 || (spc & (spc - 1)) !== 0 || fats === 0 || fatSize === 0 || total === 0) return null;
  const rootSectors = Math.ceil((rootEntries * 32) / bytesPerSector);
  const dataStart = reserved + fats * fatSize + rootSectors;
  if (total * bytesPerSector > partSize || dataStart >= total) return null;
  const clusters = Math.floor((total - dataStart) / spc);
  const kind = clusters < 4085 ? 12 : clusters < 65525 ? 16 : 32;
  const table = await readAt(reserved * bytesPerSector, fatSize * bytesPerSector);
  const entry = (n: number): number => {
    if (kind === 32) return table.readUInt32LE(n * 4) & 0x0fffffff;
    if (kind === 16) return table.readUInt16LE(n * 2);
    const v = table.readUInt16LE(Math.floor((n * 3) / 2));
    return n & 1 ? v >> 4 : v & 0xfff;
  };
  const clusterBytes = spc * bytesPerSector;
  const base = dataStart * bytesPerSector;
  const used: Range[] = [{ start: 0, end: base }];
  for (let c = 2; c < clusters + 2; c++) if (entry(c) !== 0) push(used, base + (c - 2) * clusterBytes, base + (c - 1) * clusterBytes);
  return { fs: `FAT${kind}`, method: 'fat-table', used, fsSize: total * bytesPerSector };
}

/** The used ranges of the filesystem in [0, size) read through `readAt` (partition-relative), or null. */
export async function filesystemUsage(readAt: ReadAt, size: number): Promise<FsUsage | null> {
  if (size < 4096) return null;
  const head = await readAt(0, 2048);
  const sb = head.subarray(1024, 2048);
  if (sb.readUInt16LE(0x38) === EXT_MAGIC) return ext4Usage(readAt, sb, size);
  const fatSig =
    head.toString('latin1', 0x36, 0x3b) === 'FAT12' || head.toString('latin1', 0x36, 0x3b) === 'FAT16' || head.toString('latin1', 0x52, 0x57) === 'FAT32';
  if (head[510] === 0x55 && head[511] === 0xaa && fatSig) return fatUsage(readAt, head, size);
  return null;
}
