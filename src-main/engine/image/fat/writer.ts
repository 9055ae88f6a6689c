/**
 * Writes a FAT16/FAT32 file system with its files in one pass, in-process: no mkfs.vfat, mmd or mcopy, so a
 * build needs no host tools (issue 17). Why our own and not FatFs compiled to WASM (js-fatfs): FatFs's f_mkfs
 * picks its own geometry (not mkfs.fat's, which the firmware here was tested with), takes the volume id and every
 * timestamp from a clock callback, and writes through a sector cache in memory; what a boot partition needs is
 * small (a fixed file list, no deletes), and writing it directly is what makes it reproducible by construction.
 *
 * Determinism: everything is a function of the inputs. Names are sorted by code unit in every directory, clusters
 * are allocated contiguously depth first (a directory's own clusters, then each entry in order), every timestamp
 * is `epoch` (UTC, as SOURCE_DATE_EPOCH), and the volume id is the caller's. Memory: the FAT and one directory at
 * a time; file contents are written straight from the caller's buffer or streamed from a file in 1 MiB reads.
 */
import { open, stat, type FileHandle } from 'node:fs/promises';
import { CancelledError, NexusError } from '../../../../src-shared/errors';
import { bootSector, FAT_EOC, fatGeometry, fsInfoSector, SECTOR, type FatGeometry, type FatType } from './geometry';
import { assignShortNames, checkLabel, checkLongName, lfnEntries, shortNameChecksum } from './names';

/** A file for the volume: its bytes, or a file to stream them from (for large ones: the offline kit). */
export interface FatFile {
  /** Path on the volume ("EFI/BOOT/BOOTX64.EFI"). */
  dest: string;
  data: Uint8Array;
}
export type FatInput = FatFile | { dest: string; sourcePath: string };

export interface FatWriteOptions {
  sizeBytes: number;
  fat: FatType;
  /** Upper case, at most 11 characters (mkfs.fat's rules). */
  label: string;
  /** 8 hex digits, as mkfs.fat's -i. */
  volumeId: string;
  /** Seconds since 1970 for every timestamp. */
  epoch: number;
  /** Byte offset of the volume inside `path` (a partition of a disk image); the file must already be large enough. */
  offset?: number;
  signal?: AbortSignal;
}

export interface FatWriteResult {
  geometry: FatGeometry;
  /** Bytes from the volume's start to the end of the last used cluster (the rest is free and zero). */
  usedBytes: number;
  freeClusters: number;
}

const CHUNK = 1 << 20;

/** DOS date and time of `epoch` in UTC, clamped to FAT's 1980-2107 range. */
export function dosDateTime(epoch: number): { date: number; time: number } {
  const d = new Date(Math.min(Math.max(epoch, 315532800), 4354819198) * 1000);
  return {
    date: ((d.getUTCFullYear() - 1980) << 9) | ((d.getUTCMonth() + 1) << 5) | d.getUTCDate(),
    time: (d.getUTCHours() << 11) | (d.getUTCMinutes() << 5) | Math.floor(d.getUTCSeconds() / 2),
  };
}

interface Node {
  name: string;
  dir: boolean;
  children: Map<string, Node>; // key: name upper-cased, to find case-insensitive clashes
  input?: FatInput;
  size: number;
  short?: string;
  lfn?: boolean;
  firstCluster: number;
  clusters: number;
}

function newNode(name: string, dir: boolean): Node {
  return { name, dir, children: new Map(), size: 0, firstCluster: 0, clusters: 0 };
}

const byCodeUnit = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
const sortedChildren = (n: Node) => [...n.children.values()].sort((a, b) => byCodeUnit(a.name, b.name));

async function buildTree(files: FatInput[]): Promise<Node> {
  const root = newNode('', true);
  for (const f of files) {
    const parts = f.dest.split('/').filter((p) => p !== '');
    if (parts.length === 0)
      throw new NexusError('FAT_BAD_NAME', `"${f.dest}" is not a file path for the FAT volume.`, 'Give each boot file a path such as EFI/BOOT/BOOTX64.EFI.');
    let dir = root;
    for (const [i, part] of parts.entries()) {
      checkLongName(part);
      const last = i === parts.length - 1;
      const key = part.toUpperCase();
      let next = dir.children.get(key);
      if (next && (last || !next.dir || next.name !== part))
        throw new NexusError(
          'FAT_DUPLICATE_NAME',
          `"${f.dest}" clashes with another boot file: FAT names ignore case, and "${part}" is used twice in one directory.`,
          'Give the files different names.',
        );
      if (!next) {
        next = newNode(part, !last);
        dir.children.set(key, next);
      }
      if (last) {
        next.input = f;
        next.size = 'data' in f ? f.data.length : (await stat(f.sourcePath)).size;
        if (next.size > 0xffffffff)
          throw new NexusError('FAT_FILE_TOO_LARGE', `${f.dest} is ${next.size} bytes; a FAT file holds at most 4 GiB - 1 byte.`, 'Split the file.');
      }
      dir = next;
    }
  }
  return root;
}

/** Directory slots: "." and "..", each child's LFN entries and short entry, the label in the root. */
function dirSlots(n: Node, isRoot: boolean, hasLabel: boolean): number {
  let slots = isRoot ? (hasLabel ? 1 : 0) : 2;
  const kids = sortedChildren(n);
  const shorts = assignShortNames(kids.map((k) => k.name));
  kids.forEach((k, i) => {
    k.short = shorts[i]!.short;
    k.lfn = shorts[i]!.lfn;
    slots += 1 + (k.lfn ? Math.ceil(k.name.length / 13) : 0);
  });
  return slots;
}

function shortEntry(short: string, attr: number, cluster: number, size: number, when: { date: number; time: number }): Buffer {
  const e = Buffer.alloc(32);
  e.write(short, 0, 'latin1');
  e[11] = attr;
  e.writeUInt16LE(when.time, 14);
  e.writeUInt16LE(when.date, 16);
  e.writeUInt16LE(when.date, 18);
  e.writeUInt16LE(cluster >>> 16, 20);
  e.writeUInt16LE(when.time, 22);
  e.writeUInt16LE(when.date, 24);
  e.writeUInt16LE(cluster & 0xffff, 26);
  e.writeUInt32LE(size, 28);
  return e;
}

function directoryBytes(n: Node, parent: Node | null, labelEntry: Buffer | null, bytes: number, when: { date: number; time: number }): Buffer {
  const buf = Buffer.alloc(bytes);
  let at = 0;
  const put = (e: Buffer) => {
    e.copy(buf, at);
    at += 32;
  };
  if (labelEntry) put(labelEntry);
  if (parent) {
    put(shortEntry('.          ', 0x10, n.firstCluster, 0, when));
    put(shortEntry('..         ', 0x10, parent.name === '' ? 0 : parent.firstCluster, 0, when)); // 0 means the root, also on FAT32
  }
  for (const k of sortedChildren(n)) {
    const s = shortEntry(k.short!, k.dir ? 0x10 : 0x20, k.firstCluster, k.dir ? 0 : k.size, when);
    if (k.lfn) for (const l of lfnEntries(k.name, shortNameChecksum(s.subarray(0, 11)))) put(l);
    put(s);
  }
  return buf;
}

function checkAborted(signal?: AbortSignal): void {
  if (signal?.aborted) throw new CancelledError();
}

/**
 * Makes the file system at `path` (created or replaced when no offset is given; written in place at `offset`
 * otherwise) holding `files`. Directories are implied by the paths.
 */
export async function writeFat(path: string, files: FatInput[], o: FatWriteOptions): Promise<FatWriteResult> {
  if (!/^[0-9a-f]{8}$/i.test(o.volumeId))
    throw new NexusError('FAT_BAD_VOLUME_ID', `"${o.volumeId}" is not a FAT volume id.`, 'Give 8 hexadecimal digits, e.g. 1A2B3C4D.');
  const label = checkLabel(o.label);
  const g = fatGeometry(o.sizeBytes, o.fat);
  const when = dosDateTime(o.epoch);
  const clusterBytes = g.sectorsPerCluster * SECTOR;
  const root = await buildTree(files);
  const hasLabel = label !== 'NO NAME    ';

  // Allocate: depth first, a directory's clusters before its entries', so everything is contiguous.
  let nextFree = 2;
  const allocate = (n: Node, bytes: number) => {
    n.clusters = Math.ceil(bytes / clusterBytes);
    n.firstCluster = n.clusters ? nextFree : 0;
    nextFree += n.clusters;
  };
  const dirBytes = new Map<Node, number>();
  const place = (n: Node, isRoot: boolean) => {
    const slots = dirSlots(n, isRoot, hasLabel);
    if (slots > 65536)
      throw new NexusError(
        'FAT_DIRECTORY_FULL',
        `A directory on the FAT volume would need ${slots} entries (at most 65536).`,
        'Put fewer files in one directory.',
      );
    if (isRoot && g.type === 'fat16') {
      if (slots > g.rootEntries)
        throw new NexusError(
          'FAT_DIRECTORY_FULL',
          `The FAT16 root directory holds ${g.rootEntries} entries; these files need ${slots} (long names take several).`,
          'Move files into a subdirectory or use FAT32.',
        );
      dirBytes.set(n, g.rootEntries * 32);
    } else {
      const bytes = Math.max(1, Math.ceil((slots * 32) / clusterBytes)) * clusterBytes;
      dirBytes.set(n, bytes);
      allocate(n, bytes);
    }
    for (const k of sortedChildren(n)) {
      if (k.dir) place(k, false);
      else allocate(k, k.size);
    }
  };
  place(root, true);
  const used = nextFree - 2;
  if (used > g.clusterCount) {
    const need = used * clusterBytes + g.dataStart * SECTOR;
    throw new NexusError(
      'FAT_VOLUME_FULL',
      `The files need ${(need / 1048576).toFixed(1)} MiB of FAT space (with ${clusterBytes}-byte clusters and the tables); the ${(o.sizeBytes / 1048576).toFixed(1)} MiB volume has ${((g.clusterCount * clusterBytes + g.dataStart * SECTOR) / 1048576).toFixed(1)} MiB.`,
      'Use a larger partition or fewer or smaller files.',
    );
  }

  // The FAT: reserved entries, then one contiguous chain per directory and file.
  const entryBytes = g.type === 'fat32' ? 4 : 2;
  const fat = Buffer.alloc(g.fatSectors * SECTOR);
  const setEntry = (c: number, v: number) => (entryBytes === 4 ? fat.writeUInt32LE(v >>> 0, c * 4) : fat.writeUInt16LE(v & 0xffff, c * 2));
  setEntry(0, g.type === 'fat32' ? 0x0ffffff8 : 0xfff8);
  setEntry(1, g.type === 'fat32' ? 0x0fffffff : 0xffff);
  const chain = (n: Node) => {
    for (let i = 0; i < n.clusters; i++) setEntry(n.firstCluster + i, i === n.clusters - 1 ? FAT_EOC : n.firstCluster + i + 1);
  };
  const walk = (n: Node) => {
    chain(n);
    for (const k of sortedChildren(n)) {
      if (k.dir) walk(k);
      else chain(k);
    }
  };
  walk(root);

  const base = o.offset ?? 0;
  const fh = await open(path, o.offset === undefined ? 'w' : 'r+');
  try {
    // The file is the partition's size; the volume itself may end a few sectors early (whole tracks, as mkfs.fat).
    if (o.offset === undefined) await fh.truncate(o.sizeBytes);
    else if ((await fh.stat()).size < base + g.sectors * SECTOR)
      throw new NexusError('INTERNAL', `${path} is smaller than the FAT volume that should be written at byte ${base}.`);
    const at = (sector: number) => base + sector * SECTOR;
    const write = async (buf: Uint8Array, pos: number) => {
      checkAborted(o.signal);
      await fh.write(buf, 0, buf.length, pos);
    };

    const reserved = Buffer.alloc(g.reservedSectors * SECTOR);
    const bs = bootSector(g, label, parseInt(o.volumeId, 16));
    bs.copy(reserved, 0);
    if (g.type === 'fat32') {
      const info = fsInfoSector(g.clusterCount - used, nextFree - 1);
      info.copy(reserved, SECTOR);
      bs.copy(reserved, 6 * SECTOR);
      info.copy(reserved, 7 * SECTOR);
    }
    await write(reserved, at(0));
    for (let i = 0; i < g.fatCount; i++) await write(fat, at(g.reservedSectors + i * g.fatSectors));

    const clusterPos = (c: number) => at(g.dataStart) + (c - 2) * clusterBytes;
    const labelEntry = hasLabel ? shortEntry(label, 0x08, 0, 0, when) : null;
    const writeTree = async (n: Node, parent: Node | null) => {
      const buf = directoryBytes(n, parent, parent ? null : labelEntry, dirBytes.get(n)!, when);
      await write(buf, parent || g.type === 'fat32' ? clusterPos(n.firstCluster) : at(g.reservedSectors + 2 * g.fatSectors));
      for (const k of sortedChildren(n)) {
        if (k.dir) await writeTree(k, n);
        else if (k.size) await writeFile(fh, k, clusterPos(k.firstCluster), clusterBytes, o.signal);
      }
    };
    await writeTree(root, null);
  } finally {
    await fh.close();
  }
  return { geometry: g, usedBytes: g.dataStart * SECTOR + used * clusterBytes, freeClusters: g.clusterCount - used };
}

/** A file's bytes at `pos`, then zeros to the end of its last cluster (the volume may be written over old data). */
async function writeFile(fh: FileHandle, n: Node, pos: number, clusterBytes: number, signal?: AbortSignal): Promise<void> {
  const input = n.input!;
  if ('data' in input) {
    for (let off = 0; off < input.data.length; off += 16 * CHUNK) {
      checkAborted(signal);
      const part = input.data.subarray(off, off + 16 * CHUNK);
      await fh.write(part, 0, part.length, pos + off);
    }
  } else {
    const src = await open(input.sourcePath, 'r');
    try {
      const buf = Buffer.alloc(CHUNK);
      let off = 0;
      for (;;) {
        checkAborted(signal);
        const { bytesRead } = await src.read(buf, 0, CHUNK, off);
        if (bytesRead === 0) break;
        if (off + bytesRead > n.size) break;
        await fh.write(buf, 0, bytesRead, pos + off);
        off += bytesRead;
      }
      if (off !== n.size)
        throw new NexusError(
          'FAT_SOURCE_CHANGED',
          `${input.sourcePath} changed size while it was copied to the FAT volume (${n.size} → ${off} bytes).`,
          'Build again.',
        );
    } finally {
      await src.close();
    }
  }
  const slack = (clusterBytes - (n.size % clusterBytes)) % clusterBytes;
  if (slack) await fh.write(Buffer.alloc(slack), 0, slack, pos + n.size);
}
