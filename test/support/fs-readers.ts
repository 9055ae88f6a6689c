/**
 * Readers of what the image tools write, for tests only (the production code writes these fields and never reads
 * them back): the F2FS superblock version strings and the FAT volume id, read straight from the bytes.
 */
import { open } from 'node:fs/promises';
import { F2FS_SB } from '../../src-main/engine/image/tools/f2fs';
import { volumeIdOffset } from '../../src-main/engine/image/tools/vfat';

function nulTerminated(b: Buffer): string {
  const end = b.indexOf(0);
  return b.toString('latin1', 0, end < 0 ? b.length : end);
}

export interface F2fsVersions {
  /** One per superblock copy. */
  version: string[];
  initVersion: string[];
}

export async function readF2fsVersions(path: string): Promise<F2fsVersions> {
  const fh = await open(path, 'r');
  try {
    const out: F2fsVersions = { version: [], initVersion: [] };
    for (const base of F2FS_SB.offsets) {
      const sb = Buffer.alloc(F2FS_SB.size);
      await fh.read(sb, 0, sb.length, base);
      if (sb.readUInt32LE(0) !== F2FS_SB.magic) throw new Error(`no F2FS superblock at byte ${base} of ${path}`);
      out.version.push(nulTerminated(sb.subarray(F2FS_SB.version, F2FS_SB.version + F2FS_SB.versionLen)));
      out.initVersion.push(nulTerminated(sb.subarray(F2FS_SB.initVersion, F2FS_SB.initVersion + F2FS_SB.versionLen)));
    }
    return out;
  } finally {
    await fh.close();
  }
}

/** The volume id as blkid and fsck.fat show it, without the dash ("A1B2C3D4" for "A1B2-C3D4"). */
export async function readFatVolumeId(path: string): Promise<string> {
  const fh = await open(path, 'r');
  try {
    const bs = Buffer.alloc(512);
    await fh.read(bs, 0, 512, 0);
    return bs.readUInt32LE(volumeIdOffset(bs)).toString(16).toUpperCase().padStart(8, '0');
  } finally {
    await fh.close();
  }
}
