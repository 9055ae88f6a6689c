/**
 * The kit on the rescue stick itself: a copy of a built GPT image with one more partition, FAT32 labelled NEXUS-KIT
 * (readable on Windows, macOS and Linux), holding the kit file, its .sha256 and a README, so the stick carries what
 * it takes to rebuild itself on a computer without network. The image's own partitions are not touched: the disk
 * grows at the end, the GPT is rewritten by our own code (../image/partition-table.ts: the same entries plus one,
 * the backup table at the new end, the old backup's sectors zeroed), and the file system is written in place with
 * its files by our FAT writer (../image/fat/) — no loop device, no mount, no host program (sgdisk, sfdisk, mkfs.vfat
 * and mtools were used before), so it works wherever the app runs. Its partition GUID and volume id come from the
 * kit's checksum and its timestamps from the kit file's mtime, so the same kit on the same image gives the same
 * stick image, bit for bit.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { copyFile, open, readFile, rename, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { NexusError } from '../../../src-shared/errors';
import { errorMessage } from '../../../src-shared/narrow';
import { writeFat } from '../image/fat/writer';
import { parsePartitionTable, SECTOR, writeGpt, type ParsedTable } from '../image/partition-table';

const MiB = 1024 * 1024;
export const KIT_PARTITION_LABEL = 'NEXUS-KIT';
/** FAT32 below ~34 MiB is refused by firmware and mtools (docs: testing-on-these-machines, FAT32 gotcha). */
const MIN_FAT32_MIB = 40;
/** Microsoft basic data: the type every OS mounts a FAT partition from (sgdisk's 0700). */
const BASIC_DATA = 'EBD0A0A2-B9E5-4433-87C0-68B6B72699C7';
/** Partitions start on 1 MiB boundaries, as partitioning tools place them. */
const ALIGN_SECTORS = MiB / SECTOR;

export interface KitOnImage {
  image: string;
  sha256: string;
  checksumFile: string;
  size: number;
  partition: { index: number; startSector: number; sectors: number };
}

/** A version-4-shaped GUID from `seed` (the kit's checksum): the same kit gives the same partition GUID. */
function guidFrom(seed: Uint8Array): string {
  const b = createHash('sha256').update('nexus-kit-partition\0').update(seed).digest().subarray(0, 16);
  b.writeUInt8((b.readUInt8(6) & 0x0f) | 0x40, 6);
  b.writeUInt8((b.readUInt8(8) & 0x3f) | 0x80, 8);
  const h = b.toString('hex').toUpperCase();
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** The image's partition table, read from its first 34 sectors. */
async function readTable(path: string, image: string): Promise<ParsedTable> {
  const fh = await open(path, 'r');
  try {
    const head = Buffer.alloc(34 * SECTOR);
    await fh.read(head, 0, head.length, 0);
    return parsePartitionTable(head);
  } catch (err) {
    throw new NexusError('KIT_NEEDS_GPT', `${basename(image)} has no readable partition table (${errorMessage(err)}).`, 'Build the image again.');
  } finally {
    await fh.close();
  }
}

async function sha256File(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const c of createReadStream(path, { highWaterMark: 1 << 20 })) h.update(c as Buffer);
  return h.digest('hex');
}

const README = (kit: string) => `This stick carries a Nexus Imager offline kit: ${kit}
and its checksum file. On a computer without network, open Nexus Imager, choose "Offline kit",
import this file, and build the rescue stick again (or another choice the kit was made for).
Every package in it is verified again against Alpine's signing keys when it is imported.
`;

/** Writes `out`: `image` plus a NEXUS-KIT partition holding `kitFile` and `kitFile.sha256`. */
export async function imageWithKit(image: string, kitFile: string, out: string): Promise<KitOnImage> {
  const kitStat = await stat(kitFile).catch(() => {
    throw new NexusError('NOT_FOUND', `${kitFile} does not exist.`, 'Prepare the offline kit first.');
  });
  const kitSize = kitStat.size;
  const checksum = `${kitFile}.sha256`;
  const checksumSize = (
    await stat(checksum).catch(() => {
      throw new NexusError('NOT_FOUND', `${checksum} does not exist.`, 'Prepare the offline kit again: its .sha256 is written next to it.');
    })
  ).size;
  const partial = join(dirname(out), `.${basename(out)}.partial`);
  try {
    await copyFile(image, partial);
    const imageSize = (await stat(partial)).size;
    // Room for the files, FAT32's tables and clusters (a few %), rounded to MiB.
    const partMiB = Math.max(MIN_FAT32_MIB, Math.ceil(((kitSize + checksumSize + 64 * 1024) * 1.04) / MiB) + 2);
    const table = await readTable(partial, image);
    // Making a GPT of an MBR disk (the Raspberry Pi's) would hide its partitions from the boot ROM.
    if (table.kind !== 'gpt')
      throw new NexusError(
        'KIT_NEEDS_GPT',
        `${basename(image)} has an MBR (dos) partition table; the kit partition is added to GPT images only (PC, VisionFive 2, the VMs).`,
        'Carry the kit file on a separate stick for this board.',
      );
    const index = table.entries.length + 1;
    const lastEnd = table.entries.reduce((end, e) => Math.max(end, e.startLba + e.sizeLba), 0);
    const start = Math.ceil(Math.max(lastEnd, ALIGN_SECTORS) / ALIGN_SECTORS) * ALIGN_SECTORS;
    const sectors = partMiB * ALIGN_SECTORS;
    // The disk grows to hold the partition and the backup table behind it, on a whole MiB.
    const diskSectors = (Math.ceil(imageSize / MiB) + partMiB + 1) * ALIGN_SECTORS;
    await truncate(partial, diskSectors * SECTOR);
    const checksumText = await readFile(checksum);
    const gpt = writeGpt(diskSectors, table.diskGuid ?? guidFrom(checksumText), [
      ...table.entries,
      { startLba: start, sizeLba: sectors, type: BASIC_DATA, uuid: guidFrom(checksumText), name: KIT_PARTITION_LABEL },
    ]);
    const fh = await open(partial, 'r+');
    try {
      // The old backup table (the image's last 33 sectors) would otherwise stay behind in free space.
      const oldBackup = Math.floor(imageSize / SECTOR) - 33;
      if (oldBackup >= lastEnd) await fh.write(Buffer.alloc(33 * SECTOR), 0, 33 * SECTOR, oldBackup * SECTOR);
      await fh.write(gpt.primary, 0, gpt.primary.length, 0);
      await fh.write(gpt.backup, 0, gpt.backup.length, gpt.backupOffset);
    } finally {
      await fh.close();
    }
    const p = { start, size: sectors };
    const sector = SECTOR;
    await writeFat(
      partial,
      [
        { dest: basename(kitFile), sourcePath: kitFile },
        { dest: basename(checksum), data: checksumText },
        { dest: 'README.TXT', data: Buffer.from(README(basename(kitFile))) },
      ],
      {
        sizeBytes: p.size * sector,
        fat: 'fat32',
        label: KIT_PARTITION_LABEL,
        volumeId: createHash('sha256').update(checksumText).digest('hex').slice(0, 8),
        epoch: Math.floor(kitStat.mtimeMs / 1000),
        offset: p.start * sector,
      },
    );
    const sha256 = await sha256File(partial);
    await rename(partial, out);
    const checksumFile = `${out}.sha256`;
    await writeFile(checksumFile, `${sha256}  ${basename(out)}\n`);
    return { image: out, sha256, checksumFile, size: (await stat(out)).size, partition: { index, startSector: p.start, sectors: p.size } };
  } catch (err) {
    await rm(partial, { force: true });
    throw err;
  }
}
