/**
 * Sets every directory entry's timestamps in a FAT image to SOURCE_DATE_EPOCH. mtools (4.0.32) stamps the
 * directories it creates with the clock, which would make two builds differ; walking the directory tree
 * ourselves is simpler than depending on a newer mtools.
 */
import { open } from 'node:fs/promises';

function dosDateTime(epoch: number): { date: number; time: number } {
  const d = new Date(Math.max(epoch, 315532800) * 1000); // FAT cannot store dates before 1980
  return {
    date: ((d.getUTCFullYear() - 1980) << 9) | ((d.getUTCMonth() + 1) << 5) | d.getUTCDate(),
    time: (d.getUTCHours() << 11) | (d.getUTCMinutes() << 5) | Math.floor(d.getUTCSeconds() / 2),
  };
}

export async function normalizeFatTimestamps(path: string, epoch: number): Promise<void> {
  const fh = await open(path, 'r+');
  try {
    const bs = Buffer.alloc(512);
    await fh.read(bs, 0, 512, 0);
    const bps = bs.readUInt16LE(11);
    const spc = bs[13]!;
    const reserved = bs.readUInt16LE(14);
    const fats = bs[16]!;
    const rootEntries = bs.readUInt16LE(17);
    const fat32 = bs.readUInt16LE(22) === 0;
    const fatSize = fat32 ? bs.readUInt32LE(36) : bs.readUInt16LE(22);
    const fat = Buffer.alloc(fatSize * bps);
    await fh.read(fat, 0, fat.length, reserved * bps);
    const rootDirBytes = Math.ceil((rootEntries * 32) / bps) * bps;
    const dataStart = (reserved + fats * fatSize) * bps + rootDirBytes;
    const clusterBytes = spc * bps;
    const next = (c: number) => (fat32 ? fat.readUInt32LE(c * 4) & 0x0fffffff : fat.readUInt16LE(c * 2));
    const isEnd = (c: number) => c < 2 || (fat32 ? c >= 0x0ffffff8 : c >= 0xfff8);
    const { date, time } = dosDateTime(epoch);

    // A directory is a list of byte ranges (a cluster chain, or the fixed FAT16 root region).
    const rangesOf = (cluster: number): Array<[number, number]> => {
      const out: Array<[number, number]> = [];
      for (let c = cluster, guard = 0; !isEnd(c) && guard < 1 << 20; c = next(c), guard++) out.push([dataStart + (c - 2) * clusterBytes, clusterBytes]);
      return out;
    };
    const walk = async (ranges: Array<[number, number]>) => {
      for (const [off, len] of ranges) {
        const buf = Buffer.alloc(len);
        await fh.read(buf, 0, len, off);
        const subdirs: number[] = [];
        for (let i = 0; i < len; i += 32) {
          const first = buf[i]!;
          if (first === 0) break;
          const attr = buf[i + 11]!;
          if (first === 0xe5 || attr === 0x0f || attr & 0x08) continue; // deleted, long-name part, volume label
          buf[i + 13] = 0;
          buf.writeUInt16LE(time, i + 14);
          buf.writeUInt16LE(date, i + 16);
          buf.writeUInt16LE(date, i + 18);
          buf.writeUInt16LE(time, i + 22);
          buf.writeUInt16LE(date, i + 24);
          const name = buf.toString('latin1', i, i + 11);
          const cluster = (fat32 ? buf.readUInt16LE(i + 20) << 16 : 0) | buf.readUInt16LE(i + 26);
          if (attr & 0x10 && name !== '.          ' && name !== '..         ' && cluster >= 2) subdirs.push(cluster);
        }
        await fh.write(buf, 0, len, off);
        for (const c of subdirs) await walk(rangesOf(c));
      }
    };
    await walk(fat32 ? rangesOf(bs.readUInt32LE(44)) : [[(reserved + fats * fatSize) * bps, rootDirBytes]]);
  } finally {
    await fh.close();
  }
}
