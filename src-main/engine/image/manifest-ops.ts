/** Small operations on the root filesystem manifest shared by the configure and initramfs stages. */
import { createHash } from 'node:crypto';
import { posix } from 'node:path';
import { NexusError } from '../../../src-shared/errors';
import { isNormalImagePath, nonDirAncestor, type FsEntry, type FsManifest } from '../rootfs/entries';
import type { GeneratedEntry } from './config/types';

function refuse(path: string, why: string, hint: string): NexusError {
  return new NexusError('UNSAFE_PATH', `Nexus cannot generate ${path}: ${why}.`, hint);
}

/**
 * Adds a file, directory or symlink the configure stage generates. Never through a link: the path must be
 * normalised, no parent may be a symlink (a package's "usr/libexec → /host/dir" would otherwise carry our
 * files out of the image) or a file, and a directory a package made is never replaced by a file or a link.
 */
export function addGenerated(manifest: FsManifest, g: GeneratedEntry, mtime: number): void {
  if (!isNormalImagePath(g.path) || g.path === '/') {
    throw refuse(
      JSON.stringify(g.path),
      'it is not an absolute, normalised path inside the image (no "..", "." or empty segments)',
      'Fix the path in the Box, fragment or plan: write it as an absolute path such as /etc/motd or /vault.',
    );
  }
  const parent = nonDirAncestor(manifest, g.path);
  if (parent) {
    const what =
      parent.type === 'symlink'
        ? `a symlink (→ ${parent.linkTarget ?? ''}) installed by package ${parent.owner}`
        : `a ${parent.type === 'hardlink' ? 'hard link' : 'file'} installed by ${parent.owner === 'nexus' ? 'Nexus' : `package ${parent.owner}`}`;
    throw refuse(
      g.path,
      `${parent.path} is ${what}; Nexus never writes through a package's symlink`,
      parent.owner === 'nexus'
        ? "Two generated paths collide; check the Box's files and mount points."
        : `Remove ${parent.owner} from the Box or report it to the repository maintainers: a package that replaces ${parent.path} with a link is malformed or hostile.`,
    );
  }
  const data = g.content === undefined ? undefined : typeof g.content === 'string' ? new TextEncoder().encode(g.content) : g.content;
  const e: FsEntry = {
    path: g.path,
    type: g.type,
    mode: g.mode,
    uid: g.uid,
    gid: g.gid,
    mtime,
    size: data?.length ?? 0,
    owner: 'nexus',
    ...(data ? { content: { kind: 'inline' as const, data } } : {}),
    ...(g.linkTarget !== undefined ? { linkTarget: g.linkTarget } : {}),
  };
  const prev = manifest.get(g.path);
  // Generated directories keep a package's ownership/mode if the package already made them.
  if (prev && prev.type === 'dir' && g.type === 'dir') return;
  if (prev && prev.type === 'dir') {
    throw refuse(
      g.path,
      `${prev.owner === 'nexus' ? 'Nexus generates' : `package ${prev.owner} installs`} a directory there, and a directory is never replaced by a ${g.type}`,
      prev.owner === 'nexus'
        ? "Two generated paths collide; check the Box's files and mount points."
        : `Choose another path in the Box, or remove ${prev.owner} from it.`,
    );
  }
  manifest.set(g.path, e);
}

/** Adds missing parent directories (root:root 0755) so every tool sees a complete tree. */
export function ensureParents(manifest: FsManifest, mtime: number): void {
  for (const p of [...manifest.keys()]) {
    let d = posix.dirname(p);
    while (d !== '/' && !manifest.has(d)) {
      manifest.set(d, { path: d, type: 'dir', mode: 0o755, uid: 0, gid: 0, mtime, size: 0, owner: 'nexus' });
      d = posix.dirname(d);
    }
  }
  if (!manifest.has('/')) manifest.set('/', { path: '/', type: 'dir', mode: 0o755, uid: 0, gid: 0, mtime, size: 0, owner: 'nexus' });
}

/** Entries sorted so that parents come first (byte order of paths). */
export function sortedEntries(manifest: FsManifest): FsEntry[] {
  return [...manifest.values()].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/** Content identity of a manifest: keys the caches of every stage built from it. */
export function manifestHash(manifest: FsManifest): string {
  const h = createHash('sha256');
  for (const e of sortedEntries(manifest)) {
    const c = e.content;
    const ref = !c ? '' : c.kind === 'blob' ? c.sha256 : c.kind === 'inline' ? createHash('sha256').update(c.data).digest('hex') : `file:${c.path}`;
    h.update(`${e.path}\0${e.type}\0${e.mode}\0${e.uid}\0${e.gid}\0${e.mtime}\0${e.size}\0${e.linkTarget ?? ''}\0${ref}\n`);
  }
  return h.digest('hex');
}

/** Follows symlinks inside the manifest (absolute or relative), at most 16 hops. */
export function resolveInManifest(manifest: FsManifest, path: string): FsEntry | undefined {
  let p = path;
  for (let i = 0; i < 16; i++) {
    // resolve symlinked parent directories too
    const parts = p.split('/').filter(Boolean);
    let cur = '';
    let changed = false;
    for (let j = 0; j < parts.length; j++) {
      cur = `${cur}/${parts[j]}`;
      const e = manifest.get(cur);
      if (e?.type === 'symlink' && e.linkTarget !== undefined) {
        const target = e.linkTarget.startsWith('/') ? e.linkTarget : posix.join(posix.dirname(cur), e.linkTarget);
        p = posix.normalize(posix.join(target, ...parts.slice(j + 1)));
        changed = true;
        break;
      }
      if (e?.type === 'hardlink' && e.linkTarget && j === parts.length - 1) return manifest.get(e.linkTarget);
    }
    if (!changed) return manifest.get(p);
  }
  return undefined;
}
