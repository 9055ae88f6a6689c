/**
 * The Drive model shared by the engine, the privileged helper, the CLI and the UI.
 * Everything the safety policy needs is here, so the policy can stay a pure function of it.
 */
import { z } from 'zod';

export const MountPoint = z.object({ path: z.string(), label: z.string().nullable() });
export type MountPoint = z.infer<typeof MountPoint>;

export const Drive = z.object({
  /** Device node, e.g. /dev/sdb, /dev/disk4, \\.\PhysicalDrive2 */
  device: z.string().min(1),
  /** Raw device node when the platform has one (macOS /dev/rdisk4), else the same as device. */
  raw: z.string().min(1),
  description: z.string(),
  /** Size in bytes; null when the OS could not tell (treated as unusable by the policy). */
  size: z.number().int().nonnegative().nullable(),
  /** Physical and logical block sizes in bytes. */
  blockSize: z.number().int().positive(),
  logicalBlockSize: z.number().int().positive(),
  bus: z.string(),
  removable: z.boolean(),
  usb: z.boolean(),
  card: z.boolean(),
  system: z.boolean(),
  readOnly: z.boolean(),
  virtual: z.boolean(),
  mountpoints: z.array(MountPoint),
  /** Where the entry came from: drivelist, or the explicit NEXUS_EXTRA_DRIVES test hook. */
  source: z.enum(['drivelist', 'extra']),
});
export type Drive = z.infer<typeof Drive>;

/** "SanDisk Ultra (31.9 GB)"-style label used by the CLI prompt and the UI. */
export function driveLabel(d: Drive): string {
  const size = d.size === null ? 'unknown size' : formatSize(d.size);
  return `${d.device} — ${d.description || 'unnamed drive'} (${size})`;
}

export function formatSize(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = bytes;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v >= 100 || i === 0 ? v.toFixed(0) : v.toFixed(1)} ${units[i]}`;
}

/** Stable identity for change detection in the hot-plug stream. */
export function drivesFingerprint(drives: readonly Drive[]): string {
  return JSON.stringify([...drives].sort((a, b) => a.device.localeCompare(b.device)));
}
