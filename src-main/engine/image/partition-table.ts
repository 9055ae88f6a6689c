/**
 * GPT (UEFI 2.x §5.3: protective MBR, primary header + 128 entries at LBA 1-33, backup at the end of the disk)
 * and classic MBR partition tables, written and parsed in TypeScript. Sector size is 512 bytes.
 */
import { crc32 } from 'node:zlib';

export const SECTOR = 512;
const ENTRY_SIZE = 128;
const ENTRY_COUNT = 128;
const ENTRY_SECTORS = (ENTRY_SIZE * ENTRY_COUNT) / SECTOR; // 32

export interface TableEntry {
  startLba: number;
  sizeLba: number;
  /** GPT type GUID, or an MBR type as two hex digits ("0c"). */
  type: string;
  /** GPT unique partition GUID (ignored for MBR). */
  uuid?: string;
  name?: string;
  /** GPT attribute bits: bit 2 = legacy BIOS bootable (U-Boot's extlinux scan looks for it). */
  attributes?: bigint;
  /** MBR boot flag. */
  bootable?: boolean;
}

/** GUID string → the mixed-endian 16 bytes GPT stores. */
export function guidToBytes(guid: string): Buffer {
  const hex = guid.replace(/-/g, '');
  if (!/^[0-9a-fA-F]{32}$/.test(hex)) throw new Error(`not a GUID: ${guid}`);
  const b = Buffer.from(hex, 'hex');
  const out = Buffer.alloc(16);
  out.writeUInt32LE(b.readUInt32BE(0), 0);
  out.writeUInt16LE(b.readUInt16BE(4), 4);
  out.writeUInt16LE(b.readUInt16BE(6), 6);
  b.copy(out, 8, 8, 16);
  return out;
}

export function bytesToGuid(b: Buffer): string {
  const h = Buffer.alloc(16);
  h.writeUInt32BE(b.readUInt32LE(0), 0);
  h.writeUInt16BE(b.readUInt16LE(4), 4);
  h.writeUInt16BE(b.readUInt16LE(6), 6);
  b.copy(h, 8, 8, 16);
  const s = h.toString('hex').toUpperCase();
  return `${s.slice(0, 8)}-${s.slice(8, 12)}-${s.slice(12, 16)}-${s.slice(16, 20)}-${s.slice(20)}`;
}

function mbrEntry(buf: Buffer, slot: number, e: { bootable?: boolean; type: number; startLba: number; sizeLba: number }) {
  const o = 446 + slot * 16;
  buf[o] = e.bootable ? 0x80 : 0;
  // CHS fields unused (LBA-only): the conventional "beyond 1024 cylinders" values.
  buf.writeUIntBE(0xfeffff, o + 1, 3);
  buf[o + 4] = e.type;
  buf.writeUIntBE(0xfeffff, o + 5, 3);
  buf.writeUInt32LE(Math.min(e.startLba, 0xffffffff), o + 8);
  buf.writeUInt32LE(Math.min(e.sizeLba, 0xffffffff), o + 12);
}

/** First usable LBA / last usable LBA of a GPT disk with 128 entries. */
export function gptUsable(diskSectors: number): { first: number; last: number } {
  return { first: 2 + ENTRY_SECTORS, last: diskSectors - 2 - ENTRY_SECTORS };
}

export interface GptImage {
  /** Sectors 0..33: protective MBR, primary header, entries. */
  primary: Buffer;
  /** The last 33 sectors: entries, then the backup header. */
  backup: Buffer;
  backupOffset: number;
}

export function writeGpt(diskSectors: number, diskGuid: string, entries: TableEntry[]): GptImage {
  if (entries.length > ENTRY_COUNT) throw new Error('too many partitions');
  const { first, last } = gptUsable(diskSectors);
  const array = Buffer.alloc(ENTRY_SIZE * ENTRY_COUNT);
  entries.forEach((e, i) => {
    if (e.startLba < first || e.startLba + e.sizeLba - 1 > last) throw new Error(`partition ${i + 1} outside the usable area`);
    const o = i * ENTRY_SIZE;
    guidToBytes(e.type).copy(array, o);
    guidToBytes(e.uuid ?? '00000000-0000-0000-0000-000000000000').copy(array, o + 16);
    array.writeBigUInt64LE(BigInt(e.startLba), o + 32);
    array.writeBigUInt64LE(BigInt(e.startLba + e.sizeLba - 1), o + 40);
    array.writeBigUInt64LE(e.attributes ?? 0n, o + 48);
    const name = Buffer.from((e.name ?? '').slice(0, 36), 'utf16le');
    name.copy(array, o + 56);
  });
  const arrayCrc = crc32(array);
  const header = (current: number, backup: number, entriesLba: number) => {
    const h = Buffer.alloc(SECTOR);
    h.write('EFI PART', 0, 'latin1');
    h.writeUInt32LE(0x00010000, 8);
    h.writeUInt32LE(92, 12);
    h.writeBigUInt64LE(BigInt(current), 24);
    h.writeBigUInt64LE(BigInt(backup), 32);
    h.writeBigUInt64LE(BigInt(first), 40);
    h.writeBigUInt64LE(BigInt(last), 48);
    guidToBytes(diskGuid).copy(h, 56);
    h.writeBigUInt64LE(BigInt(entriesLba), 72);
    h.writeUInt32LE(ENTRY_COUNT, 80);
    h.writeUInt32LE(ENTRY_SIZE, 84);
    h.writeUInt32LE(arrayCrc, 88);
    h.writeUInt32LE(crc32(h.subarray(0, 92)), 16);
    return h;
  };
  const mbr = Buffer.alloc(SECTOR);
  mbrEntry(mbr, 0, { type: 0xee, startLba: 1, sizeLba: Math.min(diskSectors - 1, 0xffffffff) });
  mbr.writeUInt16LE(0xaa55, 510);
  // Protective MBR CHS start is 0/0/2 per the UEFI spec.
  mbr.writeUIntBE(0x000200, 447, 3);
  const lastLba = diskSectors - 1;
  const primary = Buffer.concat([mbr, header(1, lastLba, 2), array]);
  const backup = Buffer.concat([array, header(lastLba, 1, lastLba - ENTRY_SECTORS)]);
  return { primary, backup, backupOffset: (lastLba - ENTRY_SECTORS) * SECTOR };
}

export function writeMbr(diskId: number, entries: TableEntry[]): Buffer {
  if (entries.length > 4) throw new Error('an MBR holds at most 4 primary partitions');
  const mbr = Buffer.alloc(SECTOR);
  mbr.writeUInt32LE(diskId >>> 0, 440);
  entries.forEach((e, i) => mbrEntry(mbr, i, { bootable: e.bootable, type: parseInt(e.type, 16), startLba: e.startLba, sizeLba: e.sizeLba }));
  mbr.writeUInt16LE(0xaa55, 510);
  return mbr;
}

export interface ParsedTable {
  kind: 'gpt' | 'mbr';
  diskGuid?: string;
  entries: Array<Required<Pick<TableEntry, 'startLba' | 'sizeLba' | 'type'>> & { uuid?: string; name?: string; attributes?: bigint; bootable?: boolean }>;
}

/** Parses the table from the first 34 sectors (and checks the GPT CRCs). Used by tests and `nexus vm`. */
export function parsePartitionTable(head: Buffer): ParsedTable {
  if (head.readUInt16LE(510) !== 0xaa55) throw new Error('no MBR signature');
  if (head[446 + 4] === 0xee && head.length >= 34 * SECTOR && head.toString('latin1', SECTOR, SECTOR + 8) === 'EFI PART') {
    const h = head.subarray(SECTOR, 2 * SECTOR);
    const size = h.readUInt32LE(12);
    const check = Buffer.from(h.subarray(0, size));
    const crc = check.readUInt32LE(16);
    check.writeUInt32LE(0, 16);
    if (crc32(check) !== crc) throw new Error('GPT header CRC mismatch');
    const entriesLba = Number(h.readBigUInt64LE(72));
    const n = h.readUInt32LE(80);
    const es = h.readUInt32LE(84);
    const array = head.subarray(entriesLba * SECTOR, entriesLba * SECTOR + n * es);
    if (crc32(array) !== h.readUInt32LE(88)) throw new Error('GPT entry array CRC mismatch');
    const entries: ParsedTable['entries'] = [];
    for (let i = 0; i < n; i++) {
      const e = array.subarray(i * es, (i + 1) * es);
      if (e.subarray(0, 16).every((x) => x === 0)) continue;
      const start = Number(e.readBigUInt64LE(32));
      entries.push({
        type: bytesToGuid(e.subarray(0, 16)),
        uuid: bytesToGuid(e.subarray(16, 32)),
        startLba: start,
        sizeLba: Number(e.readBigUInt64LE(40)) - start + 1,
        attributes: e.readBigUInt64LE(48),
        name: e.subarray(56, 128).toString('utf16le').replace(/\0.*$/s, ''),
      });
    }
    return { kind: 'gpt', diskGuid: bytesToGuid(h.subarray(56, 72)), entries };
  }
  const entries: ParsedTable['entries'] = [];
  for (let i = 0; i < 4; i++) {
    const o = 446 + i * 16;
    if (head[o + 4] === 0) continue;
    entries.push({
      type: head[o + 4]!.toString(16).padStart(2, '0'),
      startLba: head.readUInt32LE(o + 8),
      sizeLba: head.readUInt32LE(o + 12),
      bootable: head[o] === 0x80,
    });
  }
  return { kind: 'mbr', entries };
}
