/**
 * mkfs.f2fs for the empty F2FS state partition: since issue 17 only a cross-check. The build writes the partition
 * itself (../f2fs/empty-f2fs.ts), byte-identical to what `makeF2fs` makes; the tests compare the two.
 */
import { open, truncate, writeFile } from 'node:fs/promises';
import { runTool } from './run';

/**
 * What the superblocks' `version` and `init_version` fields say instead of the build host's kernel.
 *
 * mkfs.f2fs (f2fs-tools 1.15, `f2fs_prepare_super_block`) copies the first line of the build host's
 * `/proc/version` ("Linux version 6.1.0-… (builder@host) (gcc …) #1 SMP …", or `uname -r` where /proc is missing)
 * into both fields of both superblocks, and has no option or environment variable to choose another value. That
 * made the state partition differ between build machines and told every image who built it. The Linux f2fs
 * driver does not use the fields; fsck.f2fs only compares `version` with the kernel it runs under (and then
 * checks the whole filesystem and writes its own kernel there), which no value written at build time could
 * predict. So they hold a fixed, obviously-not-a-kernel name. Changing it changes the partition's bytes: bump
 * the `state-f2fs` cache key in image/stages/make-filesystems.ts with it.
 */
export const F2FS_VERSION_STRING = 'nexus-imager';

/** Superblock layout (`struct f2fs_super_block`, include/f2fs_fs.h): two copies, at 1 KiB into blocks 0 and 1. */
export const F2FS_SB = {
  offsets: [1024, 4096 + 1024],
  size: 3072,
  magic: 0xf2f52010,
  checksumOffset: 32,
  version: 1668,
  initVersion: 1924,
  versionLen: 256,
  /** Newer fsck.f2fs (1.16+) keeps its last-check time in the last 4 bytes of `version` (VERSION_NAME_LEN = 252). */
  versionNameLen: 252,
  feature: 2180,
  featureSbChecksum: 0x0800,
} as const;

export async function makeF2fs(out: string, sizeBytes: number, o: { uuid: string; label: string; epoch: number; signal?: AbortSignal }): Promise<void> {
  await writeFile(out, '');
  await truncate(out, sizeBytes);
  // -r: fixed checkpoint seed, -T: fixed timestamps, -U: fixed UUID, -R: root owns / (the default is the uid
  // running mkfs): the same plan gives the same bytes.
  await runTool('mkfs.f2fs', ['-q', '-f', '-l', o.label, '-U', o.uuid, '-r', '-T', String(o.epoch), '-R', '0:0', out], 'making the F2FS state partition', {
    signal: o.signal,
  });
  // ...and the same bytes on every build host: replace the host kernel string mkfs.f2fs wrote.
  await setF2fsVersion(out, F2FS_VERSION_STRING);
}

/** F2FS's superblock CRC (`f2fs_cal_crc32`): reflected CRC-32 (0xEDB88320), seeded with the magic, no final xor. */
export function f2fsCrc32(seed: number, data: Uint8Array): number {
  let crc = seed >>> 0;
  for (const byte of data) {
    crc ^= byte;
    for (let i = 0; i < 8; i++) crc = (crc >>> 1) ^ (crc & 1 ? 0xedb88320 : 0);
  }
  return crc >>> 0;
}

/**
 * Sets `version` and `init_version` of both superblocks (NUL-padded to 256 bytes, as mkfs.f2fs leaves them: fsck's
 * timestamp tail stays 0, "never checked") and, where the `sb_checksum` feature is on, recomputes each
 * superblock's CRC at its `checksum_offset`.
 */
export async function setF2fsVersion(path: string, value: string): Promise<void> {
  const bytes = Buffer.from(value, 'latin1');
  if (bytes.length >= F2FS_SB.versionNameLen || /[^\x20-\x7e]/.test(value)) throw new Error(`invalid F2FS version string "${value}"`);
  const field = Buffer.alloc(F2FS_SB.versionLen);
  bytes.copy(field);
  const fh = await open(path, 'r+');
  try {
    for (const base of F2FS_SB.offsets) {
      const sb = Buffer.alloc(F2FS_SB.size);
      await fh.read(sb, 0, sb.length, base);
      if (sb.readUInt32LE(0) !== F2FS_SB.magic) throw new Error(`no F2FS superblock at byte ${base} of ${path}`);
      field.copy(sb, F2FS_SB.version);
      field.copy(sb, F2FS_SB.initVersion);
      if (sb.readUInt32LE(F2FS_SB.feature) & F2FS_SB.featureSbChecksum) {
        const at = sb.readUInt32LE(F2FS_SB.checksumOffset);
        if (at < F2FS_SB.initVersion + F2FS_SB.versionLen || at + 4 > F2FS_SB.size)
          throw new Error(`F2FS superblock checksum offset ${at} is outside the superblock`);
        sb.writeUInt32LE(f2fsCrc32(F2FS_SB.magic, sb.subarray(0, at)), at);
      }
      await fh.write(sb, 0, sb.length, base);
    }
  } finally {
    await fh.close();
  }
}
