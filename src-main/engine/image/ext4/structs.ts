/**
 * Encoders for ext4's on-disk structures ("Ext4 Disk Layout"; little-endian except the jbd2 journal superblock).
 * Each takes plain numbers and returns the bytes with their metadata_csum checksum filled in.
 */
import { MAX_EXTENT, type Run } from './block-map';
import type { Ext4Checksum } from './checksum';
import { BLOCK, BLOCKS_PER_GROUP, DESC_SIZE, FIRST_INO, FLEX_GROUPS, INODE_SIZE, type Geometry } from './geometry';

export const S_IFDIR = 0o040000;
export const S_IFREG = 0o100000;
export const S_IFLNK = 0o120000;
export const EXTENTS_FL = 0x80000;
const EXTENT_MAGIC = 0xf30a;
/** Entries an extent block holds after its 12-byte header, leaving 4 bytes for the checksum tail. */
export const EXTENTS_PER_BLOCK = (BLOCK - 12 - 4) / 12;
/** A directory block's last 12 bytes: the checksum tail (a fake entry). */
const DIR_TAIL = 12;

// Feature flags: what `mke2fs -t ext4` (1.47) sets, minus nothing.
const COMPAT = 0x4 /* has_journal */ | 0x8 /* ext_attr */ | 0x10 /* resize_inode */ | 0x20; /* dir_index */
const INCOMPAT = 0x2 /* filetype */ | 0x40 /* extents */ | 0x80 /* 64bit */ | 0x200; /* flex_bg */
const RO_COMPAT =
  0x1 /* sparse_super */ | 0x2 /* large_file */ | 0x8 /* huge_file */ | 0x20 /* dir_nlink */ | 0x40 /* extra_isize */ | 0x400; /* metadata_csum */

export interface SuperInfo {
  geo: Geometry;
  uuid: Buffer;
  hashSeed: Buffer;
  label: Buffer;
  epoch: number;
  inodesCount: number;
  freeBlocks: number;
  freeInodes: number;
  /** The journal inode's i_block and size, backed up in the superblock. */
  journalBackup: Buffer;
}

export function superblock(s: SuperInfo, group: number, csum: Ext4Checksum): Buffer {
  const b = Buffer.alloc(1024);
  const { geo } = s;
  b.writeUInt32LE(s.inodesCount, 0x0);
  b.writeUInt32LE(geo.blocks >>> 0, 0x4);
  const reserved = Math.floor(geo.blocks * 0.05);
  b.writeUInt32LE(reserved >>> 0, 0x8);
  b.writeUInt32LE(s.freeBlocks % 2 ** 32, 0xc);
  b.writeUInt32LE(s.freeInodes, 0x10);
  b.writeUInt32LE(0, 0x14); // first data block (4 KiB blocks)
  b.writeUInt32LE(2, 0x18); // log2(block size) - 10
  b.writeUInt32LE(2, 0x1c); // cluster size = block size
  b.writeUInt32LE(BLOCKS_PER_GROUP, 0x20);
  b.writeUInt32LE(BLOCKS_PER_GROUP, 0x24);
  b.writeUInt32LE(geo.inodesPerGroup, 0x28);
  b.writeUInt32LE(s.epoch, 0x30); // last write
  b.writeUInt16LE(0xffff, 0x36); // no mount-count check
  b.writeUInt16LE(0xef53, 0x38);
  b.writeUInt16LE(1, 0x3a); // clean
  b.writeUInt16LE(1, 0x3c); // errors: continue
  b.writeUInt32LE(s.epoch, 0x40); // last check
  b.writeUInt32LE(1, 0x4c); // dynamic revision
  b.writeUInt32LE(FIRST_INO, 0x54);
  b.writeUInt16LE(INODE_SIZE, 0x58);
  b.writeUInt16LE(group, 0x5a);
  b.writeUInt32LE(COMPAT, 0x5c);
  b.writeUInt32LE(INCOMPAT, 0x60);
  b.writeUInt32LE(RO_COMPAT, 0x64);
  s.uuid.copy(b, 0x68);
  s.label.copy(b, 0x78);
  b.writeUInt16LE(geo.reservedGdt, 0xce);
  b.writeUInt32LE(8, 0xe0); // journal inode
  s.hashSeed.copy(b, 0xec);
  b.writeUInt8(1, 0xfc); // half_md4 directory hash
  b.writeUInt8(1, 0xfd); // s_jnl_blocks holds the journal inode's blocks
  b.writeUInt16LE(DESC_SIZE, 0xfe);
  b.writeUInt32LE(0x4 | 0x8, 0x100); // default mount options: user_xattr, acl
  b.writeUInt32LE(s.epoch, 0x108); // mkfs time
  s.journalBackup.copy(b, 0x10c);
  b.writeUInt32LE(Math.floor(geo.blocks / 2 ** 32), 0x150);
  b.writeUInt32LE(Math.floor(reserved / 2 ** 32), 0x154);
  b.writeUInt32LE(Math.floor(s.freeBlocks / 2 ** 32), 0x158);
  b.writeUInt16LE(32, 0x15c); // min extra isize
  b.writeUInt16LE(32, 0x15e); // wanted extra isize
  b.writeUInt32LE(0x1, 0x160); // signed directory hash, as mke2fs on x86
  b.writeUInt8(Math.log2(FLEX_GROUPS), 0x174);
  b.writeUInt8(1, 0x175); // crc32c
  b.writeUInt32LE(csum.plain(b.subarray(0, 0x3fc)), 0x3fc);
  return b;
}

export interface GroupInfo {
  blockBitmap: number;
  inodeBitmap: number;
  inodeTable: number;
  freeBlocks: number;
  freeInodes: number;
  usedDirs: number;
  itableUnused: number;
  blockBitmapCsum: number;
  inodeBitmapCsum: number;
}

export function groupDescriptor(g: number, d: GroupInfo, csum: Ext4Checksum): Buffer {
  const b = Buffer.alloc(DESC_SIZE);
  const lohi = (v: number, lo: number, hi: number, wide: 16 | 32) => {
    const split = wide === 32 ? 2 ** 32 : 2 ** 16;
    if (wide === 32) {
      b.writeUInt32LE(v % split, lo);
      b.writeUInt32LE(Math.floor(v / split), hi);
    } else {
      b.writeUInt16LE(v % split, lo);
      b.writeUInt16LE(Math.floor(v / split), hi);
    }
  };
  lohi(d.blockBitmap, 0x0, 0x20, 32);
  lohi(d.inodeBitmap, 0x4, 0x24, 32);
  lohi(d.inodeTable, 0x8, 0x28, 32);
  lohi(d.freeBlocks, 0xc, 0x2c, 16);
  lohi(d.freeInodes, 0xe, 0x2e, 16);
  lohi(d.usedDirs, 0x10, 0x30, 16);
  b.writeUInt16LE(0x4, 0x12); // ITABLE_ZEROED (the image starts as zeros); bitmaps are all written
  lohi(d.blockBitmapCsum >>> 0, 0x18, 0x38, 16);
  lohi(d.inodeBitmapCsum >>> 0, 0x1a, 0x3a, 16);
  lohi(d.itableUnused, 0x1c, 0x32, 16);
  const g32 = Buffer.alloc(4);
  g32.writeUInt32LE(g);
  b.writeUInt16LE(csum.seeded(g32, b) & 0xffff, 0x1e);
  return b;
}

export interface InodeInfo {
  ino: number;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  time: number;
  links: number;
  /** 512-byte sectors. */
  sectors: number;
  flags: number;
  iblock: Buffer;
  /** The in-inode extended attribute area (ibodyXattrs). */
  xattrs?: Buffer;
}

/** Where in-inode extended attributes start: after the 128-byte base inode and the 32 extra bytes. */
const IBODY_XATTRS = 0xa0;
const XATTR_MAGIC = 0xea020000;
/**
 * Name prefixes ext4 stores as an index (fs/ext4/xattr.h), in the order they get the inode's room: capabilities
 * and security labels first. POSIX ACLs are left out (ext4 keeps them in its own format, not the xattr one).
 */
const XATTR_PREFIXES: Array<[string, number]> = [
  ['security.', 6],
  ['system.', 7],
  ['trusted.', 4],
  ['user.', 1],
];

/**
 * Extended attributes in the inode's spare 96 bytes (no attribute block), entries in prefix order then by name,
 * values packed from the end (the kernel searches in-inode entries linearly: no sort order needed). Returns the
 * names that could not be stored (no ext4 prefix, a POSIX ACL, or no room).
 */
export function ibodyXattrs(xattrs: Record<string, Uint8Array>): { area: Buffer; dropped: string[] } {
  const area = Buffer.alloc(INODE_SIZE - IBODY_XATTRS);
  const dropped: string[] = [];
  const items = Object.entries(xattrs)
    .map(([name, value]) => {
      const p = name.startsWith('system.posix_acl') ? undefined : XATTR_PREFIXES.find(([prefix]) => name.startsWith(prefix) && name.length > prefix.length);
      if (!p) dropped.push(name);
      return p
        ? { name, index: p[1], rank: XATTR_PREFIXES.indexOf(p), suffix: Buffer.from(name.slice(p[0].length), 'utf8'), value: Buffer.from(value) }
        : undefined;
    })
    .filter((x) => !!x)
    .sort((a, b) => a.rank - b.rank || Buffer.compare(a.suffix, b.suffix));
  let entryOff = 4; // after the magic
  let valueEnd = area.length;
  for (const it of items) {
    const entryLen = 16 + Math.ceil(it.suffix.length / 4) * 4;
    const valueLen = Math.ceil(it.value.length / 4) * 4;
    // Room for this entry, the 4-byte end marker and the value.
    if (it.suffix.length > 255 || entryOff + entryLen + 4 > valueEnd - valueLen) {
      dropped.push(it.name);
      continue;
    }
    valueEnd -= valueLen;
    area.writeUInt8(it.suffix.length, entryOff);
    area.writeUInt8(it.index, entryOff + 1);
    area.writeUInt16LE(it.value.length ? valueEnd - 4 : 0, entryOff + 2); // value offset from the first entry
    area.writeUInt32LE(it.value.length, entryOff + 8);
    it.suffix.copy(area, entryOff + 16);
    it.value.copy(area, valueEnd);
    entryOff += entryLen;
  }
  if (entryOff > 4) area.writeUInt32LE(XATTR_MAGIC, 0);
  return { area, dropped };
}

export function inode(i: InodeInfo, csum: Ext4Checksum): Buffer {
  const b = Buffer.alloc(INODE_SIZE);
  if (i.xattrs) i.xattrs.copy(b, IBODY_XATTRS);
  b.writeUInt16LE(i.mode, 0x0);
  b.writeUInt16LE(i.uid & 0xffff, 0x2);
  b.writeUInt32LE(i.size % 2 ** 32, 0x4);
  for (const off of [0x8, 0xc, 0x10]) b.writeUInt32LE(i.time >>> 0, off); // atime, ctime, mtime
  b.writeUInt16LE(i.gid & 0xffff, 0x18);
  b.writeUInt16LE(i.links, 0x1a);
  b.writeUInt32LE(i.sectors % 2 ** 32, 0x1c);
  b.writeUInt32LE(i.flags, 0x20);
  i.iblock.copy(b, 0x28);
  b.writeUInt32LE(Math.floor(i.size / 2 ** 32), 0x6c);
  b.writeUInt16LE(Math.floor(i.sectors / 2 ** 32), 0x74);
  b.writeUInt16LE(i.uid >>> 16, 0x78);
  b.writeUInt16LE(i.gid >>> 16, 0x7a);
  b.writeUInt16LE(32, 0x80); // extra isize
  b.writeUInt32LE(i.time >>> 0, 0x90); // crtime
  const c = csum.ofInode(i.ino, [b]);
  b.writeUInt16LE(c & 0xffff, 0x7c);
  b.writeUInt16LE(c >>> 16, 0x82);
  return b;
}

function extentHeader(b: Buffer, off: number, entries: number, max: number, depth: number): void {
  b.writeUInt16LE(EXTENT_MAGIC, off);
  b.writeUInt16LE(entries, off + 2);
  b.writeUInt16LE(max, off + 4);
  b.writeUInt16LE(depth, off + 6);
}

function extentEntry(b: Buffer, off: number, logical: number, run: Run): void {
  b.writeUInt32LE(logical, off);
  b.writeUInt16LE(run.len, off + 4);
  b.writeUInt16LE(Math.floor(run.start / 2 ** 32), off + 6);
  b.writeUInt32LE(run.start % 2 ** 32, off + 8);
}

/** How many extent leaf blocks a file of these runs needs (0: the four slots in the inode are enough). */
export function leafBlocksFor(runs: number): number {
  return runs <= 4 ? 0 : Math.ceil(runs / EXTENTS_PER_BLOCK);
}

/** The inode's i_block (an extent tree of depth 0 or 1) and the leaf blocks it points to. */
export function extentTree(ino: number, runs: Run[], leaves: number[], csum: Ext4Checksum): { iblock: Buffer; leafData: Buffer[] } {
  for (const r of runs) if (r.len > MAX_EXTENT) throw new Error(`extent of ${r.len} blocks`);
  const iblock = Buffer.alloc(60);
  const logical: number[] = [];
  let l = 0;
  for (const r of runs) {
    logical.push(l);
    l += r.len;
  }
  if (!leaves.length) {
    extentHeader(iblock, 0, runs.length, 4, 0);
    runs.forEach((r, k) => extentEntry(iblock, 12 + 12 * k, logical[k]!, r));
    return { iblock, leafData: [] };
  }
  if (leaves.length > 4) throw new Error(`a file of ${runs.length} extents`); // callers keep files under 4×340 extents
  extentHeader(iblock, 0, leaves.length, 4, 1);
  const leafData = leaves.map((leaf, k) => {
    const part = runs.slice(k * EXTENTS_PER_BLOCK, (k + 1) * EXTENTS_PER_BLOCK);
    const first = logical[k * EXTENTS_PER_BLOCK]!;
    const off = 12 + 12 * k;
    iblock.writeUInt32LE(first, off);
    iblock.writeUInt32LE(leaf % 2 ** 32, off + 4);
    iblock.writeUInt16LE(Math.floor(leaf / 2 ** 32), off + 8);
    const b = Buffer.alloc(BLOCK);
    extentHeader(b, 0, part.length, EXTENTS_PER_BLOCK, 0);
    part.forEach((r, j) => extentEntry(b, 12 + 12 * j, logical[k * EXTENTS_PER_BLOCK + j]!, r));
    const tail = 12 + 12 * EXTENTS_PER_BLOCK;
    b.writeUInt32LE(csum.ofInode(ino, [b.subarray(0, tail)]), tail);
    return b;
  });
  return { iblock, leafData };
}

export interface DirEntry {
  ino: number;
  name: Buffer;
  /** 1 regular file, 2 directory, 7 symlink. */
  type: number;
}

/** A directory's blocks (linear, no htree), each ending in the checksum tail; `minBlocks` pads with empty blocks. */
export function directoryBlocks(ino: number, entries: DirEntry[], minBlocks: number, csum: Ext4Checksum): Buffer[] {
  const end = BLOCK - DIR_TAIL;
  const blocks: Buffer[] = [];
  let b = Buffer.alloc(BLOCK);
  let off = 0;
  let lastOff = -1;
  const close = () => {
    if (lastOff < 0) {
      b.writeUInt16LE(end, 4); // an empty block: one unused entry spanning it
    } else {
      b.writeUInt16LE(end - lastOff, lastOff + 4);
    }
    b.writeUInt16LE(DIR_TAIL, end + 4);
    b.writeUInt8(0xde, end + 7);
    b.writeUInt32LE(csum.ofInode(ino, [b.subarray(0, end)]), end + 8);
    blocks.push(b);
  };
  for (const e of entries) {
    const len = 8 + Math.ceil(e.name.length / 4) * 4;
    if (off + len > end) {
      close();
      b = Buffer.alloc(BLOCK);
      off = 0;
      lastOff = -1;
    }
    b.writeUInt32LE(e.ino, off);
    b.writeUInt16LE(len, off + 4);
    b.writeUInt8(e.name.length, off + 6);
    b.writeUInt8(e.type, off + 7);
    e.name.copy(b, off + 8);
    lastOff = off;
    off += len;
  }
  close();
  while (blocks.length < minBlocks) {
    b = Buffer.alloc(BLOCK);
    lastOff = -1;
    close();
  }
  return blocks;
}

/** The jbd2 superblock (v2, big-endian) of an empty, clean internal journal. */
export function journalSuperblock(blocks: number, uuid: Buffer): Buffer {
  const b = Buffer.alloc(BLOCK);
  b.writeUInt32BE(0xc03b3998, 0x0);
  b.writeUInt32BE(4, 0x4); // superblock v2
  b.writeUInt32BE(BLOCK, 0xc);
  b.writeUInt32BE(blocks, 0x10);
  b.writeUInt32BE(1, 0x14); // first log block
  b.writeUInt32BE(1, 0x18); // sequence
  uuid.copy(b, 0x30);
  b.writeUInt32BE(1, 0x40); // one user: this filesystem
  return b;
}
