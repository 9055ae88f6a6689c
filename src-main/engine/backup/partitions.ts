/**
 * The partition table at the start of a drive (GPT, else MBR), read from its first sectors: where each partition
 * lies, so the backup can ask each one's filesystem which blocks it uses. Anything unexpected returns null and the
 * whole drive is read.
 */

export interface Partition {
  index: number;
  /** Byte range [start, end) on the drive. */
  start: number;
  end: number;
  /** GPT type GUID (lower-case) or the MBR type as "0x83". */
  type: string;
  /** An MBR extended partition: its logical partitions are not parsed, so it is read whole. */
  extended: boolean;
}

export interface PartitionTable {
  kind: 'gpt' | 'mbr';
  sectorSize: number;
  partitions: Partition[];
  /** Byte ranges the table itself occupies (MBR, GPT header and entries, and the backup GPT at the end). */
  tableRegions: Array<{ start: number; end: number }>;
}

export type ReadAt = (position: number, length: number) => Promise<Buffer>;

function guid(b: Buffer): string {
  const hex = (x: Buffer) => x.toString('hex');
  const le = (x: Buffer) => hex(Buffer.from(x).reverse());
  return `${le(b.subarray(0, 4))}-${le(b.subarray(4, 6))}-${le(b.subarray(6, 8))}-${hex(b.subarray(8, 10))}-${hex(b.subarray(10, 16))}`;
}

async function readGpt(readAt: ReadAt, size: number, sectorSize: number): Promise<PartitionTable | null> {
  const header = await readAt(sectorSize, 92);
  if (header.toString('latin1', 0, 8) !== 'EFI PART') return null;
  const entriesLba = Number(header.readBigUInt64LE(0x48));
  const count = header.readUInt32LE(0x50);
  const entrySize = header.readUInt32LE(0x54);
  if (count === 0 || count > 1024 || entrySize < 128 || entrySize > 4096) return null;
  const entries = await readAt(entriesLba * sectorSize, count * entrySize);
  const partitions: Partition[] = [];
  for (let i = 0; i < count; i++) {
    const e = entries.subarray(i * entrySize, (i + 1) * entrySize);
    if (e.subarray(0, 16).every((x) => x === 0)) continue;
    const first = Number(e.readBigUInt64LE(0x20));
    const last = Number(e.readBigUInt64LE(0x28));
    const start = first * sectorSize;
    const end = (last + 1) * sectorSize;
    if (last < first || end > size) return null;
    partitions.push({ index: i + 1, start, end, type: guid(e.subarray(0, 16)), extended: false });
  }
  const entriesBytes = Math.ceil((count * entrySize) / sectorSize) * sectorSize;
  // The backup GPT (its entries, then its header) where the header says: the drive's last sectors, or the end of
  // the image that was written onto a larger drive.
  const alternate = Number(header.readBigUInt64LE(0x20)) * sectorSize;
  const backupEnd = alternate > 0 && alternate + sectorSize <= size ? alternate + sectorSize : size;
  return {
    kind: 'gpt',
    sectorSize,
    partitions,
    tableRegions: [
      { start: 0, end: entriesLba * sectorSize + entriesBytes },
      { start: Math.max(0, backupEnd - entriesBytes - sectorSize), end: backupEnd },
    ],
  };
}

function readMbr(sector: Buffer): PartitionTable | null {
  if (sector[510] !== 0x55 || sector[511] !== 0xaa) return null;
  const partitions: Partition[] = [];
  for (let i = 0; i < 4; i++) {
    const e = sector.subarray(446 + i * 16, 462 + i * 16);
    const type = e[4]!;
    const first = e.readUInt32LE(8);
    const count = e.readUInt32LE(12);
    if (type === 0 || count === 0) continue;
    if (e[0] !== 0 && e[0] !== 0x80) return null; // not a partition table (a FAT boot sector, say)
    partitions.push({
      index: i + 1,
      start: first * 512,
      end: (first + count) * 512,
      type: `0x${type.toString(16).padStart(2, '0')}`,
      extended: [0x05, 0x0f, 0x85].includes(type),
    });
  }
  return { kind: 'mbr', sectorSize: 512, partitions, tableRegions: [{ start: 0, end: 512 }] };
}

/** The drive's partition table, or null when it has none this code reads (then everything is read). */
export async function readPartitionTable(readAt: ReadAt, size: number): Promise<PartitionTable | null> {
  const mbr = await readAt(0, 512);
  const protective = mbr[510] === 0x55 && mbr[511] === 0xaa && [0, 1, 2, 3].some((i) => mbr[446 + i * 16 + 4] === 0xee);
  if (protective) {
    // 512-byte sectors first; 4Kn drives keep the GPT header at 4096.
    for (const sectorSize of [512, 4096]) {
      const gpt = await readGpt(readAt, size, sectorSize);
      if (gpt) return gpt;
    }
    return null;
  }
  const table = readMbr(mbr);
  if (!table || table.partitions.some((p) => p.end > size)) return null;
  return table;
}
