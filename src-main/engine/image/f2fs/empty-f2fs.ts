/**
 * The empty F2FS state partition, written in-process (no mkfs.f2fs on the build host).
 *
 * Why at build time and not on the device's first boot: both were possible (issue 17). Formatting on the device
 * would put a mkfs.f2fs (and its libraries) into the initramfs, and a shell check "is this partition blank?"
 * between the user's card and a format; a card flashed with the block map keeps whatever an older image left in
 * a partition we did not write, so a stale F2FS would be mounted as this image's state (or, guarded against that,
 * a format would have to trust a blank-check). Written here, the partition's bytes are part of the image: the
 * flash verify and the bmap cover them like any other partition, the same plan gives the same bytes, nothing on
 * the device ever formats anything, and every case is checked on the build host by `fsck.f2fs` in seconds
 * instead of by QEMU boots. An empty F2FS is small: two superblocks, two checkpoint packs, one NAT block, the root
 * inode and its dentry block; the rest is zero.
 *
 * The layout is f2fs-tools 1.15's `mkfs.f2fs -f -l LABEL -U UUID -r -T EPOCH -R 0:0` (mkfs/f2fs_format.c:
 * f2fs_prepare_super_block, f2fs_write_check_point_pack, f2fs_create_root_dir, f2fs_write_super_block) with its
 * defaults: 4 KiB blocks, 2 MiB segments, one segment per section and zone, no optional features, no heap
 * allocation, automatic overprovisioning. On a zero-filled target mkfs finds nothing to discard and marks the
 * checkpoint "trimmed"; ours does the same. `test/integration/image/empty-f2fs.test.ts` proves the bytes identical
 * to that tool's (plus setF2fsVersion) for several sizes and checks them with `fsck.f2fs`.
 */
import { open, truncate, writeFile } from 'node:fs/promises';
import { NexusError } from '../../../../src-shared/errors';
import { F2FS_SB, F2FS_VERSION_STRING, f2fsCrc32 } from '../tools/f2fs';

const BLOCK = 4096;
const BLOCKS_PER_SEG = 512;
const SEG_BYTES = BLOCK * BLOCKS_PER_SEG;
const SIT_ENTRY_PER_BLOCK = 55; // 4096 / sizeof(f2fs_sit_entry) = 4096 / 74
const NAT_ENTRY_PER_BLOCK = 455; // 4096 / sizeof(f2fs_nat_entry) = 4096 / 9
const CP_CHKSUM_OFFSET = 4092;
const CP_BITMAP_OFFSET = 192;
const MAX_BITMAP_SIZE_IN_CKPT = CP_CHKSUM_OFFSET - CP_BITMAP_OFFSET;
const MAX_SIT_BITMAP_SIZE_IN_CKPT = MAX_BITMAP_SIZE_IN_CKPT - 64;
const MAX_SIT_BITMAP_SIZE = Math.ceil(Math.ceil((16 * 1024 * 1024) / 2 / SIT_ENTRY_PER_BLOCK) / BLOCKS_PER_SEG) * (BLOCKS_PER_SEG / 8);
const NR_CURSEG = 6;
const [HOT_DATA, WARM_DATA, COLD_DATA, HOT_NODE, WARM_NODE, COLD_NODE] = [0, 1, 2, 3, 4, 5] as const;
const ROOT_INO = 3;
const NODE_INO = 1;
const META_INO = 2;
const F2FS_MAJOR = 1;
const F2FS_MINOR = 15; // what f2fs-tools 1.15 writes (checked against its output by the test)
/** glibc's first rand() after srand(0) (== srand(1)), which `-r` makes the checkpoint version; | 1 keeps it odd. */
const CHECKPOINT_VERSION = 1804289383n | 1n;
const CP_UMOUNT = 0x1;
const CP_COMPACT_SUM = 0x4;
const CP_NAT_BITS = 0x80;
const CP_TRIMMED = 0x100;
const SUM_JOURNAL_SIZE = BLOCK - 5 - 512 * 7;
const SUM_FOOTER = BLOCK - 5;

/** mkfs.f2fs's built-in extension lists (cold: media and archives; hot: databases and VM disks), in its order. */
const COLD_EXTENSIONS = [
  'mp', 'wm', 'og', 'jp', 'avi', 'm4v', 'm4p', 'mkv', 'mov', 'webm', 'wav', 'm4a', '3gp', 'opus', 'flac', 'gif', 'png', 'svg', 'webp',
  'jar', 'deb', 'iso', 'gz', 'xz', 'zst', 'pdf', 'pyc', 'ttc', 'ttf', 'exe', 'apk', 'cnt', 'exo', 'odex', 'vdex', 'so',
]; // prettier-ignore
const HOT_EXTENSIONS = ['db', 'vmdk', 'vdi', 'qcow2'];

export interface EmptyF2fsOptions {
  /** Volume UUID ("xxxxxxxx-xxxx-…"). */
  uuid: string;
  label: string;
  /** Seconds since the epoch for the root directory's times (SOURCE_DATE_EPOCH). */
  epoch: number;
  /** The superblocks' version strings (see F2FS_VERSION_STRING). */
  version?: string;
}

/** Where everything goes, as mkfs.f2fs computes it for a plain file (start sector 0) of `sizeBytes`. */
export interface F2fsLayout {
  blockCount: number;
  segmentCount: number;
  segmentCountSit: number;
  segmentCountNat: number;
  segmentCountSsa: number;
  segmentCountMain: number;
  sectionCount: number;
  segment0: number;
  sitBlkaddr: number;
  natBlkaddr: number;
  ssaBlkaddr: number;
  mainBlkaddr: number;
  cpPayload: number;
  overprovision: number;
  reservedSegments: number;
  overprovSegments: number;
  /** Current segment of each log, indexed HOT_DATA, WARM_DATA, COLD_DATA, HOT_NODE, WARM_NODE, COLD_NODE. */
  curSeg: number[];
}

/** f2fs-tools' get_best_overprovision: the same double arithmetic, step by step, so the same answer. */
function bestOverprovision(mainSegs: number, sections: number): number {
  let candidate: number;
  let end: number;
  let diff: number;
  if (mainSegs < 256) [candidate, end, diff] = [10, 95, 5];
  else [candidate, end, diff] = [0.01, 10, 0.01];
  const perSection = Math.floor((mainSegs + sections - 1) / sections);
  let maxOvp = 0;
  let maxSpace = 0;
  for (; candidate <= end; candidate += diff) {
    const reserved = (2 * (100 / candidate + 1) + 6) * perSection;
    const ovp = ((mainSegs - reserved) * candidate) / 100;
    const space = mainSegs - reserved - ovp;
    if (maxSpace < space) {
      maxSpace = space;
      maxOvp = candidate;
    }
  }
  return maxOvp;
}

export function f2fsLayout(sizeBytes: number): F2fsLayout {
  if (!Number.isSafeInteger(sizeBytes) || sizeBytes <= 0 || sizeBytes % 512 !== 0)
    throw new Error(`F2FS size ${sizeBytes} is not a positive multiple of 512 bytes`);
  const tooSmall = () =>
    new NexusError(
      'STATE_TOO_SMALL',
      `A ${Math.floor(sizeBytes / 1048576)} MiB state partition is too small for F2FS (with 2 MiB segments it needs at least 52 MiB).`,
      "Give the state partition at least 52 MiB (the Box's filesystems.overlay.sizeMiB or the partition's sizeMiB).",
    );
  const segment0Bytes = SEG_BYTES; // zone-aligned after the two superblock blocks: one 2 MiB zone
  if (sizeBytes < segment0Bytes) throw tooSmall();
  const blockCount = Math.floor(sizeBytes / BLOCK);
  const segmentCount = Math.floor((sizeBytes - segment0Bytes) / SEG_BYTES);
  if (segmentCount > (16 * 1024 * 1024) / 2) throw new Error(`F2FS size ${sizeBytes} is over F2FS's 16 TiB limit`);
  const segment0 = segment0Bytes / BLOCK;
  const ckptSegs = 2;
  const sitBlkaddr = segment0 + ckptSegs * BLOCKS_PER_SEG;
  const sitSegments = Math.ceil(Math.ceil(segmentCount / SIT_ENTRY_PER_BLOCK) / BLOCKS_PER_SEG);
  const segmentCountSit = sitSegments * 2;
  const natBlkaddr = sitBlkaddr + segmentCountSit * BLOCKS_PER_SEG;
  let validBlocks = (segmentCount - (ckptSegs + segmentCountSit)) * BLOCKS_PER_SEG;
  let segmentCountNat = Math.ceil(Math.ceil(validBlocks / NAT_ENTRY_PER_BLOCK) / BLOCKS_PER_SEG);
  const sitBitmapSize = ((segmentCountSit / 2) * BLOCKS_PER_SEG) / 8;
  const maxSitBitmapSize = Math.min(sitBitmapSize, MAX_SIT_BITMAP_SIZE);
  let maxNatBitmapSize: number;
  let cpPayload: number;
  if (maxSitBitmapSize > MAX_SIT_BITMAP_SIZE_IN_CKPT) {
    maxNatBitmapSize = MAX_BITMAP_SIZE_IN_CKPT;
    cpPayload = Math.ceil(maxSitBitmapSize / BLOCK);
  } else {
    maxNatBitmapSize = MAX_BITMAP_SIZE_IN_CKPT - maxSitBitmapSize;
    cpPayload = 0;
  }
  const maxNatSegments = Math.floor((maxNatBitmapSize * 8) / BLOCKS_PER_SEG);
  segmentCountNat = Math.min(segmentCountNat, maxNatSegments) * 2;
  const ssaBlkaddr = natBlkaddr + segmentCountNat * BLOCKS_PER_SEG;
  validBlocks = (segmentCount - (ckptSegs + segmentCountSit + segmentCountNat)) * BLOCKS_PER_SEG;
  const segmentCountSsa = Math.ceil((validBlocks / BLOCKS_PER_SEG + 1) / BLOCKS_PER_SEG);
  const metaSegments = ckptSegs + segmentCountSit + segmentCountNat + segmentCountSsa;
  const mainBlkaddr = segment0 + metaSegments * BLOCKS_PER_SEG;
  const totalZones = segmentCount - metaSegments;
  const sectionCount = totalZones;
  const segmentCountMain = sectionCount;
  if (segmentCount < 9 || totalZones <= 6) throw tooSmall();
  const overprovision = bestOverprovision(segmentCountMain, sectionCount);
  // (double) → uint32, as the C assignment truncates.
  const reservedSegments = Math.trunc((2 * (100 / overprovision + 1) + NR_CURSEG) * Math.floor((segmentCountMain + sectionCount - 1) / sectionCount));
  if (overprovision === 0 || segmentCountMain - NR_CURSEG < reservedSegments) throw tooSmall();
  const overprovSegments = Math.trunc(((segmentCountMain - reservedSegments) * overprovision) / 100) + reservedSegments;
  if (segmentCountMain <= overprovSegments) throw tooSmall();
  const curSeg: number[] = [];
  curSeg[HOT_NODE] = 0;
  curSeg[WARM_NODE] = 1;
  curSeg[COLD_NODE] = 2;
  curSeg[HOT_DATA] = 3;
  curSeg[COLD_DATA] = Math.max((totalZones >>> 2) - 1, curSeg[HOT_DATA] + 1);
  curSeg[WARM_DATA] = Math.max((totalZones >>> 1) - 1, curSeg[COLD_DATA] + 1);
  if (new Set(curSeg).size !== NR_CURSEG) for (let i = 0; i < NR_CURSEG; i++) curSeg[i] = i; // verify_cur_segs
  return {
    blockCount,
    segmentCount,
    segmentCountSit,
    segmentCountNat,
    segmentCountSsa,
    segmentCountMain,
    sectionCount,
    segment0,
    sitBlkaddr,
    natBlkaddr,
    ssaBlkaddr,
    mainBlkaddr,
    cpPayload,
    overprovision,
    reservedSegments,
    overprovSegments,
    curSeg,
  };
}

function uuidBytes(uuid: string): Buffer {
  if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(uuid)) throw new Error(`invalid F2FS volume UUID "${uuid}"`);
  return Buffer.from(uuid.replace(/-/g, ''), 'hex');
}

function superblock(l: F2fsLayout, o: EmptyF2fsOptions): Buffer {
  const sb = Buffer.alloc(F2FS_SB.size);
  sb.writeUInt32LE(F2FS_SB.magic, 0);
  sb.writeUInt16LE(F2FS_MAJOR, 4);
  sb.writeUInt16LE(F2FS_MINOR, 6);
  [9, 3, 12, 9, 1, 1, 0].forEach((v, i) => sb.writeUInt32LE(v, 8 + i * 4)); // log sector/…/block/blocks-per-seg, segs/sec, secs/zone, checksum_offset
  sb.writeBigUInt64LE(BigInt(l.blockCount), 36);
  const counts = [l.sectionCount, l.segmentCount, 2, l.segmentCountSit, l.segmentCountNat, l.segmentCountSsa, l.segmentCountMain];
  const addrs = [l.segment0, l.segment0, l.sitBlkaddr, l.natBlkaddr, l.ssaBlkaddr, l.mainBlkaddr, ROOT_INO, NODE_INO, META_INO];
  [...counts, ...addrs].forEach((v, i) => sb.writeUInt32LE(v, 44 + i * 4));
  uuidBytes(o.uuid).copy(sb, 108);
  if (o.label.length >= 512) throw new Error(`F2FS label "${o.label}" is too long`);
  for (let i = 0; i < o.label.length; i++) sb.writeUInt16LE(o.label.charCodeAt(i), 124 + i * 2);
  [...COLD_EXTENSIONS, ...HOT_EXTENSIONS].forEach((ext, i) => sb.write(ext, 1152 + i * 8, 'latin1'));
  sb.writeUInt32LE(COLD_EXTENSIONS.length, 1148);
  sb.writeUInt32LE(l.cpPayload, 1664);
  const version = o.version ?? F2FS_VERSION_STRING;
  if (Buffer.byteLength(version, 'latin1') >= F2FS_SB.versionNameLen || /[^\x20-\x7e]/.test(version))
    throw new Error(`invalid F2FS version string "${version}"`);
  sb.write(version, F2FS_SB.version, 'latin1');
  sb.write(version, F2FS_SB.initVersion, 'latin1');
  sb[2757] = HOT_EXTENSIONS.length; // hot_ext_count
  return sb;
}

/** The checkpoint block of pack 1 (`version` = the -r seed's) or pack 2 (version 0), its CRC at 4092. */
function checkpoint(l: F2fsLayout, version: bigint, natBitsOk: boolean): Buffer {
  const cp = Buffer.alloc(BLOCK);
  cp.writeBigUInt64LE(version, 0);
  const usable = l.segmentCountMain;
  const freeSegments = usable - NR_CURSEG;
  cp.writeBigUInt64LE(BigInt((freeSegments + NR_CURSEG - l.overprovSegments) * BLOCKS_PER_SEG), 8); // user_block_count
  cp.writeBigUInt64LE(2n, 16); // valid_block_count: root inode + root dentry block
  cp.writeUInt32LE(l.reservedSegments, 24);
  cp.writeUInt32LE(l.overprovSegments, 28);
  cp.writeUInt32LE(freeSegments, 32);
  const node = [l.curSeg[HOT_NODE]!, l.curSeg[WARM_NODE]!, l.curSeg[COLD_NODE]!];
  const data = [l.curSeg[HOT_DATA]!, l.curSeg[WARM_DATA]!, l.curSeg[COLD_DATA]!];
  for (let i = 0; i < 8; i++) {
    cp.writeUInt32LE(node[i] ?? 0xffffffff, 36 + i * 4);
    cp.writeUInt32LE(data[i] ?? 0xffffffff, 84 + i * 4);
  }
  cp.writeUInt16LE(1, 68); // cur_node_blkoff[0]: the root inode
  cp.writeUInt16LE(1, 116); // cur_data_blkoff[0]: the root dentry block
  cp.writeUInt32LE(CP_UMOUNT | CP_COMPACT_SUM | CP_TRIMMED | (natBitsOk ? CP_NAT_BITS : 0), 132);
  cp.writeUInt32LE(6 + l.cpPayload, 136); // cp_pack_total_block_count: 2 cp pages, 1 data + 3 node summaries
  cp.writeUInt32LE(1 + l.cpPayload, 140); // cp_pack_start_sum
  cp.writeUInt32LE(1, 144); // valid_node_count
  cp.writeUInt32LE(1, 148); // valid_inode_count
  cp.writeUInt32LE(ROOT_INO + 1, 152); // next_free_nid
  cp.writeUInt32LE(((l.segmentCountSit / 2) * BLOCKS_PER_SEG) / 8, 156);
  cp.writeUInt32LE(((l.segmentCountNat / 2) * BLOCKS_PER_SEG) / 8, 160);
  cp.writeUInt32LE(CP_CHKSUM_OFFSET, 164);
  cp.writeUInt32LE(f2fsCrc32(F2FS_SB.magic, cp.subarray(0, CP_CHKSUM_OFFSET)), CP_CHKSUM_OFFSET);
  return cp;
}

/** Compacted data summaries: NAT journal (the root's entry), SIT journal (the six open segments), hot data summary. */
function compactDataSummary(l: F2fsLayout): Buffer {
  const b = Buffer.alloc(BLOCK);
  b.writeUInt16LE(1, 0); // n_nats
  b.writeUInt32LE(ROOT_INO, 2); // nid; entry: version 0, ino, block_addr
  b.writeUInt32LE(ROOT_INO, 7);
  b.writeUInt32LE(l.mainBlkaddr + l.curSeg[HOT_NODE]! * BLOCKS_PER_SEG, 11);
  const sit = SUM_JOURNAL_SIZE;
  b.writeUInt16LE(NR_CURSEG, sit); // n_sits
  const order: Array<[number, number]> = [
    [HOT_NODE, 1],
    [WARM_NODE, 0],
    [COLD_NODE, 0],
    [HOT_DATA, 1],
    [WARM_DATA, 0],
    [COLD_DATA, 0],
  ];
  order.forEach(([type, valid], i) => {
    const at = sit + 2 + i * 78; // segno, vblocks, valid_map[64], mtime
    b.writeUInt32LE(l.curSeg[type]!, at);
    b.writeUInt16LE((type << 10) | valid, at + 4);
    if (valid) b[at + 6] = 0x80; // f2fs_set_bit(0): most significant bit first
  });
  b.writeUInt32LE(ROOT_INO, 2 * SUM_JOURNAL_SIZE); // hot data summary entry 0: the root's dentry block
  return b;
}

function nodeSummary(withRoot: boolean): Buffer {
  const b = Buffer.alloc(BLOCK);
  if (withRoot) b.writeUInt32LE(ROOT_INO, 0);
  b[SUM_FOOTER] = 1; // SUM_TYPE_NODE
  return b;
}

function natBits(l: F2fsLayout, cp: Buffer, blocks: number): Buffer {
  const bytes = l.segmentCountNat << 5;
  const b = Buffer.alloc(blocks * BLOCK);
  b.writeBigUInt64LE(cp.readBigUInt64LE(0) | (BigInt(cp.readUInt32LE(CP_CHKSUM_OFFSET)) << 32n), 0);
  b.fill(0xff, 8 + bytes, 8 + 2 * bytes);
  b[8 + bytes] = 0xfe; // NAT block 0 holds the root, node and meta entries: not empty
  return b;
}

function natBlock(l: F2fsLayout): Buffer {
  const b = Buffer.alloc(BLOCK);
  const entry = (nid: number, ino: number, addr: number) => {
    b.writeUInt32LE(ino, nid * 9 + 1);
    b.writeUInt32LE(addr, nid * 9 + 5);
  };
  entry(ROOT_INO, ROOT_INO, l.mainBlkaddr + l.curSeg[HOT_NODE]! * BLOCKS_PER_SEG);
  entry(NODE_INO, NODE_INO, 1);
  entry(META_INO, META_INO, 1);
  return b;
}

function rootInode(l: F2fsLayout, epoch: number): Buffer {
  const b = Buffer.alloc(BLOCK);
  b.writeUInt16LE(0o40755, 0);
  b.writeUInt32LE(2, 12); // i_links; uid and gid 0
  b.writeBigUInt64LE(BigInt(BLOCK), 16); // i_size: one dentry block
  b.writeBigUInt64LE(2n, 24); // i_blocks
  for (const at of [32, 40, 48]) b.writeBigUInt64LE(BigInt(epoch), at); // atime, ctime, mtime
  b.writeUInt32LE(1, 72); // i_current_depth
  b.writeUInt32LE(l.mainBlkaddr + l.curSeg[HOT_DATA]! * BLOCKS_PER_SEG, 360); // i_addr[0]
  const footer = BLOCK - 24;
  b.writeUInt32LE(ROOT_INO, footer);
  b.writeUInt32LE(ROOT_INO, footer + 4);
  b.writeBigUInt64LE(1n, footer + 12); // cp_ver
  b.writeUInt32LE(l.mainBlkaddr + l.curSeg[HOT_NODE]! * BLOCKS_PER_SEG + 1, footer + 20); // next_blkaddr
  return b;
}

function rootDentries(): Buffer {
  const b = Buffer.alloc(BLOCK);
  b[0] = 0b11; // dentry_bitmap: slots 0 (".") and 1 ("..")
  const dentry = 30; // after the 27-byte bitmap and 3 reserved bytes
  const names = dentry + 214 * 11;
  ['.', '..'].forEach((name, i) => {
    b.writeUInt32LE(ROOT_INO, dentry + i * 11 + 4);
    b.writeUInt16LE(name.length, dentry + i * 11 + 8);
    b[dentry + i * 11 + 10] = 2; // F2FS_FT_DIR
    b.write(name, names + i * 8, 'latin1');
  });
  return b;
}

/** Every non-zero block of the empty filesystem, by block address. */
export function emptyF2fsBlocks(sizeBytes: number, o: EmptyF2fsOptions): Map<number, Buffer> {
  if (!Number.isInteger(o.epoch) || o.epoch < 0 || o.epoch > 0xffffffff) throw new Error(`invalid F2FS timestamp ${o.epoch}`);
  const l = f2fsLayout(sizeBytes);
  const blocks = new Map<number, Buffer>();
  const sbBlock = Buffer.alloc(BLOCK);
  superblock(l, o).copy(sbBlock, F2FS_SB.offsets[0]);
  blocks.set(0, sbBlock);
  blocks.set(1, sbBlock);
  const natBitsBlocks = Math.floor(((l.segmentCountNat << 5) * 2 + 8 + BLOCK - 1) / BLOCK);
  const natBitsOk = 6 + l.cpPayload <= BLOCKS_PER_SEG - natBitsBlocks;
  const cp1 = checkpoint(l, CHECKPOINT_VERSION, natBitsOk);
  const pack1 = l.segment0;
  blocks.set(pack1, cp1);
  blocks.set(pack1 + l.cpPayload + 1, compactDataSummary(l));
  blocks.set(pack1 + l.cpPayload + 2, nodeSummary(true));
  blocks.set(pack1 + l.cpPayload + 3, nodeSummary(false));
  blocks.set(pack1 + l.cpPayload + 4, nodeSummary(false));
  blocks.set(pack1 + l.cpPayload + 5, cp1);
  if (natBitsOk) {
    const bits = natBits(l, cp1, natBitsBlocks);
    for (let i = 0; i < natBitsBlocks; i++) blocks.set(pack1 + BLOCKS_PER_SEG - natBitsBlocks + i, bits.subarray(i * BLOCK, (i + 1) * BLOCK));
  }
  const cp2 = checkpoint(l, 0n, natBitsOk);
  const pack2 = l.segment0 + BLOCKS_PER_SEG;
  blocks.set(pack2, cp2);
  blocks.set(pack2 + l.cpPayload + 5, cp2);
  blocks.set(l.natBlkaddr, natBlock(l));
  blocks.set(l.mainBlkaddr + l.curSeg[HOT_NODE]! * BLOCKS_PER_SEG, rootInode(l, o.epoch));
  blocks.set(l.mainBlkaddr + l.curSeg[HOT_DATA]! * BLOCKS_PER_SEG, rootDentries());
  return blocks;
}

/** Writes the empty F2FS to `out` (created or replaced, sparse: only the non-zero blocks are written). */
export async function writeEmptyF2fs(out: string, sizeBytes: number, o: EmptyF2fsOptions): Promise<void> {
  const blocks = emptyF2fsBlocks(sizeBytes, o);
  await writeFile(out, '');
  await truncate(out, sizeBytes);
  const fh = await open(out, 'r+');
  try {
    for (const [addr, data] of [...blocks].sort((a, b) => a[0] - b[0])) await fh.write(data, 0, BLOCK, addr * BLOCK);
  } finally {
    await fh.close();
  }
}
