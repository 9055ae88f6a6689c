/**
 * The kit on the rescue stick itself: a copy of a built GPT image with one more partition, FAT32 labelled NEXUS-KIT
 * (readable on Windows, macOS and Linux), holding the kit file, its .sha256 and a README, so the stick carries what
 * it takes to rebuild itself on a computer without network. The image's own partitions are not touched: the disk
 * grows at the end, the backup GPT moves to the new end (sgdisk -e), the partition is appended (sgdisk -n), and the
 * file system is written in place with its files by our FAT writer (../image/fat/) — no loop device, no mount, no
 * mkfs.vfat or mtools. Its volume id comes from the kit's checksum and its timestamps from the kit file's mtime, so
 * the same kit on the same image gives the same stick image.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { copyFile, readFile, rename, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { NexusError } from '../../../src-shared/errors';
import { writeFat } from '../image/fat/writer';
import { runTool } from '../image/tools/run';

const MiB = 1024 * 1024;
export const KIT_PARTITION_LABEL = 'NEXUS-KIT';
/** FAT32 below ~34 MiB is refused by firmware and mtools (docs: testing-on-these-machines, FAT32 gotcha). */
const MIN_FAT32_MIB = 40;

export interface KitOnImage {
  image: string;
  sha256: string;
  checksumFile: string;
  size: number;
  partition: { index: number; startSector: number; sectors: number };
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
    const before = JSON.parse(await runTool('sfdisk', ['--json', partial], 'reading the partition table')) as {
      partitiontable: { label?: string; partitions?: unknown[] };
    };
    // sgdisk would turn an MBR disk (the Raspberry Pi's) into GPT, which its boot ROM cannot read.
    if (before.partitiontable.label !== 'gpt')
      throw new NexusError(
        'KIT_NEEDS_GPT',
        `${basename(image)} has an ${before.partitiontable.label ?? 'unknown'} partition table; the kit partition is added to GPT images only (PC, VisionFive 2, the VMs).`,
        'Carry the kit file on a separate stick for this board.',
      );
    const index = (before.partitiontable.partitions?.length ?? 0) + 1;
    await truncate(partial, Math.ceil(imageSize / MiB) * MiB + (partMiB + 1) * MiB);
    await runTool('sgdisk', ['-e', partial], 'moving the backup partition table to the end of the grown image');
    await runTool(
      'sgdisk',
      ['-n', `${index}:0:+${partMiB}M`, '-t', `${index}:0700`, '-c', `${index}:${KIT_PARTITION_LABEL}`, partial],
      'adding the NEXUS-KIT partition',
    );
    const after = JSON.parse(await runTool('sfdisk', ['--json', partial], 'reading the partition table')) as {
      partitiontable: { sectorsize?: number; partitions: Array<{ start: number; size: number; name?: string }> };
    };
    const p = after.partitiontable.partitions[index - 1];
    if (!p || p.name !== KIT_PARTITION_LABEL) throw new NexusError('INTERNAL', `The ${KIT_PARTITION_LABEL} partition was not created as partition ${index}.`);
    const sector = after.partitiontable.sectorsize ?? 512;
    const checksumText = await readFile(checksum);
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
