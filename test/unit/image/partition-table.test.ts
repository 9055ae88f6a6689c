import { describe, expect, it } from 'vitest';
import { crc32 } from 'node:zlib';
import { bytesToGuid, guidToBytes, parsePartitionTable, SECTOR, writeGpt, writeMbr } from '../../../src-main/engine/image/partition-table';

const ESP = 'C12A7328-F81F-11D2-BA4B-00A0C93EC93B';
const ROOT = '4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709';

describe('GPT writer', () => {
  const sectors = 131072; // 64 MiB
  const g = writeGpt(sectors, '01234567-89AB-4CDE-8F01-23456789ABCD', [
    { startLba: 2048, sizeLba: 65536, type: ESP, uuid: '11111111-2222-4333-8444-555555555555', name: 'ESP' },
    { startLba: 67584, sizeLba: 4096, type: ROOT, uuid: '66666666-7777-4888-9999-AAAAAAAAAAAA', name: 'root', attributes: 4n },
  ]);

  it('stores GUIDs mixed-endian (the ESP type starts 28 73 2A C1 on disk)', () => {
    expect(guidToBytes(ESP).subarray(0, 4)).toEqual(Buffer.from([0x28, 0x73, 0x2a, 0xc1]));
    expect(bytesToGuid(guidToBytes(ROOT))).toBe(ROOT);
  });

  it('writes a protective MBR covering the disk', () => {
    const mbr = g.primary.subarray(0, SECTOR);
    expect(mbr.readUInt16LE(510)).toBe(0xaa55);
    expect(mbr[446 + 4]).toBe(0xee);
    expect(mbr.readUInt32LE(446 + 8)).toBe(1);
    expect(mbr.readUInt32LE(446 + 12)).toBe(sectors - 1);
  });

  it('round-trips entries and checks both CRCs', () => {
    const t = parsePartitionTable(g.primary);
    expect(t.kind).toBe('gpt');
    expect(t.diskGuid).toBe('01234567-89AB-4CDE-8F01-23456789ABCD');
    expect(t.entries.map((e) => [e.type, e.startLba, e.sizeLba, e.name, e.attributes])).toEqual([
      [ESP, 2048, 65536, 'ESP', 0n],
      [ROOT, 67584, 4096, 'root', 4n],
    ]);
    const bad = Buffer.from(g.primary);
    bad[2 * SECTOR + 100] = bad[2 * SECTOR + 100]! ^ 1;
    expect(() => parsePartitionTable(bad)).toThrow(/CRC/);
  });

  it('writes the backup header at the last LBA pointing back to the primary', () => {
    const h = g.backup.subarray(g.backup.length - SECTOR);
    expect(h.toString('latin1', 0, 8)).toBe('EFI PART');
    expect(Number(h.readBigUInt64LE(24))).toBe(sectors - 1);
    expect(Number(h.readBigUInt64LE(32))).toBe(1);
    expect(Number(h.readBigUInt64LE(72))).toBe(sectors - 33);
    expect(g.backupOffset + g.backup.length).toBe(sectors * SECTOR);
    const check = Buffer.from(h.subarray(0, 92));
    const crc = check.readUInt32LE(16);
    check.writeUInt32LE(0, 16);
    expect(crc32(check)).toBe(crc);
  });

  it('refuses partitions outside the usable area', () => {
    expect(() => writeGpt(sectors, '01234567-89AB-4CDE-8F01-23456789ABCD', [{ startLba: 10, sizeLba: 10, type: ESP }])).toThrow(/usable/);
  });
});

describe('MBR writer', () => {
  it('writes LBA entries, boot flag and disk id', () => {
    const mbr = writeMbr(0xdeadbeef, [{ startLba: 2048, sizeLba: 524288, type: '0c', bootable: true }]);
    const t = parsePartitionTable(Buffer.concat([mbr, Buffer.alloc(33 * SECTOR)]));
    expect(t).toEqual({ kind: 'mbr', entries: [{ type: '0c', startLba: 2048, sizeLba: 524288, bootable: true }] });
    expect(mbr.readUInt32LE(440)).toBe(0xdeadbeef);
    expect(() => writeMbr(1, new Array(5).fill({ startLba: 1, sizeLba: 1, type: '83' }))).toThrow(/4 primary/);
  });
});
