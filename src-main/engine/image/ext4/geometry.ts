/**
 * Where everything goes in the ext4 filesystem we write: 4 KiB blocks, 32768-block groups, 256-byte inodes,
 * 64-byte group descriptors (64bit), flex groups of 16, sparse superblock backups, reserved GDT blocks for
 * growth (resize_inode) and an internal journal sized as mke2fs sizes it. Kept close to what
 * `mke2fs -t ext4` makes, so resize2fs and the kernel treat it like any other ext4 root.
 */
import { NexusError } from '../../../../src-shared/errors';

export const BLOCK = 4096;
export const BLOCKS_PER_GROUP = 8 * BLOCK;
export const INODE_SIZE = 256;
export const DESC_SIZE = 64;
export const FLEX_GROUPS = 16;
export const FIRST_INO = 11;
/** One inode per 16 KiB, as mke2fs's default inode_ratio. */
const INODE_RATIO = 16384;
/** Block numbers a 4 KiB block can address: the resize inode's indirect fan-out. */
export const ADDR_PER_BLOCK = BLOCK / 4;
const MIN_BLOCKS = 2048;

export interface Geometry {
  blocks: number;
  groups: number;
  inodesPerGroup: number;
  itableBlocks: number;
  gdtBlocks: number;
  reservedGdt: number;
  journalBlocks: number;
}

/** Groups 0, 1 and powers of 3, 5 and 7 keep a superblock and GDT copy (sparse_super). */
export function hasSuperBackup(g: number): boolean {
  if (g <= 1) return true;
  for (const base of [3, 5, 7]) {
    let n = base;
    while (n < g) n *= base;
    if (n === g) return true;
  }
  return false;
}

/** mke2fs's default journal size (ext2fs_default_journal_size) for a filesystem of `blocks` 4 KiB blocks. */
function journalBlocksFor(blocks: number): number {
  const steps: Array<[number, number]> = [
    [32768, 1024],
    [256 * 1024, 4096],
    [512 * 1024, 8192],
    [4096 * 1024, 16384],
    [8192 * 1024, 32768],
    [16384 * 1024, 65536],
    [32768 * 1024, 131072],
  ];
  for (const [below, size] of steps) if (blocks < below) return size;
  return 262144;
}

/** Blocks at the start of group `g` taken by the superblock copy, GDT and reserved GDT blocks. */
export function superOverhead(geo: Pick<Geometry, 'gdtBlocks' | 'reservedGdt'>, g: number): number {
  return hasSuperBackup(g) ? 1 + geo.gdtBlocks + geo.reservedGdt : 0;
}

export function planGeometry(sizeBytes: number, inodesNeeded: number): Geometry {
  let blocks = Math.floor(sizeBytes / BLOCK);
  if (!Number.isSafeInteger(blocks) || blocks < MIN_BLOCKS || blocks > 0xffffffff) {
    throw new NexusError(
      'EXT4_SIZE_INVALID',
      `Cannot make an ext4 filesystem of ${sizeBytes} bytes: it must be between ${(MIN_BLOCKS * BLOCK) / 1048576} MiB and 16 TiB.`,
      'Choose another size for the root partition.',
    );
  }
  for (;;) {
    const groups = Math.ceil(blocks / BLOCKS_PER_GROUP);
    const gdtBlocks = Math.ceil((groups * DESC_SIZE) / BLOCK);
    // Room for the GDT to describe 1024× the size (capped at 2^32 blocks), as mke2fs reserves it.
    const maxBlocks = Math.min(0xffffffff, blocks * 1024);
    const reservedGdt = Math.min(ADDR_PER_BLOCK, Math.ceil(Math.ceil(maxBlocks / BLOCKS_PER_GROUP) / (BLOCK / DESC_SIZE)) - gdtBlocks);
    // A last group too small for its own superblock copy and some data is dropped, as mke2fs drops it.
    const last = blocks - (groups - 1) * BLOCKS_PER_GROUP;
    if (groups > 1 && last < superOverhead({ gdtBlocks, reservedGdt }, groups - 1) + 256) {
      blocks = (groups - 1) * BLOCKS_PER_GROUP;
      continue;
    }
    const ratioInodes = Math.ceil((blocks * BLOCK) / INODE_RATIO / groups);
    // Enough inodes for the tree plus a quarter more (the root grows with resize2fs, which adds inodes too).
    const wanted = Math.ceil((inodesNeeded * 1.25) / groups);
    const inodesPerGroup = Math.ceil(Math.max(ratioInodes, wanted, 16) / 16) * 16;
    if (inodesPerGroup > BLOCKS_PER_GROUP) {
      throw new NexusError(
        'EXT4_TOO_SMALL',
        `The root filesystem has ${inodesNeeded} files, more than an ext4 filesystem of ${Math.floor(sizeBytes / 1048576)} MiB can hold (${groups * BLOCKS_PER_GROUP} inodes).`,
        'Make the root partition larger or install fewer packages.',
      );
    }
    return {
      blocks,
      groups,
      inodesPerGroup,
      itableBlocks: (inodesPerGroup * INODE_SIZE) / BLOCK,
      gdtBlocks,
      reservedGdt,
      journalBlocks: journalBlocksFor(blocks),
    };
  }
}
