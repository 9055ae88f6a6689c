/**
 * Writes a manifest to a directory for the filesystem tools that read trees (mkfs.erofs 1.5, mke2fs -d).
 * Ownership is applied when we run as root; otherwise the caller is told which entries need fixing.
 *
 * Nothing here can write outside the staging directory, whatever the manifest holds (issue 13: packages
 * shipping "usr/sbin → /host/dir"). Node has no openat(), so instead of resolving every write relative to a
 * directory fd, staging makes sure there is never anything to follow:
 *
 * 1. The manifest is checked first (entries.ts treeProblems): every path absolute and normalised (no "..",
 *    ".", "//"), no entry below a symlink, file or hard link, every hard link to a regular file. A broken
 *    manifest fails here, before the first write.
 * 2. The tree goes into a directory that is new or empty, is a real directory (lstat, not a symlink), is
 *    ours, and is mode 0700 until the very end: no other host user can enter it to plant a link.
 * 3. Directories first, parents before children, each with a plain mkdir() (fails if anything exists) in a
 *    parent we created in this run (tracked by path), all 0700 for now.
 * 4. Regular files next, opened with O_CREAT|O_EXCL|O_NOFOLLOW (never an existing file, never a symlink),
 *    then ownership, mode and times set on the open descriptor (fchown before fchmod keeps setuid bits).
 * 5. Hard links to those files (link() does not follow a symlink at its source).
 * 6. Symlinks last, after every regular file and directory exists: until this step there is no symlink
 *    anywhere in the tree, so no path resolution of steps 3–5 can leave it; symlinks are never parents of
 *    anything we create (step 1), and their ownership and times are set with lchown/lutimes.
 * 7. Directory modes, owners and times last, deepest first and the root last, each through a descriptor
 *    opened with O_DIRECTORY|O_NOFOLLOW, so a read-only or world-writable directory (0555, 1777) never
 *    exists while we write.
 * Every parent component we pass is therefore a real directory this run created, and every final component
 * is created exclusively or opened without following links: the property openat(O_NOFOLLOW) gives, without
 * openat.
 */
import { constants } from 'node:fs';
import { chmod, lchown, link, lstat, lutimes, mkdir, open, readdir, symlink } from 'node:fs/promises';
import { dirname, posix } from 'node:path';
import { NexusError } from '../../../src-shared/errors';
import { treeProblems, type FsEntry, type FsManifest } from '../rootfs/entries';
import { readEntry } from './content';
import { sortedEntries } from './manifest-ops';

export interface StagedTree {
  dir: string;
  /** Entries whose uid/gid the tree does not carry (not running as root). */
  ownershipNotApplied: FsEntry[];
}

const O_NOFOLLOW = constants.O_NOFOLLOW ?? 0;
const O_DIRECTORY = constants.O_DIRECTORY ?? 0;
const NEW_FILE = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | O_NOFOLLOW;
const OPEN_DIR = constants.O_RDONLY | O_DIRECTORY | O_NOFOLLOW;

/** Creates `dir` (mode 0700) or checks that it is an empty real directory of ours, and locks it to 0700. */
async function freshRoot(dir: string): Promise<void> {
  await mkdir(dirname(dir), { recursive: true });
  try {
    await mkdir(dir, { mode: 0o700 });
    return;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  const st = await lstat(dir);
  const uid = typeof process.getuid === 'function' ? process.getuid() : st.uid;
  if (!st.isDirectory() || st.uid !== uid) {
    throw new NexusError(
      'STAGING_DIR_NOT_EMPTY',
      `Cannot stage the root filesystem in ${dir}: it is not a directory of this user (a symlink or another user's).`,
      'This is a bug in the image stage; please report it.',
    );
  }
  if ((await readdir(dir)).length) {
    throw new NexusError(
      'STAGING_DIR_NOT_EMPTY',
      `Cannot stage the root filesystem in ${dir}: the directory is not empty.`,
      'Staging needs a fresh directory (a leftover tree may hold symlinks); this is a bug in the image stage, please report it.',
    );
  }
  await chmod(dir, 0o700);
}

/** Wraps a system error with the image path it was about. */
async function at<T>(e: FsEntry, op: string, f: () => Promise<T>): Promise<T> {
  try {
    return await f();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (!code || err instanceof NexusError) throw err;
    throw new NexusError(
      'STAGING_FAILED',
      `Could not ${op} ${e.path} (from ${e.owner}) in the staging tree: ${code}.`,
      code === 'ENOSPC' ? 'Free space in the temporary directory and build again.' : 'This is a bug in the image stage; please report it with the build log.',
      { cause: err },
    );
  }
}

export async function stageTree(manifest: FsManifest, dir: string, signal?: AbortSignal): Promise<StagedTree> {
  const problems = treeProblems(manifest);
  if (problems.length) {
    throw new NexusError(
      'UNSAFE_PATH',
      `Refusing to stage the root filesystem: ${problems.join('; ')}.`,
      'Nothing was written. The root filesystem breaks the rules that keep it inside the image (an entry below a link, or a path outside it): remove the package named, or report the bug with the build log.',
    );
  }
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  const entries = sortedEntries(manifest);
  // Parents the manifest does not list are made root:root 0755, as ensureParents would.
  const implied = new Map<string, FsEntry>();
  for (const e of entries) {
    for (let d = posix.dirname(e.path); d !== '/' && !manifest.has(d) && !implied.has(d); d = posix.dirname(d)) {
      implied.set(d, { path: d, type: 'dir', mode: 0o755, uid: 0, gid: 0, mtime: e.mtime, size: 0, owner: 'nexus' });
    }
  }
  const dirs = [...entries.filter((e) => e.type === 'dir'), ...implied.values()].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const rootEntry = manifest.get('/') ?? { path: '/', type: 'dir', mode: 0o755, uid: 0, gid: 0, mtime: 0, size: 0, owner: 'nexus' };
  const ownershipNotApplied: FsEntry[] = [];
  const noteOwner = (e: FsEntry) => {
    if (!isRoot && (e.uid !== 0 || e.gid !== 0)) ownershipNotApplied.push(e);
  };

  await freshRoot(dir);
  // Manifest paths are normalised (checked above): plain concatenation, no join() normalisation.
  const host = (p: string) => (p === '/' ? dir : dir + p);
  const made = new Set<string>(['/']);
  const inMadeDir = (e: FsEntry) => {
    if (!made.has(posix.dirname(e.path)))
      throw new NexusError(
        'UNSAFE_PATH',
        `Refusing to stage ${e.path}: its parent is not a directory staging created.`,
        'This is a bug in the image stage; please report it.',
      );
    return host(e.path);
  };

  for (const e of dirs) {
    signal?.throwIfAborted();
    if (e.path === '/') continue;
    const p = inMadeDir(e);
    await at(e, 'create directory', () => mkdir(p, { mode: 0o700 }));
    made.add(e.path);
  }
  for (const e of entries) {
    if (e.type !== 'file') continue;
    signal?.throwIfAborted();
    const p = inMadeDir(e);
    const data = await readEntry(e);
    await at(e, 'write', async () => {
      const fh = await open(p, NEW_FILE, 0o600);
      try {
        await fh.writeFile(data);
        if (isRoot) await fh.chown(e.uid, e.gid);
        await fh.chmod(e.mode & 0o7777); // after chown, which clears setuid/setgid
        await fh.utimes(e.mtime, e.mtime);
      } finally {
        await fh.close();
      }
    });
    noteOwner(e);
  }
  for (const e of entries) {
    if (e.type !== 'hardlink') continue;
    signal?.throwIfAborted();
    const p = inMadeDir(e);
    await at(e, 'link', () => link(host(e.linkTarget!), p));
    noteOwner(e);
  }
  for (const e of entries) {
    if (e.type !== 'symlink') continue;
    signal?.throwIfAborted();
    const p = inMadeDir(e);
    await at(e, 'create symlink', async () => {
      await symlink(e.linkTarget ?? '', p);
      if (isRoot) await lchown(p, e.uid, e.gid);
      await lutimes(p, e.mtime, e.mtime);
    });
    noteOwner(e);
  }
  // Deepest first, the root last: writing children no longer changes a directory's mtime, and the tree
  // stays private (0700) until everything is in place.
  for (const e of [...dirs.filter((d) => d.path !== '/'), rootEntry].reverse()) {
    signal?.throwIfAborted();
    await at(e, 'set attributes of', async () => {
      const fh = await open(host(e.path), OPEN_DIR);
      try {
        if (isRoot) await fh.chown(e.uid, e.gid);
        await fh.chmod(e.mode & 0o7777);
        await fh.utimes(e.mtime, e.mtime);
      } finally {
        await fh.close();
      }
    });
    if (e.path !== '/' && !implied.has(e.path)) noteOwner(e);
  }
  return { dir, ownershipNotApplied };
}
