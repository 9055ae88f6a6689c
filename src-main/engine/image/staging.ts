/**
 * Writes a manifest to a directory for the filesystem tools that read trees (mkfs.erofs 1.5, mke2fs -d).
 * Ownership is applied when we run as root; otherwise the caller is told which entries need fixing.
 */
import { chmod, lchown, link, lutimes, mkdir, symlink, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { FsEntry, FsManifest } from '../rootfs/entries';
import { readEntry } from './content';
import { sortedEntries } from './manifest-ops';

export interface StagedTree {
  dir: string;
  /** Entries whose uid/gid the tree does not carry (not running as root). */
  ownershipNotApplied: FsEntry[];
}

export async function stageTree(manifest: FsManifest, dir: string, signal?: AbortSignal): Promise<StagedTree> {
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  const entries = sortedEntries(manifest);
  const ownershipNotApplied: FsEntry[] = [];
  await mkdir(dir, { recursive: true });
  for (const e of entries) {
    signal?.throwIfAborted();
    const p = join(dir, e.path);
    if (e.path === '/') continue;
    if (e.type === 'dir') await mkdir(p, { recursive: true });
    else if (e.type === 'symlink') await symlink(e.linkTarget ?? '', p);
    else if (e.type === 'hardlink') await link(join(dir, e.linkTarget ?? ''), p);
    else await writeFile(p, await readEntry(e));
    if (e.type !== 'symlink' && e.type !== 'hardlink') await chmod(p, e.mode & 0o7777);
    if (isRoot) await lchown(p, e.uid, e.gid);
    else if (e.uid !== 0 || e.gid !== 0) ownershipNotApplied.push(e);
  }
  // Timestamps last, deepest first, so writing children does not bump a directory's mtime again.
  for (const e of [...entries].reverse()) {
    const p = join(dir, e.path);
    if (e.type === 'symlink') await lutimes(p, e.mtime, e.mtime);
    else if (e.type !== 'hardlink') await utimes(p, e.mtime, e.mtime);
  }
  // setuid bits may be cleared by chown: apply modes again after ownership.
  if (isRoot) for (const e of entries) if (e.type === 'file' && e.mode & 0o6000) await chmod(join(dir, e.path), e.mode & 0o7777);
  return { dir, ownershipNotApplied };
}
