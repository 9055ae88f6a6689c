/**
 * EROFS on-disk structures (Linux fs/erofs/erofs_fs.h, Documentation/filesystems/erofs.rst), little-endian. Only
 * what a read-only root needs, in the forms every kernel since 5.4 reads: 4 KiB blocks, compact (32-byte) and
 * extended (64-byte) inodes, flat data with the tail packed after the inode, LZ4 with the legacy full index
 * (8 bytes per 4 KiB logical cluster, one 4 KiB physical cluster per extent), inline xattrs.
 */

export const BLOCK = 4096;
export const BLOCK_BITS = 12;
export const SUPER_OFFSET = 1024;
const SUPER_MAGIC = 0xe0f5e1e2;
/** Inodes sit on 32-byte slots; a nid is the slot number from the metadata area's start (block 0 here). */
export const SLOT = 32;

export const COMPAT_SB_CHKSUM = 0x1;
/** Compressed data sits at the end of its physical cluster, after zeros (the kernel finds the start). */
export const INCOMPAT_LZ4_0PADDING = 0x1;

export const Layout = { FlatPlain: 0, CompressedFull: 1, FlatInline: 2 } as const;
export type Layout = (typeof Layout)[keyof typeof Layout];

/** Directory entry file types. */
export const FileType = { Regular: 1, Directory: 2, Symlink: 7 } as const;
export type FileType = (typeof FileType)[keyof typeof FileType];

export const S_IFREG = 0o100000;
export const S_IFDIR = 0o040000;
export const S_IFLNK = 0o120000;

/** Inodes with no data blocks point nowhere (EROFS_NULL_ADDR, as mkfs.erofs writes it). */
export const NULL_ADDR = 0xffffffff;

export interface SuperblockFields {
  featureCompat: number;
  featureIncompat: number;
  rootNid: number;
  inodes: number;
  /** Seconds: the timestamp of every compact inode. */
  buildTime: number;
  blocks: number;
  uuid: Uint8Array;
  volumeName: string;
}

/** The 128-byte superblock, written at SUPER_OFFSET; its checksum is filled in by `sealSuperblock`. */
export function encodeSuperblock(f: SuperblockFields): Buffer {
  const b = Buffer.alloc(128);
  b.writeUInt32LE(SUPER_MAGIC, 0);
  b.writeUInt32LE(f.featureCompat, 8);
  b.writeUInt8(BLOCK_BITS, 12);
  b.writeUInt16LE(f.rootNid, 14);
  b.writeBigUInt64LE(BigInt(f.inodes), 16);
  b.writeBigUInt64LE(BigInt(f.buildTime), 24);
  b.writeUInt32LE(f.blocks, 36);
  // meta_blkaddr (40) and xattr_blkaddr (44) stay 0: the metadata area starts at block 0, no shared xattrs.
  Buffer.from(f.uuid).copy(b, 48);
  b.write(f.volumeName, 64, 16, 'utf8');
  b.writeUInt32LE(f.featureIncompat, 80);
  // u1 (84): lz4_max_distance 0 = LZ4's 64 KiB window. dirblkbits (90): 0 = directory blocks are filesystem blocks.
  return b;
}

/**
 * The superblock checksum: CRC32C, seed ~0, without the final inversion (the kernel's crc32c(~0, …)), over the
 * rest of block 0 from the superblock on, with the checksum field zero. `crc32c` is the standard (inverted) CRC.
 */
export function sealSuperblock(block0: Buffer, crc32c: (data: Uint8Array) => number): void {
  block0.writeUInt32LE(0, SUPER_OFFSET + 4);
  block0.writeUInt32LE(~crc32c(block0.subarray(SUPER_OFFSET, BLOCK)) >>> 0, SUPER_OFFSET + 4);
}

export interface InodeFields {
  extended: boolean;
  layout: Layout;
  /** i_xattr_icount (0 without inline xattrs). */
  xattrCount: number;
  /** File type bits | permission bits. */
  mode: number;
  nlink: number;
  size: number;
  /** startblk (flat), compressed block count (compressed). */
  u: number;
  ino: number;
  uid: number;
  gid: number;
  mtime: number;
}

export const COMPACT_INODE = 32;
export const EXTENDED_INODE = 64;

/** A compact inode holds 16-bit owners and link counts, a 32-bit size and no timestamp (the build time). */
export function fitsCompact(uid: number, gid: number, nlink: number, size: number, mtime: number, buildTime: number): boolean {
  return uid <= 0xffff && gid <= 0xffff && nlink <= 0xffff && size <= 0xffffffff && mtime === buildTime;
}

export function encodeInode(f: InodeFields): Buffer {
  const format = (f.extended ? 1 : 0) | (f.layout << 1);
  if (!f.extended) {
    const b = Buffer.alloc(COMPACT_INODE);
    b.writeUInt16LE(format, 0);
    b.writeUInt16LE(f.xattrCount, 2);
    b.writeUInt16LE(f.mode, 4);
    b.writeUInt16LE(f.nlink, 6);
    b.writeUInt32LE(f.size, 8);
    // 12: i_mtime relative to the superblock's build time (newer kernels) — 0, as older kernels expect.
    b.writeUInt32LE(f.u, 16);
    b.writeUInt32LE(f.ino, 20);
    b.writeUInt16LE(f.uid, 24);
    b.writeUInt16LE(f.gid, 26);
    return b;
  }
  const b = Buffer.alloc(EXTENDED_INODE);
  b.writeUInt16LE(format, 0);
  b.writeUInt16LE(f.xattrCount, 2);
  b.writeUInt16LE(f.mode, 4);
  b.writeBigUInt64LE(BigInt(f.size), 8);
  b.writeUInt32LE(f.u, 16);
  b.writeUInt32LE(f.ino, 20);
  b.writeUInt32LE(f.uid, 24);
  b.writeUInt32LE(f.gid, 28);
  b.writeBigUInt64LE(BigInt(f.mtime), 32);
  b.writeUInt32LE(f.nlink, 44);
  return b;
}

/** xattr name prefixes EROFS stores as an index byte (erofs_fs.h EROFS_XATTR_INDEX_*), longest first. */
const XATTR_PREFIXES: Array<[string, number]> = [
  ['system.posix_acl_default', 3],
  ['system.posix_acl_access', 2],
  ['security.', 6],
  ['trusted.', 4],
  ['user.', 1],
];

/** Splits an xattr name into EROFS's index and suffix, or undefined for a namespace EROFS cannot store. */
export function xattrIndex(name: string): { index: number; suffix: Buffer } | undefined {
  for (const [prefix, index] of XATTR_PREFIXES) if (name.startsWith(prefix)) return { index, suffix: Buffer.from(name.slice(prefix.length), 'utf8') };
  return undefined;
}

/** Inline xattr body (12-byte header, then 4-byte aligned entries) and its i_xattr_icount; empty for none. */
export function encodeXattrs(xattrs: Array<{ index: number; suffix: Buffer; value: Uint8Array }>): { body: Buffer; count: number } {
  if (!xattrs.length) return { body: Buffer.alloc(0), count: 0 };
  const parts: Buffer[] = [Buffer.alloc(12)]; // h_name_filter 0 (no filter), no shared xattrs
  for (const x of xattrs) {
    const e = Buffer.alloc(Math.ceil((4 + x.suffix.length + x.value.length) / 4) * 4);
    e.writeUInt8(x.suffix.length, 0);
    e.writeUInt8(x.index, 1);
    e.writeUInt16LE(x.value.length, 2);
    x.suffix.copy(e, 4);
    Buffer.from(x.value).copy(e, 4 + x.suffix.length);
    parts.push(e);
  }
  const body = Buffer.concat(parts);
  return { body, count: (body.length - 12) / 4 + 1 };
}

export interface Dirent {
  name: Buffer;
  nid: number;
  type: FileType;
}

const DIRENT = 12;

/**
 * Splits sorted directory entries into directory blocks: each block holds its 12-byte dirents, then the names
 * (no terminator; a name ends where the next begins, the last at the first zero or the block's end). Returns the
 * blocks' entry lists and the directory's size (full blocks, then the used part of the last).
 */
export function planDirBlocks(entries: Array<{ name: Buffer }>): { blocks: number[][]; size: number } {
  const blocks: number[][] = [];
  let cur: number[] = [];
  let used = 0;
  entries.forEach((e, i) => {
    const need = DIRENT + e.name.length;
    if (used + need > BLOCK) {
      blocks.push(cur);
      cur = [];
      used = 0;
    }
    cur.push(i);
    used += need;
  });
  blocks.push(cur);
  return { blocks, size: (blocks.length - 1) * BLOCK + used };
}

/** One directory block's bytes (`length` = BLOCK, or the used part for the last block). */
export function encodeDirBlock(entries: Dirent[], length: number): Buffer {
  const b = Buffer.alloc(length);
  let nameOff = entries.length * DIRENT;
  entries.forEach((e, i) => {
    b.writeBigUInt64LE(BigInt(e.nid), i * DIRENT);
    b.writeUInt16LE(nameOff, i * DIRENT + 8);
    b.writeUInt8(e.type, i * DIRENT + 10);
    e.name.copy(b, nameOff);
    nameOff += e.name.length;
  });
  return b;
}

/** Legacy (full) compressed index: the map header, 8 reserved bytes, then one 8-byte entry per logical cluster. */
export const ClusterType = { Plain: 0, Head: 1, NonHead: 2 } as const;
export type ClusterType = (typeof ClusterType)[keyof typeof ClusterType];

export function encodeMapHeader(): Buffer {
  // h_reserved1/h_idata_size 0, h_advise 0 (no big pclusters, no tail packing), LZ4 (0), 4 KiB clusters (0).
  return Buffer.alloc(16);
}

export function encodeClusterIndex(type: ClusterType, clusterOfs: number, blkaddrOrDelta: number | [number, number]): Buffer {
  const b = Buffer.alloc(8);
  b.writeUInt16LE(type, 0);
  b.writeUInt16LE(clusterOfs, 2);
  if (Array.isArray(blkaddrOrDelta)) {
    b.writeUInt16LE(blkaddrOrDelta[0], 4);
    b.writeUInt16LE(blkaddrOrDelta[1], 6);
  } else b.writeUInt32LE(blkaddrOrDelta, 4);
  return b;
}
