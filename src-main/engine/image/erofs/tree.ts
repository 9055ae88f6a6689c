/**
 * The manifest as the inode tree an EROFS image stores: one node per directory, regular file and symlink, hard
 * links as extra directory entries of their file's node. Ownership, modes and link targets come straight from the
 * manifest (no staging tree, so a build that is not root still writes the right owners). Every value the on-disk
 * format cannot hold, or that no kernel would accept, is refused here with the path that has it.
 */
import { posix } from 'node:path';
import { NexusError } from '../../../../src-shared/errors';
import { treeProblems, type FsEntry, type FsManifest } from '../../rootfs/entries';

export interface TreeNode {
  kind: 'dir' | 'file' | 'symlink';
  entry: FsEntry;
  parent?: TreeNode;
  /** Directory entries by name (directories only). */
  children?: Map<string, TreeNode>;
  nlink: number;
}

const NAME_MAX = 255;
/** Longest symlink target Linux resolves (PATH_MAX − 1). */
const TARGET_MAX = 4095;
const ID_MAX = 0xffffffff;

function bad(e: FsEntry, what: string): NexusError {
  return new NexusError(
    'EROFS_BAD_ENTRY',
    `Cannot put ${e.path} (from ${e.owner}) into the EROFS root: ${what}.`,
    'Nothing was written. Remove or fix the package or configuration that makes this entry, or report the bug with the build log.',
  );
}

function checkEntry(e: FsEntry): void {
  if (!['file', 'dir', 'symlink', 'hardlink'].includes(e.type)) throw bad(e, `its type "${String(e.type)}" is not a file, directory, symlink or hard link`);
  if (!Number.isInteger(e.mode) || e.mode < 0 || e.mode > 0o7777) throw bad(e, `its mode ${String(e.mode)} is not a permission value (0 to 07777)`);
  for (const [k, v] of [
    ['uid', e.uid],
    ['gid', e.gid],
  ] as const)
    if (!Number.isInteger(v) || v < 0 || v > ID_MAX) throw bad(e, `its ${k} ${String(v)} is not a 32-bit id`);
  const name = posix.basename(e.path);
  if (e.path !== '/' && Buffer.byteLength(name) > NAME_MAX) throw bad(e, `its name is ${Buffer.byteLength(name)} bytes long (EROFS allows ${NAME_MAX})`);
  if (e.type === 'symlink') {
    const n = Buffer.byteLength(e.linkTarget ?? '');
    if (!n) throw bad(e, 'it is a symlink without a target');
    if (n > TARGET_MAX || e.linkTarget!.includes('\0'))
      throw bad(e, `its symlink target is not a path Linux can follow (${n} bytes${e.linkTarget!.includes('\0') ? ', with a NUL byte' : ''})`);
  }
}

/** The tree of `manifest`, root first; directories the manifest implies but does not list are root:root 0755. */
export function buildTree(manifest: FsManifest): TreeNode {
  const problems = treeProblems(manifest);
  if (problems.length) {
    throw new NexusError(
      'UNSAFE_PATH',
      `Refusing to make the EROFS root: ${problems.join('; ')}.`,
      'Nothing was written. The root filesystem breaks the rules that keep it inside the image (an entry below a link, or a path outside it): remove the package named, or report the bug with the build log.',
    );
  }
  const rootEntry = manifest.get('/') ?? { path: '/', type: 'dir', mode: 0o755, uid: 0, gid: 0, mtime: 0, size: 0, owner: 'nexus' };
  if (rootEntry.type !== 'dir') throw bad(rootEntry, 'the root is not a directory');
  checkEntry(rootEntry);
  const root: TreeNode = { kind: 'dir', entry: rootEntry, children: new Map(), nlink: 2 };
  const dirs = new Map<string, TreeNode>([['/', root]]);

  const dirNode = (path: string): TreeNode => {
    const known = dirs.get(path);
    if (known) return known;
    const parent = dirNode(posix.dirname(path));
    const entry = manifest.get(path) ?? { path, type: 'dir', mode: 0o755, uid: 0, gid: 0, mtime: 0, size: 0, owner: 'nexus' };
    const node: TreeNode = { kind: 'dir', entry, parent, children: new Map(), nlink: 2 };
    parent.children!.set(posix.basename(path), node);
    parent.nlink++;
    dirs.set(path, node);
    return node;
  };

  const sorted = [...manifest.values()].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const files = new Map<string, TreeNode>();
  for (const e of sorted) {
    if (e.path === '/') continue;
    checkEntry(e);
    if (e.type === 'dir') dirNode(e.path);
    else if (e.type === 'file' || e.type === 'symlink') {
      const parent = dirNode(posix.dirname(e.path));
      const node: TreeNode = { kind: e.type, entry: e, parent, nlink: 1 };
      parent.children!.set(posix.basename(e.path), node);
      if (e.type === 'file') files.set(e.path, node);
    }
  }
  // Hard links last: their targets (regular files, checked by treeProblems) all have nodes now.
  for (const e of sorted) {
    if (e.type !== 'hardlink') continue;
    const target = files.get(e.linkTarget!)!;
    target.nlink++;
    dirNode(posix.dirname(e.path)).children!.set(posix.basename(e.path), target);
  }
  return root;
}

/** Nodes in image order: depth first, each directory's entries by name bytes, every node once. */
export function inodeOrder(root: TreeNode): TreeNode[] {
  const out: TreeNode[] = [];
  const seen = new Set<TreeNode>();
  const visit = (n: TreeNode) => {
    if (seen.has(n)) return;
    seen.add(n);
    out.push(n);
    if (n.children) for (const [, c] of sortedChildren(n)) visit(c);
  };
  visit(root);
  return out;
}

export function sortedChildren(n: TreeNode): Array<[Buffer, TreeNode]> {
  return [...n.children!].map(([name, c]) => [Buffer.from(name, 'utf8'), c] as [Buffer, TreeNode]).sort((a, b) => Buffer.compare(a[0], b[0]));
}
