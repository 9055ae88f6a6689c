/**
 * The drive safety policy: pure predicates over the Drive model. The unprivileged app uses them to hide
 * and grey out drives; the privileged helper runs the very same checks again before it opens anything.
 */
import type { Drive } from './drives';
import { formatSize } from './drives';

/** Drives above this size get a "is this really your SD card?" warning (not a refusal). */
export const LARGE_DRIVE_THRESHOLD = 128 * 1024 ** 3;

export type RefusalCode = 'SYSTEM_DRIVE' | 'DRIVE_BUSY' | 'SOURCE_DRIVE' | 'DRIVE_TOO_SMALL' | 'WRITE_PROTECTED' | 'UNKNOWN_SIZE' | 'DRIVE_NOT_FOUND';
export type WarningCode = 'LARGE_DRIVE' | 'VIRTUAL_DRIVE' | 'MOUNTED' | 'SYSTEM_DRIVE_OVERRIDE';

export interface PolicyIssue<C extends string> {
  code: C;
  message: string;
  hint?: string;
}

export interface SafetyContext {
  /** Exact number of bytes that will be written (image, bmap or decompressed size); null when unknown. */
  imageSize: number | null;
  /** Absolute paths that must not live on the target: the source image, the app itself. */
  protectedPaths: readonly string[];
  /** Every drive known, so mount points can be attributed to the drive that owns them. */
  allDrives: readonly Drive[];
  /** `--include-system` given. */
  includeSystem: boolean;
  /** Device names the user typed to confirm writing to a system drive. */
  confirmedSystemDevices: readonly string[];
  largeDriveThreshold?: number;
}

export interface TargetVerdict {
  device: string;
  allowed: boolean;
  refusals: PolicyIssue<RefusalCode>[];
  warnings: PolicyIssue<WarningCode>[];
}

export function isSystemDrive(d: Drive): boolean {
  return d.system;
}

/** System drives are hidden unless explicitly included. */
export function visibleDrives(drives: readonly Drive[], includeSystem: boolean): Drive[] {
  return drives.filter((d) => includeSystem || !isSystemDrive(d));
}

/** Block devices that are no card or stick: compressed RAM (zram), RAM disks, loops, network and mapper devices. */
const VIRTUAL_DEVICE = /^\/dev\/(zram|ram|loop|nbd|dm-|md)\d/;

/**
 * Virtual devices are hidden from a user looking for their card unless asked for ("show virtual drives"); the
 * ones added on purpose through the NEXUS_EXTRA_DRIVES developer hook stay visible.
 */
export function isHiddenVirtual(d: Drive): boolean {
  return d.source !== 'extra' && (d.virtual || VIRTUAL_DEVICE.test(d.device));
}

export function isWriteProtected(d: Drive): boolean {
  return d.readOnly;
}

/** True when the drive cannot hold `imageSize` bytes. Unknown image size never counts as too small. */
export function isTooSmall(d: Drive, imageSize: number | null): boolean {
  if (imageSize === null) return false;
  return d.size === null || d.size < imageSize;
}

export function isLarge(d: Drive, threshold = LARGE_DRIVE_THRESHOLD): boolean {
  return d.size !== null && d.size > threshold;
}

function normalizePath(p: string): string {
  let s = p.replace(/\\/g, '/');
  if (/^[a-z]:/i.test(s)) s = s.toLowerCase();
  if (s.length > 1 && s.endsWith('/')) s = s.replace(/\/+$/, '');
  return s || '/';
}

function isUnder(path: string, mount: string): boolean {
  if (mount === '/') return path.startsWith('/');
  return path === mount || path.startsWith(`${mount}/`);
}

/** The drive whose mount point is the longest prefix of `path` (the drive that stores it), if any. */
export function driveOwningPath(path: string, drives: readonly Drive[]): Drive | undefined {
  const p = normalizePath(path);
  let best: { drive: Drive; len: number } | undefined;
  for (const d of drives) {
    for (const m of d.mountpoints) {
      const mp = normalizePath(m.path);
      if (isUnder(p, mp) && (!best || mp.length > best.len)) best = { drive: d, len: mp.length };
    }
  }
  return best?.drive;
}

/** True when the source image or the app lives on this drive. */
export function holdsProtectedPath(d: Drive, paths: readonly string[], drives: readonly Drive[]): boolean {
  return paths.some((p) => driveOwningPath(p, drives)?.device === d.device);
}

/** Every rule at once, with messages a user can act on. */
export function checkTarget(d: Drive, ctx: SafetyContext): TargetVerdict {
  const refusals: PolicyIssue<RefusalCode>[] = [];
  const warnings: PolicyIssue<WarningCode>[] = [];
  if (isSystemDrive(d)) {
    if (!ctx.includeSystem) {
      refusals.push({
        code: 'SYSTEM_DRIVE',
        message: `${d.device} is a system drive (it holds the running system).`,
        hint: 'Pick a removable drive. Writing to a system drive needs --include-system and typing its device name.',
      });
    } else if (!ctx.confirmedSystemDevices.includes(d.device)) {
      refusals.push({
        code: 'SYSTEM_DRIVE',
        message: `${d.device} is a system drive and its name was not confirmed.`,
        hint: `Type "${d.device}" to confirm that you want to overwrite it.`,
      });
    } else {
      warnings.push({ code: 'SYSTEM_DRIVE_OVERRIDE', message: `${d.device} is a system drive; writing to it was explicitly confirmed.` });
    }
  }
  if (holdsProtectedPath(d, ctx.protectedPaths, ctx.allDrives)) {
    refusals.push({
      code: 'SOURCE_DRIVE',
      message: `${d.device} holds the source image or the application itself.`,
      hint: 'Copy the image to another drive first, or pick another target.',
    });
  }
  if (isWriteProtected(d)) {
    refusals.push({
      code: 'WRITE_PROTECTED',
      message: `${d.device} is write-protected (read-only).`,
      hint: 'Slide the lock switch on the SD card (or adapter) to unlocked, re-insert it and try again.',
    });
  }
  if (d.size === null || d.size === 0) {
    refusals.push({
      code: 'UNKNOWN_SIZE',
      message: `The size of ${d.device} is unknown, so it cannot be checked.`,
      hint: 'Re-insert the drive; if it persists the card reader may be faulty.',
    });
  } else if (isTooSmall(d, ctx.imageSize)) {
    refusals.push({
      code: 'DRIVE_TOO_SMALL',
      message: `${d.device} holds ${formatSize(d.size)} but the image needs ${formatSize(ctx.imageSize!)} (${ctx.imageSize} bytes).`,
      hint: 'Use a larger drive.',
    });
  }
  if (isLarge(d, ctx.largeDriveThreshold)) {
    warnings.push({ code: 'LARGE_DRIVE', message: `${d.device} is ${formatSize(d.size!)}: is this really your SD card or USB stick?` });
  }
  if (d.virtual) warnings.push({ code: 'VIRTUAL_DRIVE', message: `${d.device} is a virtual drive.` });
  if (d.mountpoints.length > 0)
    warnings.push({ code: 'MOUNTED', message: `${d.device} is mounted at ${d.mountpoints.map((m) => m.path).join(', ')}; it will be unmounted.` });
  return { device: d.device, allowed: refusals.length === 0, refusals, warnings };
}

/** Verdict for a requested device name, refusing names that are not a known drive. */
export function checkRequestedTarget(device: string, ctx: SafetyContext): TargetVerdict {
  const d = ctx.allDrives.find((x) => x.device === device || x.raw === device);
  if (!d) {
    return {
      device,
      allowed: false,
      warnings: [],
      refusals: [
        {
          code: 'DRIVE_NOT_FOUND',
          message: `${device} is not a drive that can be written.`,
          hint: 'Run `nexus drives` to list the drives; the drive may have been removed.',
        },
      ],
    };
  }
  return checkTarget(d, ctx);
}

/*
 * Files a write reads (issue 13): the image and its block map. The privileged helper reads them as root, so the
 * same pure rule runs in the app (flash.start, image.inspect) and again in the helper on what it is about to open.
 * Callers pass in what they observed (stat of the path with links followed, its real path): no Node here.
 */

/** Names of disk images a write accepts. */
export const IMAGE_FILE_NAME = /\.(img|iso|raw|bin)(\.(xz|gz|zst|bz2))?$|\.zip$/i;
/** A block map is bmaptool XML named *.bmap; real ones are a few KiB (one line per mapped range). */
export const BMAP_FILE_NAME = /\.bmap$/i;
export const MAX_BMAP_BYTES = 16 * 1024 * 1024;

export type SourceFileKind = 'image' | 'bmap';
export type SourceRefusalCode = 'NOT_AN_IMAGE' | 'IMAGE_NOT_FOUND' | 'NOT_A_BMAP' | 'BMAP_NOT_FOUND' | 'BMAP_TOO_LARGE' | 'SOURCE_NOT_READABLE';

/** What the caller saw of the path: null when it does not exist (or cannot be seen). */
export interface SourceObservation {
  /** Absolute path as given (normalised). */
  path: string;
  /** stat() of the path, links followed. */
  stat: { isFile: boolean; size: number } | null;
  /** The path with every link resolved (realpath), when it exists. */
  realPath: string | null;
}

const baseName = (p: string) => p.split(/[\\/]/).filter(Boolean).pop() ?? p;

/**
 * The problem with reading this path as a write's image or block map, or null. Both must be named as such (so a UI
 * cannot have /etc/shadow, a device or a link named disk.img pointing at either copied onto a drive), be regular
 * files, keep a matching name once links are followed; a block map must also be small enough to read into memory.
 * A missing file is reported as *_NOT_FOUND only when `mustExist`.
 */
export function sourceFileProblem(kind: SourceFileKind, o: SourceObservation, mustExist = true): PolicyIssue<SourceRefusalCode> | null {
  const image = kind === 'image';
  const pattern = image ? IMAGE_FILE_NAME : BMAP_FILE_NAME;
  const name = baseName(o.path);
  const notNamed = image ? 'NOT_AN_IMAGE' : 'NOT_A_BMAP';
  const what = image ? 'a disk image' : 'a block map';
  const choose = image
    ? 'Choose a .img, .iso, .raw, .xz, .gz, .zst or .zip file.'
    : 'Choose the .bmap file made for this image (bmaptool create, or the one Nexus wrote next to it).';
  if (!pattern.test(name)) return { code: notNamed, message: `${name} does not look like ${what}.`, hint: choose };
  const notFound = image ? 'IMAGE_NOT_FOUND' : 'BMAP_NOT_FOUND';
  if (!o.stat)
    return mustExist
      ? { code: notFound, message: `${o.path} is not a file.`, hint: 'Check the path; it is a path on the computer running Nexus Imager.' }
      : null;
  if (!o.stat.isFile)
    return { code: notFound, message: `${o.path} is not a regular file.`, hint: 'Check the path; it is a path on the computer running Nexus Imager.' };
  const real = o.realPath ?? o.path;
  if (!pattern.test(baseName(real)))
    return {
      code: notNamed,
      message: `${name} is a link to ${real}, which does not look like ${what}.`,
      hint: `${choose} Give the file itself, not a link to another file.`,
    };
  if (!image && o.stat.size > MAX_BMAP_BYTES) {
    return {
      code: 'BMAP_TOO_LARGE',
      message: `${name} is ${formatSize(o.stat.size)}; a block map is a few KiB (at most ${formatSize(MAX_BMAP_BYTES)} is read).`,
      hint: 'This is not a block map: choose the .bmap made for this image, or write without one.',
    };
  }
  return null;
}

/** Owner, group and mode of an opened file, and the user a privileged reader acts for. */
export interface ReadCheck {
  file: { uid: number; gid: number; mode: number };
  user: { uid: number; gids: readonly number[] };
}

/**
 * Whether `user` could read the file by its mode bits (root's bypass does not count): the helper runs as root and
 * must not copy onto a drive what the user who asked could not read (a root-only disk image, say).
 */
export function readableBy({ file, user }: ReadCheck): boolean {
  if (user.uid === 0) return true;
  if (file.uid === user.uid) return (file.mode & 0o400) !== 0;
  if (user.gids.includes(file.gid)) return (file.mode & 0o040) !== 0;
  return (file.mode & 0o004) !== 0;
}
