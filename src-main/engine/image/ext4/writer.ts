/**
 * Writes an ext4 filesystem image straight from a FsManifest, in-process (no mke2fs, no debugfs), so a build
 * needs no e2fsprogs and every owner, mode and timestamp comes from the manifest, not from a staging tree.
 *
 * Why our own writer and not balena's `ext2fs` (libext2fs in WASM): that package only mounts an existing
 * filesystem (no ext2fs_initialize, so it needs an mke2fs-made template per size), cannot set timestamps (no
 * utimes export; inode times come from the clock), and installs process-wide uncaughtException/
 * unhandledRejection handlers that rethrow, which an Electron main process cannot accept.
 *
 * The result is what `mke2fs -t ext4` would make (same features, journal size, reserved GDT blocks for
 * resize2fs, flex groups of 16), filled in one pass: inodes in path order from 11 (/lost+found first),
 * directories and file data allocated in that order, linear directories (the kernel indexes them when
 * they grow). Everything derives from the manifest and the options, so the same input gives the same bytes.
 */
import { open } from 'node:fs/promises';
import { posix } from 'node:path';
import { NexusError } from '../../../../src-shared/errors';
import { treeProblems, type FsEntry, type FsManifest } from '../../rootfs/entries';
import { readEntry } from '../content';
import { BlockMap, type Run } from './block-map';
import { Ext4Checksum } from './checksum';
import { ADDR_PER_BLOCK, BLOCK, BLOCKS_PER_GROUP, FIRST_INO, FLEX_GROUPS, hasSuperBackup, INODE_SIZE, planGeometry, superOverhead } from './geometry';
import {
  directoryBlocks,
  extentTree,
  EXTENTS_FL,
  groupDescriptor,
  ibodyXattrs,
  inode,
  journalSuperblock,
  leafBlocksFor,
  S_IFDIR,
  S_IFLNK,
  S_IFREG,
  superblock,
  type DirEntry,
  type GroupInfo,
} from './structs';

export interface Ext4WriteOptions {
  sizeBytes: number;
  uuid: string;
  /** The directory hash seed, a UUID. */
  hashSeed: string;
  label: string;
  /** Superblock times (and the journal's, the resize inode's, implied directories'). */
  epoch: number;
  signal?: AbortSignal;
}

export interface Ext4Written {
  blocks: number;
  usedBlocks: number;
  inodes: number;
  usedInodes: number;
  /** "path: name" of extended attributes not stored (POSIX ACLs, unknown prefixes, more than fits in the inode). */
  droppedXattrs: string[];
}

interface Node {
  entry: FsEntry;
  name: Buffer;
  ino: number;
  links: number;
  children: Node[];
  /** The directory holding it (the root's is itself). */
  parent?: Node;
}

const ROOT_INO = 2;
const RESIZE_INO = 7;
const JOURNAL_INO = 8;
const LOST_FOUND_BLOCKS = 4;

function uuidBytes(uuid: string, what: string): Buffer {
  if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(uuid))
    throw new NexusError('EXT4_BAD_OPTION', `The ext4 ${what} "${uuid}" is not a UUID.`, 'This is a bug in the image stage; please report it.');
  return Buffer.from(uuid.replace(/-/g, ''), 'hex');
}

/** Directories, files and links by path, with the root, implied parents and /lost+found added. */
function buildTree(manifest: FsManifest, epoch: number): Node[] {
  const problems = treeProblems(manifest);
  if (problems.length)
    throw new NexusError(
      'UNSAFE_PATH',
      `Refusing to write the ext4 root filesystem: ${problems.join('; ')}.`,
      'The root filesystem breaks the rules that keep it inside the image: remove the package named, or report the bug with the build log.',
    );
  const all = new Map(manifest);
  const dir = (path: string, mtime: number): FsEntry => ({ path, type: 'dir', mode: 0o755, uid: 0, gid: 0, mtime, size: 0, owner: 'nexus' });
  if (!all.has('/')) all.set('/', dir('/', epoch));
  if (!all.has('/lost+found')) all.set('/lost+found', { ...dir('/lost+found', epoch), mode: 0o700 });
  for (const e of manifest.values()) for (let d = posix.dirname(e.path); d !== '/' && !all.has(d); d = posix.dirname(d)) all.set(d, dir(d, e.mtime));
  const paths = [...all.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const byPath = new Map<string, Node>();
  const nodes: Node[] = [];
  for (const p of paths) {
    const entry = all.get(p)!;
    const name = Buffer.from(posix.basename(p) || '/', 'utf8');
    if (name.length > 255)
      throw new NexusError(
        'EXT4_NAME_TOO_LONG',
        `${p} (from ${entry.owner}) has a name of ${name.length} bytes; ext4 allows at most 255.`,
        'Remove or rename that file (the package or the overlay that adds it).',
      );
    const node: Node = { entry, name, ino: 0, links: entry.type === 'dir' ? 2 : 1, children: [] };
    byPath.set(p, node);
    nodes.push(node);
    node.parent = p === '/' ? node : byPath.get(posix.dirname(p))!;
    if (p !== '/') node.parent.children.push(node);
  }
  const root = byPath.get('/')!;
  root.ino = ROOT_INO;
  byPath.get('/lost+found')!.ino = FIRST_INO;
  let next = FIRST_INO + 1;
  for (const n of nodes) if (!n.ino && n.entry.type !== 'hardlink') n.ino = next++;
  for (const n of nodes) {
    if (n.entry.type === 'hardlink') {
      const target = byPath.get(n.entry.linkTarget!)!;
      n.ino = target.ino;
      target.links++;
    }
    if (n.entry.type === 'dir' && n !== root) n.parent!.links++;
  }
  return nodes;
}

/** Bytes of file content read ahead of the writer, so reading the next files overlaps writing this one. */
const READ_AHEAD_BYTES = 32 * 1048576;

/** Reads the files' contents in the order they will be written, up to READ_AHEAD_BYTES ahead. */
class ReadAhead {
  private readonly queue: Array<{ entry: FsEntry; data: Promise<Buffer> }> = [];
  private next = 0;
  private bytes = 0;

  constructor(private readonly files: FsEntry[]) {}

  take(entry: FsEntry): Promise<Buffer> {
    this.fill();
    const head = this.queue.shift();
    if (head?.entry !== entry) throw new Error(`read-ahead out of order at ${entry.path}`);
    this.bytes -= entry.size;
    this.fill();
    return head.data;
  }

  private fill(): void {
    while (this.next < this.files.length && (!this.queue.length || this.bytes < READ_AHEAD_BYTES)) {
      const entry = this.files[this.next++]!;
      const data = readEntry(entry);
      data.catch(() => undefined); // a failed read is reported when its turn comes (take's caller awaits it)
      this.queue.push({ entry, data });
      this.bytes += entry.size;
    }
  }
}

function fileType(e: FsEntry): number {
  return e.type === 'dir' ? 2 : e.type === 'symlink' ? 7 : 1;
}

export async function writeExt4(out: string, manifest: FsManifest, o: Ext4WriteOptions): Promise<Ext4Written> {
  const uuid = uuidBytes(o.uuid, 'UUID');
  const hashSeed = uuidBytes(o.hashSeed, 'hash seed');
  const label = Buffer.from(o.label, 'utf8');
  if (label.length > 16) throw new NexusError('EXT4_BAD_OPTION', `The ext4 label "${o.label}" is longer than 16 bytes.`, 'Choose a shorter label.');
  const nodes = buildTree(manifest, o.epoch);
  const inodesUsed = nodes.reduce((m, n) => Math.max(m, n.ino), FIRST_INO);
  const geo = planGeometry(o.sizeBytes, inodesUsed);
  const csum = await Ext4Checksum.create(uuid);
  const map = new BlockMap(geo.blocks);

  // Superblock copies and GDTs, then each flex group's bitmaps and inode tables packed at its start.
  for (let g = 0; g < geo.groups; g++) map.mark(g * BLOCKS_PER_GROUP, superOverhead(geo, g));
  const groupMeta: Array<Pick<GroupInfo, 'blockBitmap' | 'inodeBitmap' | 'inodeTable'>> = [];
  for (let first = 0; first < geo.groups; first += FLEX_GROUPS) {
    const n = Math.min(FLEX_GROUPS, geo.groups - first);
    const goal = first * BLOCKS_PER_GROUP;
    const bb = map.contiguous(n, goal, 'block bitmaps');
    const ib = map.contiguous(n, goal, 'inode bitmaps');
    const it = map.contiguous(n * geo.itableBlocks, goal, 'inode tables');
    for (let k = 0; k < n; k++) groupMeta.push({ blockBitmap: bb + k, inodeBitmap: ib + k, inodeTable: it + k * geo.itableBlocks });
  }
  // The journal goes to the middle of the filesystem (at a flex group's start when there are several), as mke2fs puts it.
  let jGroup = Math.floor(geo.blocks / 2 / BLOCKS_PER_GROUP);
  if (geo.groups > FLEX_GROUPS) jGroup &= ~(FLEX_GROUPS - 1);
  const journalStart = map.contiguous(geo.journalBlocks, jGroup * BLOCKS_PER_GROUP, 'the journal');
  const resizeDind = map.contiguous(1, 0, 'the resize inode');

  const dirData = new Map<Node, Buffer[]>();
  const droppedXattrs: string[] = [];
  let needed = 0;
  for (const n of nodes) {
    const e = n.entry;
    if (e.type === 'dir') {
      const entries: DirEntry[] = [
        { ino: n.ino, name: Buffer.from('.'), type: 2 },
        { ino: n.parent!.ino, name: Buffer.from('..'), type: 2 },
        ...n.children.map((c) => ({ ino: c.ino, name: c.name, type: fileType(c.entry) })),
      ];
      dirData.set(n, directoryBlocks(n.ino, entries, e.path === '/lost+found' ? LOST_FOUND_BLOCKS : 1, csum));
    }
  }
  for (const n of nodes) {
    const blocks =
      n.entry.type === 'dir'
        ? dirData.get(n)!.length
        : n.entry.type === 'file'
          ? Math.ceil(n.entry.size / BLOCK)
          : n.entry.type === 'symlink' && Buffer.byteLength(n.entry.linkTarget ?? '') >= 60
            ? 1
            : 0;
    needed += blocks + leafBlocksFor(Math.ceil(blocks / 32768) + 2);
  }
  const free = map.free();
  if (needed > free)
    throw new NexusError(
      'EXT4_TOO_SMALL',
      `The root filesystem needs about ${Math.ceil((needed * BLOCK) / 1048576)} MiB for its files, but an ext4 filesystem of ${Math.floor(o.sizeBytes / 1048576)} MiB has ${Math.floor((free * BLOCK) / 1048576)} MiB free after its metadata and journal.`,
      'Make the root partition larger (or leave its size on "auto") or install fewer packages.',
    );

  const fh = await open(out, 'w');
  try {
    await fh.truncate(o.sizeBytes);
    const write = async (buf: Uint8Array, block: number, offset = 0) => {
      if (buf.length) await fh.write(buf, 0, buf.length, block * BLOCK + offset);
    };
    const tables = new Map<number, Buffer>();
    const dirsInGroup = new Array<number>(geo.groups).fill(0);
    const putInode = (ino: number, b: Buffer) => {
      const g = Math.floor((ino - 1) / geo.inodesPerGroup);
      let t = tables.get(g);
      if (!t) tables.set(g, (t = Buffer.alloc(geo.inodesPerGroup * INODE_SIZE)));
      b.copy(t, ((ino - 1) % geo.inodesPerGroup) * INODE_SIZE);
    };
    /** Allocates, writes `data` and returns i_block, flags and sectors for an extent-mapped inode. */
    const extentData = async (ino: number, data: Buffer | Buffer[], what: string) => {
      const bufs = Array.isArray(data) ? data : [data];
      const total = bufs.reduce((s, b) => s + b.length, 0);
      const runs: Run[] = total ? map.take(Math.ceil(total / BLOCK), what) : [];
      const leaves = leafBlocksFor(runs.length)
        ? map.take(leafBlocksFor(runs.length), what).flatMap((r) => Array.from({ length: r.len }, (_, k) => r.start + k))
        : [];
      const whole = bufs.length === 1 ? bufs[0]! : Buffer.concat(bufs);
      let off = 0;
      for (const r of runs) {
        await write(whole.subarray(off, off + r.len * BLOCK), r.start);
        off += r.len * BLOCK;
      }
      const tree = extentTree(ino, runs, leaves, csum);
      for (let k = 0; k < leaves.length; k++) await write(tree.leafData[k]!, leaves[k]!);
      const blocks = runs.reduce((s, r) => s + r.len, 0) + leaves.length;
      return { iblock: tree.iblock, flags: EXTENTS_FL, sectors: blocks * (BLOCK / 512) };
    };

    const xattrArea = (e: FsEntry) => {
      const x = ibodyXattrs(e.xattrs!);
      for (const name of x.dropped) droppedXattrs.push(`${e.path}: ${name}`);
      return x.area;
    };
    const reads = new ReadAhead(nodes.filter((n) => n.entry.type === 'file').map((n) => n.entry));
    let count = 0;
    for (const n of nodes) {
      if (++count % 256 === 0) o.signal?.throwIfAborted();
      const e = n.entry;
      const what = e.path;
      const base = { ino: n.ino, uid: e.uid, gid: e.gid, time: e.mtime, links: n.links, ...(e.xattrs ? { xattrs: xattrArea(e) } : {}) };
      if (e.type === 'hardlink') continue;
      if (e.type === 'dir') {
        const blocks = dirData.get(n)!;
        const x = await extentData(n.ino, blocks, what);
        const links = n.links > 65000 ? 1 : n.links; // dir_nlink: "many"
        putInode(n.ino, inode({ ...base, links, mode: S_IFDIR | (e.mode & 0o7777), size: blocks.length * BLOCK, ...x }, csum));
        dirsInGroup[Math.floor((n.ino - 1) / geo.inodesPerGroup)]!++;
      } else if (e.type === 'file') {
        const data = await reads.take(e);
        const x = await extentData(n.ino, data, what);
        putInode(n.ino, inode({ ...base, mode: S_IFREG | (e.mode & 0o7777), size: data.length, ...x }, csum));
      } else {
        const target = Buffer.from(e.linkTarget ?? '', 'utf8');
        if (!target.length || target.length >= BLOCK)
          throw new NexusError(
            'EXT4_BAD_SYMLINK',
            `The symlink ${e.path} (from ${e.owner}) has a target of ${target.length} bytes; ext4 needs 1 to ${BLOCK - 1}.`,
            'Remove that symlink (the package or the overlay that adds it).',
          );
        const mode = S_IFLNK | (e.mode & 0o7777);
        if (target.length < 60) {
          // A fast symlink: the target lives in i_block.
          const iblock = Buffer.alloc(60);
          target.copy(iblock);
          putInode(n.ino, inode({ ...base, mode, size: target.length, iblock, flags: 0, sectors: 0 }, csum));
        } else {
          const x = await extentData(n.ino, Buffer.concat([target, Buffer.alloc(BLOCK - target.length)]), what);
          putInode(n.ino, inode({ ...base, mode, size: target.length, ...x }, csum));
        }
      }
    }

    // The journal: an extent-mapped file of zeroed blocks behind the jbd2 superblock.
    const jRuns: Run[] = [];
    for (let s = journalStart, left = geo.journalBlocks; left > 0;) {
      const len = Math.min(left, 32768);
      jRuns.push({ start: s, len });
      s += len;
      left -= len;
    }
    const jLeaves = leafBlocksFor(jRuns.length) ? [map.contiguous(1, journalStart, 'the journal')] : [];
    const jTree = extentTree(JOURNAL_INO, jRuns, jLeaves, csum);
    for (let k = 0; k < jLeaves.length; k++) await write(jTree.leafData[k]!, jLeaves[k]!);
    await write(journalSuperblock(geo.journalBlocks, uuid), journalStart);
    const jSize = geo.journalBlocks * BLOCK;
    const jSectors = (geo.journalBlocks + jLeaves.length) * (BLOCK / 512);
    putInode(
      JOURNAL_INO,
      inode(
        {
          ino: JOURNAL_INO,
          mode: S_IFREG | 0o600,
          uid: 0,
          gid: 0,
          size: jSize,
          time: o.epoch,
          links: 1,
          sectors: jSectors,
          flags: EXTENTS_FL,
          iblock: jTree.iblock,
        },
        csum,
      ),
    );
    const journalBackup = Buffer.alloc(68);
    jTree.iblock.copy(journalBackup);
    journalBackup.writeUInt32LE(Math.floor(jSize / 2 ** 32), 60);
    journalBackup.writeUInt32LE(jSize % 2 ** 32, 64);

    // The resize inode: a double-indirect block naming the primary reserved GDT blocks, each of which lists
    // its copies in the backup groups, so resize2fs and the kernel can grow the GDT in place.
    const backups = Array.from({ length: geo.groups - 1 }, (_, k) => k + 1).filter(hasSuperBackup);
    const dind = Buffer.alloc(BLOCK);
    for (let r = 0; r < geo.reservedGdt; r++) {
      const primary = 1 + geo.gdtBlocks + r;
      dind.writeUInt32LE(primary, ((geo.gdtBlocks + r) % ADDR_PER_BLOCK) * 4);
      const list = Buffer.alloc(BLOCK);
      backups.forEach((g, k) => list.writeUInt32LE(primary + g * BLOCKS_PER_GROUP, k * 4));
      await write(list, primary);
    }
    await write(dind, resizeDind);
    const rIblock = Buffer.alloc(60);
    rIblock.writeUInt32LE(resizeDind, 13 * 4);
    const rSize = (ADDR_PER_BLOCK * ADDR_PER_BLOCK + ADDR_PER_BLOCK + 12) * BLOCK;
    const rSectors = (1 + geo.reservedGdt * (1 + backups.length)) * (BLOCK / 512);
    putInode(
      RESIZE_INO,
      inode(
        { ino: RESIZE_INO, mode: S_IFREG | 0o600, uid: 0, gid: 0, size: rSize, time: o.epoch, links: 1, sectors: rSectors, flags: 0, iblock: rIblock },
        csum,
      ),
    );

    // Bitmaps and group descriptors. Inodes 1..inodesUsed are all in use (reserved ones included).
    const gdt = Buffer.alloc(geo.gdtBlocks * BLOCK);
    let freeBlocks = 0;
    for (let g = 0; g < geo.groups; g++) {
      const bb = Buffer.alloc(BLOCK);
      const start = g * BLOCKS_PER_GROUP;
      const end = Math.min(start + BLOCKS_PER_GROUP, geo.blocks);
      let freeHere = 0;
      for (let b = start; b < start + BLOCKS_PER_GROUP; b++) {
        const i = b - start;
        if (b >= end || map.used(b)) bb[i >> 3]! |= 1 << (i & 7);
        else freeHere++;
      }
      const ib = Buffer.alloc(BLOCK);
      const used = Math.min(Math.max(inodesUsed - g * geo.inodesPerGroup, 0), geo.inodesPerGroup);
      for (let i = 0; i < BLOCK * 8; i++) if (i < used || i >= geo.inodesPerGroup) ib[i >> 3]! |= 1 << (i & 7);
      const meta = groupMeta[g]!;
      await write(bb, meta.blockBitmap);
      await write(ib, meta.inodeBitmap);
      const table = tables.get(g);
      if (table) await write(table.subarray(0, used * INODE_SIZE), meta.inodeTable);
      freeBlocks += freeHere;
      groupDescriptor(
        g,
        {
          ...meta,
          freeBlocks: freeHere,
          freeInodes: geo.inodesPerGroup - used,
          usedDirs: dirsInGroup[g]!,
          itableUnused: geo.inodesPerGroup - used,
          blockBitmapCsum: csum.seeded(bb),
          inodeBitmapCsum: csum.seeded(ib.subarray(0, geo.inodesPerGroup / 8)),
        },
        csum,
      ).copy(gdt, g * 64);
    }
    const inodesCount = geo.inodesPerGroup * geo.groups;
    const info = { geo, uuid, hashSeed, label, epoch: o.epoch, inodesCount, freeBlocks, freeInodes: inodesCount - inodesUsed, journalBackup };
    for (let g = 0; g < geo.groups; g++) {
      if (!hasSuperBackup(g)) continue;
      await write(superblock(info, g, csum), g * BLOCKS_PER_GROUP, g === 0 ? 1024 : 0);
      await write(gdt, g * BLOCKS_PER_GROUP + 1);
    }
    return { blocks: geo.blocks, usedBlocks: geo.blocks - freeBlocks, inodes: inodesCount, usedInodes: inodesUsed, droppedXattrs };
  } finally {
    await fh.close();
  }
}
