/** Backing a drive up to an image: request, progress and result, shared by the engine, the CLI and the UI. */
import { z } from 'zod';

/** How the used blocks of one region were found: a filesystem's own free-space map, or none (every block read). */
export const RegionMethod = z.enum(['partition-table', 'ext4-bitmap', 'fat-table', 'erofs-size', 'all-blocks', 'unpartitioned']);
export type RegionMethod = z.infer<typeof RegionMethod>;

export const BackupRegion = z.object({
  /** Byte range [start, end) on the drive. */
  start: z.number().nonnegative(),
  end: z.number().nonnegative(),
  /** "p1 ext4 root", "GPT header", "free space"… */
  label: z.string(),
  method: RegionMethod,
  /** Bytes of this region that are read and kept. */
  usedBytes: z.number().nonnegative(),
});
export type BackupRegion = z.infer<typeof BackupRegion>;

export const BackupPhase = z.enum(['scanning', 'reading', 'verifying', 'done']);
export type BackupPhase = z.infer<typeof BackupPhase>;

export const BackupProgress = z.object({
  phase: BackupPhase,
  bytesDone: z.number().nonnegative(),
  bytesTotal: z.number().nonnegative(),
  /** Bytes per second since the phase started. */
  speed: z.number().nonnegative(),
  etaSeconds: z.number().nonnegative().nullable(),
});
export type BackupProgress = z.infer<typeof BackupProgress>;

export const BackupResult = z.object({
  device: z.string(),
  image: z.string(),
  bmap: z.string(),
  /** The drive's size: the image's decompressed size. */
  imageSize: z.number().nonnegative(),
  /** Bytes read from the drive (the mapped blocks). */
  mappedBytes: z.number().nonnegative(),
  /** Bytes of the .img.zst file. */
  compressedSize: z.number().nonnegative(),
  regions: z.array(BackupRegion),
  /** The written file was decompressed again and every mapped range matched what was read. */
  verified: z.boolean(),
  seconds: z.number().nonnegative(),
});
export type BackupResult = z.infer<typeof BackupResult>;
