/** Boot files named by a board as `package:NAME:/path`, looked up in the packages' files. */
import { posix } from 'node:path';
import { NexusError } from '../../../src-shared/errors';
import type { FsEntry, FsManifest } from '../rootfs/entries';

/** Bytes of a `package:NAME:/path` source (or every file below it, for a trailing "/"). */
export function packageFiles(packages: FsManifest, from: string, dest: string): Array<{ dest: string; entry: NonNullable<ReturnType<FsManifest['get']>> }> {
  const m = /^package:([^:]+):(\/.*)$/.exec(from);
  if (!m) throw new NexusError('BOOT_SOURCE_INVALID', `Unknown boot file source "${from}".`, 'Fix the board definition in profiles/boards/.');
  const [, pkg = '', path = ''] = m;
  if (path.endsWith('/')) {
    const found = [...packages.values()].filter((e) => e.type === 'file' && e.path.startsWith(path)).sort((a, b) => a.path.localeCompare(b.path));
    if (!found.length)
      throw new NexusError('BOOT_FILE_MISSING', `The package "${pkg}" has no files under ${path}.`, "Check the board's boot packages in the feed.");
    return found.map((entry) => ({ dest: dest.replace(/\/?$/, '/') + entry.path.slice(path.length), entry }));
  }
  const entry = packages.get(path) ?? dtbInOtherLayout(packages, pkg, path);
  if (!entry || entry.type !== 'file')
    throw new NexusError(
      'BOOT_FILE_MISSING',
      `The package "${pkg}" does not provide ${path}, which the board needs as ${dest}.`,
      `Check that the feed's ${pkg} package matches the board.`,
    );
  return [{ dest, entry }];
}

/**
 * Device trees live in two layouts in Alpine's kernels: `/boot/dtbs-<flavour>/<vendor>/<board>.dtb` (linux-lts,
 * linux-virt: `make dtbs_install`) and directly in `/boot/<board>.dtb` (linux-rpi). A board naming one layout still
 * finds the file the named package installed in the other one (same file name, same package).
 */
function dtbInOtherLayout(packages: FsManifest, pkg: string, path: string): FsEntry | undefined {
  if (!/^\/boot\/.*\.dtbo?$/.test(path)) return undefined;
  const base = posix.basename(path);
  const hits = [...packages.values()].filter((e) => e.type === 'file' && e.owner === pkg && e.path.startsWith('/boot/') && posix.basename(e.path) === base);
  return hits.length === 1 ? hits[0] : undefined;
}

/** The file a raw partition (SPL, U-Boot) is written from: the first one its `package:NAME:/path` source names. */
export function packageFile(packages: FsManifest, from: string, dest: string): FsEntry {
  const [first] = packageFiles(packages, from, dest);
  if (!first) throw new NexusError('BOOT_FILE_MISSING', `${from} names no file for ${dest}.`, 'Fix the board definition in profiles/boards/.');
  return first.entry;
}
