/**
 * FAT16/FAT32 geometry and boot sectors exactly as mkfs.fat 4.2 (dosfstools) makes them for an image file of the
 * same size: CHS hints, cluster size, reserved sectors (1 / 32), two FATs, structures aligned to the cluster size,
 * sector count rounded down to whole tracks, FSInfo in sector 1 and the backup boot sector (+ FSInfo) in 6/7 on
 * FAT32, mkfs.fat's "not a bootable disk" stub code and OEM name. The boot sector is byte-identical to
 * `mkfs.fat -F 16|32 -n LABEL -i VOLID` on a file (test/integration/image/fat-writer.test.ts compares them), so
 * firmware that already read the tool-made partitions reads ours. One deliberate difference: mkfs.fat picks the
 * FAT32 cluster size from the whole file's size even with --offset; we use the volume's own size.
 */
import { NexusError } from '../../../../src-shared/errors';

export const SECTOR = 512;
export type FatType = 'fat16' | 'fat32';

const MIN_CLUST_16 = 4087;
const MAX_CLUST_16 = 65524;
const MIN_CLUST_32 = 65525;
const MAX_CLUST_32 = 268435446;
/** mkfs.fat's end-of-chain value (FAT32; FAT16 uses its low 16 bits). */
export const FAT_EOC = 0x0ffffff8;

export interface FatGeometry {
  type: FatType;
  /** Sectors in the volume (the size rounded down to whole tracks, as mkfs.fat does). */
  sectors: number;
  sectorsPerCluster: number;
  reservedSectors: number;
  fatCount: 2;
  /** Sectors per FAT. */
  fatSectors: number;
  /** FAT16 root directory slots (0 on FAT32, whose root is a cluster chain starting at cluster 2). */
  rootEntries: number;
  clusterCount: number;
  heads: number;
  sectorsPerTrack: number;
  /** First data sector (cluster 2). */
  dataStart: number;
}

const cdiv = (a: number, b: number) => Math.floor((a + b - 1) / b);

export function fatGeometry(sizeBytes: number, type: FatType): FatGeometry {
  const total = Math.floor(sizeBytes / SECTOR);
  // establish_params(): the SD Card Association's CHS recommendation below 256 MiB, LBA-assist above.
  let heads: number;
  let sectorsPerTrack: number;
  if (total <= 524288) {
    heads = total <= 32768 ? 2 : total <= 65536 ? 4 : total <= 262144 ? 8 : 16;
    sectorsPerTrack = total <= 4096 ? 16 : 32;
  } else {
    heads = total <= 16 * 63 * 1024 ? 16 : total <= 32 * 63 * 1024 ? 32 : total <= 64 * 63 * 1024 ? 64 : total <= 128 * 63 * 1024 ? 128 : 255;
    sectorsPerTrack = 63;
  }
  let spc = 4;
  if (type === 'fat32')
    spc = total > 32 * 1024 * 1024 * 2 ? 64 : total > 16 * 1024 * 1024 * 2 ? 32 : total > 8 * 1024 * 1024 * 2 ? 16 : total > 260 * 1024 * 2 ? 8 : 1;
  let reserved = type === 'fat32' ? 32 : 1;
  let rootEntries = type === 'fat32' ? 0 : 512;
  // setup_tables(): whole tracks only, and no alignment on floppy-sized volumes.
  let sectors = Math.floor(total / sectorsPerTrack) * sectorsPerTrack;
  const align = sectors > 8192;
  const alignObject = (n: number, cs: number) => (align ? Math.ceil(n / cs) * cs : n);
  const rootDirSectors = cdiv(rootEntries * 32, SECTOR);
  let clusters = 0;
  let fatSectors = 0;
  for (; spc && spc <= 128; spc *= 2) {
    const fatdata32 = sectors - alignObject(reserved, spc);
    const fatdata1216 = fatdata32 - alignObject(rootDirSectors, spc);
    if (type === 'fat16') {
      let c = Math.floor((fatdata1216 * SECTOR + 2 * 4) / (spc * SECTOR + 2 * 2));
      const len = alignObject(cdiv((c + 2) * 2, SECTOR), spc);
      c = Math.floor((fatdata1216 - 2 * len) / spc);
      const max = Math.min((len * SECTOR) / 2, MAX_CLUST_16);
      if (c <= max && c >= MIN_CLUST_16) {
        clusters = c;
        fatSectors = len;
        break;
      }
    } else {
      let c = Math.floor((fatdata32 * SECTOR + 2 * 8) / (spc * SECTOR + 2 * 4));
      const len = alignObject(cdiv((c + 2) * 4, SECTOR), spc);
      c = Math.floor((fatdata32 - 2 * len) / spc);
      const max = Math.min((len * SECTOR) / 4, MAX_CLUST_32);
      // mkfs.fat -F 32 would go below 65525 clusters with a warning; such a volume is FAT16 by the spec's rule,
      // and firmware (and mtools) refuses it, so it is an error here.
      if (c > 0 && c <= max && c >= MIN_CLUST_32) {
        clusters = c;
        fatSectors = len;
        break;
      }
      if (c > 0 && c < MIN_CLUST_32) break;
    }
  }
  if (!clusters)
    throw new NexusError(
      'FAT_VOLUME_TOO_SMALL',
      `A ${type.toUpperCase()} volume of ${(sizeBytes / 1048576).toFixed(1)} MiB cannot be made: it would have too ${type === 'fat32' ? 'few' : 'few or too many'} clusters for ${type.toUpperCase()}.`,
      type === 'fat32'
        ? 'FAT32 needs at least about 33 MiB: use a larger partition (or FAT16 below that).'
        : 'FAT16 needs about 9 MiB to 4 GiB: use FAT32 for larger partitions.',
    );
  reserved = alignObject(reserved, spc);
  if (align && type === 'fat16') rootEntries = alignObject(rootDirSectors, spc) * (SECTOR >> 5);
  sectors = Math.min(sectors, 0xffffffff);
  return {
    type,
    sectors,
    sectorsPerCluster: spc,
    reservedSectors: reserved,
    fatCount: 2,
    fatSectors,
    rootEntries,
    clusterCount: clusters,
    heads,
    sectorsPerTrack,
    dataStart: reserved + 2 * fatSectors + cdiv(rootEntries * 32, SECTOR),
  };
}

/** mkfs.fat's boot code: prints a message, waits for a key, tries the next boot device. */
const BOOT_CODE = Buffer.concat([
  Buffer.from('0e1fbe5b7cac22c0740b56b40ebb0700cd105eebf032e4cd16cd19ebfe', 'hex'),
  Buffer.from('This is not a bootable disk.  Please insert a bootable floppy and\r\npress any key to try again ... \r\n', 'latin1'),
]);
const MESSAGE_OFFSET = 29;

/** Sector 0 (and, on FAT32, the backup in sector 6). */
export function bootSector(g: FatGeometry, label: string, volumeId: number): Buffer {
  const bs = Buffer.alloc(SECTOR);
  const fat32 = g.type === 'fat32';
  const codeAt = fat32 ? 0x5a : 0x3e;
  bs.set([0xeb, codeAt - 2, 0x90], 0);
  bs.write('mkfs.fat', 3, 'latin1');
  bs.writeUInt16LE(SECTOR, 11);
  bs[13] = g.sectorsPerCluster;
  bs.writeUInt16LE(g.reservedSectors, 14);
  bs[16] = g.fatCount;
  bs.writeUInt16LE(g.rootEntries, 17);
  bs.writeUInt16LE(g.sectors < 65536 ? g.sectors : 0, 19);
  bs[21] = 0xf8; // fixed disk
  bs.writeUInt16LE(fat32 ? 0 : g.fatSectors, 22);
  bs.writeUInt16LE(g.sectorsPerTrack, 24);
  bs.writeUInt16LE(g.heads, 26);
  bs.writeUInt32LE(0, 28); // hidden sectors: 0, as mkfs.fat writes for an image file
  bs.writeUInt32LE(g.sectors < 65536 ? 0 : g.sectors, 32);
  let vi = 0x24;
  if (fat32) {
    bs.writeUInt32LE(g.fatSectors, 36);
    bs.writeUInt32LE(2, 44); // root directory cluster
    bs.writeUInt16LE(1, 48); // FSInfo sector
    bs.writeUInt16LE(6, 50); // backup boot sector
    vi = 0x40;
  }
  bs[vi] = 0x80; // drive number (media 0xf8)
  bs[vi + 2] = 0x29; // extended boot signature: volume id, label and type follow
  bs.writeUInt32LE(volumeId >>> 0, vi + 3);
  bs.write(label.padEnd(11, ' '), vi + 7, 'latin1');
  bs.write(fat32 ? 'FAT32   ' : 'FAT16   ', vi + 18, 'latin1');
  const code = Buffer.from(BOOT_CODE);
  if (fat32) {
    const msg = codeAt + MESSAGE_OFFSET + 0x7c00;
    code.writeUInt16LE(msg, 3);
  }
  bs.set(code.subarray(0, Math.min(code.length, (fat32 ? 420 : 448) - 1)), codeAt);
  bs.writeUInt16LE(0xaa55, 510);
  return bs;
}

/** The FAT32 FSInfo sector with the real free count and the last allocated cluster as the search hint. */
export function fsInfoSector(freeClusters: number, nextCluster: number): Buffer {
  const s = Buffer.alloc(SECTOR);
  s.write('RRaA', 0, 'latin1');
  s.writeUInt32LE(0x61417272, 0x1e4);
  s.writeUInt32LE(freeClusters >>> 0, 0x1e8);
  s.writeUInt32LE(nextCluster >>> 0, 0x1ec);
  s.writeUInt16LE(0xaa55, 0x1fe);
  return s;
}
