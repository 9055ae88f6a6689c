/**
 * Writes an EROFS image of a manifest in-process (no mkfs.erofs), bit-identical for the same manifest and options.
 *
 * Layout: block 0 holds the superblock at 1024 and the metadata area starts there too (meta_blkaddr 0), so the
 * root directory, written first, is nid 36 right after the superblock. Each inode takes 32-byte slots: the inode,
 * its inline xattrs, then either its data's tail (flat files, directories, symlinks: the part after the last full
 * block, kept inside one block) or its compressed index. Full data blocks and compressed clusters follow the
 * metadata, in inode order. Every timestamp is the build time (compact inodes carry none), as `mkfs.erofs -T`.
 */
import { open } from 'node:fs/promises';
import { createCRC32 } from 'hash-wasm';
import { NexusError } from '../../../../src-shared/errors';
import { readEntry } from '../content';
import { compressFile, type CompressedFile } from './compress';
import {
  BLOCK,
  COMPACT_INODE,
  COMPAT_SB_CHKSUM,
  encodeDirBlock,
  encodeInode,
  encodeMapHeader,
  encodeSuperblock,
  encodeXattrs,
  EXTENDED_INODE,
  FileType,
  fitsCompact,
  INCOMPAT_LZ4_0PADDING,
  Layout,
  NULL_ADDR,
  planDirBlocks,
  sealSuperblock,
  S_IFDIR,
  S_IFLNK,
  S_IFREG,
  SLOT,
  SUPER_OFFSET,
  xattrIndex,
  type Dirent,
} from './format';
import { buildTree, inodeOrder, sortedChildren, type TreeNode } from './tree';
import type { FsManifest } from '../../rootfs/entries';

export interface ErofsWriteOptions {
  /** Volume UUID (8-4-4-4-12 hex). */
  uuid: string;
  /** Build time in seconds: every inode's timestamp. */
  epoch: number;
  /** lz4hc: LZ4 clusters (our compressor); lzma is in the profile schema but not written in-process. */
  compression?: 'none' | 'lz4hc' | 'lzma';
  /** Hash-chain candidates the LZ4 match finder tries per position (more: smaller and slower). */
  lz4Attempts?: number;
  volumeName?: string;
  signal?: AbortSignal;
}

export interface ErofsWriteResult {
  bytes: number;
  blocks: number;
  inodes: number;
  compressedFiles: number;
  /** xattrs EROFS has no namespace for (left out, named here). */
  skippedXattrs: string[];
}

interface Planned {
  node: TreeNode;
  mode: number;
  size: number;
  extended: boolean;
  xattrs: Buffer;
  xattrCount: number;
  layout: Layout;
  /** Bytes stored after the inode and xattrs: the inline tail, or the map header and compressed index. */
  metaTail: number;
  dataBlocks: number;
  compressed?: CompressedFile;
  /** Directory entries (directories only), sorted, with their block split. */
  dir?: { names: Buffer[]; targets: TreeNode[]; blocks: number[][] };
  nid: number;
  startBlock: number;
}

const roundUp = (n: number, to: number) => Math.ceil(n / to) * to;
/** Yield to the event loop this often while compressing (Electron's main process keeps drawing the UI). */
const SLICE_MS = 20;

function uuidBytes(uuid: string): Buffer {
  if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(uuid))
    throw new NexusError('EROFS_BAD_OPTIONS', `The EROFS volume UUID "${uuid}" is not a UUID.`, 'This is a bug in the image stage; please report it.');
  return Buffer.from(uuid.replace(/-/g, ''), 'hex');
}

function typeOf(n: TreeNode): FileType {
  return n.kind === 'dir' ? FileType.Directory : n.kind === 'symlink' ? FileType.Symlink : FileType.Regular;
}

async function nodeData(n: TreeNode): Promise<Buffer> {
  if (n.kind === 'symlink') return Buffer.from(n.entry.linkTarget!, 'utf8');
  const clean = 'The package cache may be damaged: delete it (`nexus cache clean`) and build again.';
  let data: Buffer;
  try {
    data = await readEntry(n.entry);
  } catch (err) {
    if (err instanceof NexusError) throw err;
    const code = (err as NodeJS.ErrnoException).code ?? String(err);
    throw new NexusError('EROFS_BAD_ENTRY', `Cannot read the content of ${n.entry.path} (from ${n.entry.owner}) for the EROFS root: ${code}.`, clean, {
      cause: err,
    });
  }
  if (data.length !== n.entry.size)
    throw new NexusError(
      'EROFS_BAD_ENTRY',
      `Cannot put ${n.entry.path} (from ${n.entry.owner}) into the EROFS root: the manifest says ${n.entry.size} bytes, its content has ${data.length}.`,
      clean,
    );
  return data;
}

/** Reads the files' contents one ahead of their use, so each disk wait overlaps the work on the file before. */
function readAhead(files: TreeNode[]): (n: TreeNode) => Promise<Buffer> {
  const index = new Map(files.map((f, i) => [f, i]));
  const started = new Map<TreeNode, Promise<Buffer>>();
  const start = (f: TreeNode | undefined) => {
    if (!f || started.has(f)) return;
    const p = nodeData(f);
    p.catch(() => undefined); // awaited (and thrown) where it is used
    started.set(f, p);
  };
  return (n) => {
    start(n);
    start(files[index.get(n)! + 1]);
    const p = started.get(n)!;
    started.delete(n);
    return p;
  };
}

export async function writeErofs(out: string, manifest: FsManifest, o: ErofsWriteOptions): Promise<ErofsWriteResult> {
  const uuid = uuidBytes(o.uuid);
  if (!Number.isInteger(o.epoch) || o.epoch < 0)
    throw new NexusError(
      'EROFS_BAD_OPTIONS',
      `The EROFS build time ${o.epoch} is not a whole number of seconds.`,
      'This is a bug in the image stage; please report it.',
    );
  if (o.compression === 'lzma')
    throw new NexusError(
      'EROFS_COMPRESSION_UNSUPPORTED',
      'The EROFS root asks for lzma compression, which this build does not write.',
      'Use `compression: lz4hc` (or none) for the root in the Box profile (filesystems.root).',
    );
  const compress = o.compression === 'lz4hc';
  const root = buildTree(manifest);
  const order = inodeOrder(root);
  const skippedXattrs: string[] = [];
  let sliceStart = Date.now();
  const breathe = async () => {
    o.signal?.throwIfAborted();
    if (Date.now() - sliceStart > SLICE_MS) {
      await new Promise((r) => setImmediate(r));
      sliceStart = Date.now();
    }
  };

  // 1. What each inode stores and how (sizes only; directories need their children's nids, known after step 2).
  const plans: Planned[] = [];
  const read = readAhead(order.filter((n) => n.kind === 'file'));
  for (const node of order) {
    await breathe();
    const e = node.entry;
    const x = Object.keys(e.xattrs ?? {})
      .sort()
      .flatMap((name) => {
        const idx = xattrIndex(name);
        const value = e.xattrs![name]!;
        if (!idx) {
          skippedXattrs.push(`${e.path}: ${name}`);
          return [];
        }
        if (value.length > 0xffff || idx.suffix.length > 0xff)
          throw new NexusError(
            'EROFS_BAD_ENTRY',
            `The xattr ${name} of ${e.path} is too long for EROFS.`,
            'Remove it from the package or configuration that sets it.',
          );
        return [{ ...idx, value }];
      });
    const { body: xattrs, count: xattrCount } = encodeXattrs(x);
    let size: number;
    let compressed: CompressedFile | undefined;
    let dir: Planned['dir'];
    if (node.kind === 'dir') {
      const entries = sortedChildren(node);
      const dots: Array<[Buffer, TreeNode]> = [
        [Buffer.from('.'), node],
        [Buffer.from('..'), node.parent ?? node],
      ];
      const all = [...dots, ...entries].sort((a, b) => Buffer.compare(a[0], b[0]));
      const split = planDirBlocks(all.map(([name]) => ({ name })));
      size = split.size;
      dir = { names: all.map(([n]) => n), targets: all.map(([, t]) => t), blocks: split.blocks };
    } else if (node.kind === 'symlink') size = Buffer.byteLength(e.linkTarget!);
    else {
      const data = await read(node);
      size = data.length;
      if (compress) compressed = await compressFile(data, { attempts: o.lz4Attempts, breathe });
    }
    const extended = !fitsCompact(e.uid, e.gid, node.nlink, size, o.epoch, o.epoch);
    const isize = extended ? EXTENDED_INODE : COMPACT_INODE;
    let layout: Layout;
    let metaTail: number;
    let dataBlocks: number;
    if (compressed) {
      layout = Layout.CompressedFull;
      metaTail = roundUp(isize + xattrs.length, 8) - isize - xattrs.length + 16 + compressed.indexBytes;
      dataBlocks = compressed.extents.length;
    } else {
      const tail = size % BLOCK;
      const inline = tail > 0 && isize + xattrs.length + tail <= BLOCK;
      layout = inline ? Layout.FlatInline : Layout.FlatPlain;
      metaTail = inline ? tail : 0;
      dataBlocks = inline ? Math.floor(size / BLOCK) : Math.ceil(size / BLOCK);
    }
    const mode = (node.kind === 'dir' ? S_IFDIR : node.kind === 'symlink' ? S_IFLNK : S_IFREG) | e.mode;
    plans.push({ node, mode, size, extended, xattrs, xattrCount, layout, metaTail, dataBlocks, compressed, dir, nid: 0, startBlock: 0 });
  }

  // 2. Metadata slots. An inode with its xattrs and inline tail never crosses a block boundary (the kernel reads an
  //    inline tail from one block); compressed indexes may run on (each 8-byte entry stays inside a block).
  let pos = SUPER_OFFSET + 128;
  for (const p of plans) {
    const isize = p.extended ? EXTENDED_INODE : COMPACT_INODE;
    const head = isize + p.xattrs.length + (p.layout === Layout.FlatInline ? p.metaTail : 0);
    if (head <= BLOCK && (pos % BLOCK) + head > BLOCK) pos = roundUp(pos, BLOCK);
    p.nid = pos / SLOT;
    pos = roundUp(pos + isize + p.xattrs.length + p.metaTail, SLOT);
  }
  const metaBlocks = Math.ceil(pos / BLOCK);
  let next = metaBlocks;
  for (const p of plans) {
    p.startBlock = next;
    next += p.dataBlocks;
  }
  const blocks = next;
  if (blocks > 0xffffffff || plans[0]!.nid > 0xffff)
    throw new NexusError('EROFS_TOO_BIG', `The root filesystem needs ${blocks} blocks of 4 KiB, more than EROFS can address.`, 'Choose fewer packages.');
  const planOf = new Map(plans.map((p) => [p.node, p]));

  // 3. The metadata area, then data blocks in inode order.
  const meta = Buffer.alloc(metaBlocks * BLOCK);
  const reread = readAhead(plans.filter((p) => p.node.kind === 'file' && !p.compressed).map((p) => p.node));
  const fh = await open(out, 'w');
  try {
    let at = meta.length;
    const put = async (b: Uint8Array) => {
      await fh.write(b, 0, b.length, at);
      at += b.length;
    };
    for (const [i, p] of plans.entries()) {
      await breathe();
      const n = p.node;
      const u = p.compressed ? p.compressed.extents.length : p.dataBlocks ? p.startBlock : NULL_ADDR;
      const inode = encodeInode({
        extended: p.extended,
        layout: p.layout,
        xattrCount: p.xattrCount,
        mode: p.mode,
        nlink: n.nlink,
        size: p.size,
        u,
        ino: i + 1,
        uid: n.entry.uid,
        gid: n.entry.gid,
        mtime: o.epoch,
      });
      let off = p.nid * SLOT;
      inode.copy(meta, off);
      off += inode.length;
      p.xattrs.copy(meta, off);
      off += p.xattrs.length;
      if (p.compressed) {
        off = roundUp(off, 8);
        encodeMapHeader().copy(meta, off);
        p.compressed.indexes(p.startBlock).copy(meta, off + 16);
        for (const e of p.compressed.extents) await put(e.data);
        continue;
      }
      const data = p.dir ? dirBytes(p, planOf) : n.kind === 'symlink' ? await nodeData(n) : await reread(n);
      const full = Math.floor(p.size / BLOCK) * BLOCK;
      if (p.layout === Layout.FlatInline) data.copy(meta, off, full);
      if (p.dataBlocks) {
        const body = Buffer.alloc(p.dataBlocks * BLOCK);
        data.copy(body, 0, 0, p.dataBlocks * BLOCK);
        await put(body);
      }
    }
    encodeSuperblock({
      featureCompat: COMPAT_SB_CHKSUM,
      featureIncompat: compress ? INCOMPAT_LZ4_0PADDING : 0,
      rootNid: plans[0]!.nid,
      inodes: plans.length,
      buildTime: o.epoch,
      blocks,
      uuid,
      volumeName: o.volumeName ?? '',
    }).copy(meta, SUPER_OFFSET);
    const crc = await createCRC32(0x82f63b78);
    sealSuperblock(meta, (data) => parseInt(crc.init().update(data).digest('hex'), 16));
    await fh.write(meta, 0, meta.length, 0);
    return { bytes: blocks * BLOCK, blocks, inodes: plans.length, compressedFiles: plans.filter((p) => p.compressed).length, skippedXattrs };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOSPC')
      throw new NexusError('DISK_FULL', 'No space left while writing the EROFS root.', 'Free some space in the cache directory and build again.', {
        cause: err,
      });
    throw err;
  } finally {
    await fh.close();
  }
}

/** A directory's bytes: its blocks of sorted dirents (the last one only as long as it is used). */
function dirBytes(p: Planned, planOf: Map<TreeNode, Planned>): Buffer {
  const d = p.dir!;
  const parts = d.blocks.map((idx, i) => {
    const entries: Dirent[] = idx.map((k) => ({ name: d.names[k]!, nid: planOf.get(d.targets[k]!)!.nid, type: typeOf(d.targets[k]!) }));
    return encodeDirBlock(entries, i === d.blocks.length - 1 ? p.size - i * BLOCK : BLOCK);
  });
  return Buffer.concat(parts);
}
