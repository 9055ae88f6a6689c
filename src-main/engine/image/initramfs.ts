/**
 * The initramfs (cpio newc, gzip): either the whole root filesystem (tinybox runs from RAM like a rescue
 * system: no root partition, nothing written back), or a small early userspace that opens the verity root
 * (cryptobox): the shell, veritysetup with the libraries it links, the modules to load and /init.
 */
import { posix } from 'node:path';
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import { NexusError } from '../../../src-shared/errors';
import type { ComposePlan } from '../../../src-shared/plan';
import type { FsEntry, FsManifest } from '../rootfs/entries';
import { diskInit } from './config/scripts';
import { readEntry } from './content';
import { writeCpio, type CpioEntry } from './cpio';
import { readElfDeps } from './elf';
import { ensureParents, resolveInManifest, sortedEntries } from './manifest-ops';

/** Device nodes the kernel needs before /init can mount devtmpfs (it opens /dev/console for init's stdio). */
const EARLY_DEVICES: CpioEntry[] = [
  { path: '/dev', type: 'dir', mode: 0o755 },
  { path: '/dev/console', type: 'char', mode: 0o600, rdevMajor: 5, rdevMinor: 1 },
  { path: '/dev/null', type: 'char', mode: 0o666, rdevMajor: 1, rdevMinor: 3 },
];

async function toCpioEntries(manifest: FsManifest): Promise<CpioEntry[]> {
  const out: CpioEntry[] = [];
  const hasDev = manifest.has('/dev/console');
  for (const e of sortedEntries(manifest)) {
    if (e.path === '/') continue;
    const base = { path: e.path, mode: e.mode, uid: e.uid, gid: e.gid, mtime: e.mtime };
    if (e.type === 'dir') out.push({ ...base, type: 'dir' });
    else if (e.type === 'symlink') out.push({ ...base, type: 'symlink', linkTarget: e.linkTarget ?? '' });
    else {
      // Hard links are stored as copies: simpler, and an initramfs has few of them.
      const src = e.type === 'hardlink' ? manifest.get(e.linkTarget ?? '') : e;
      if (!src)
        throw new NexusError(
          'ROOTFS_BAD_LINK',
          `${e.path} links to ${e.linkTarget}, which is not in the root filesystem.`,
          'Report the package that ships it.',
        );
      out.push({ ...base, type: 'file', data: await readEntry(src) });
    }
    if (e.path === '/dev' && !hasDev) out.push(...EARLY_DEVICES.slice(1).map((d) => ({ ...d, mtime: e.mtime })));
  }
  if (!manifest.has('/dev')) out.unshift(...EARLY_DEVICES);
  return out;
}

// zlib's callback API compresses on libuv's thread pool: the main thread (the Electron app's UI process) stays free
// for the ~1.4 s a tinybox initramfs takes (gzipSync blocked it for all of that; see the image bench).
const gzipAsync = promisify(gzip);

export async function packInitramfs(manifest: FsManifest): Promise<Buffer> {
  // Level 6: within 2% of level 9 on an initramfs, at a third of the time (hostname-only rebuilds repack it).
  return gzipAsync(writeCpio(await toCpioEntries(manifest)), { level: 6 });
}

const INITRAMFS_APPLETS = ['sh', 'mount', 'mkdir', 'sed', 'grep', 'sleep', 'cat', 'insmod', 'switch_root', 'poweroff', 'head', 'echo', 'od', 'tr'];
const LIB_DIRS = ['/lib', '/usr/lib', '/lib64', '/usr/lib64'];

/** Copies an entry and everything it needs (symlink targets, ELF interpreter and libraries) from root to out. */
async function copyWithDeps(root: FsManifest, out: FsManifest, path: string, triplets: string[]): Promise<void> {
  if (out.has(path)) return;
  const entry = root.get(path);
  if (!entry)
    throw new NexusError(
      'INITRAMFS_MISSING_FILE',
      `The initramfs needs ${path}, but no installed package provides it.`,
      "Check the Box's packages (cryptsetup provides veritysetup).",
    );
  if (entry.type === 'symlink') {
    out.set(path, entry);
    const target = entry.linkTarget!.startsWith('/') ? entry.linkTarget! : posix.join(posix.dirname(path), entry.linkTarget!);
    const resolved = resolveInManifest(root, target);
    if (resolved) await copyWithDeps(root, out, resolved.path, triplets);
    return;
  }
  const real = entry.type === 'hardlink' ? (root.get(entry.linkTarget ?? '') ?? entry) : entry;
  out.set(path, { ...real, path, type: 'file' });
  const deps = readElfDeps(await readEntry(real));
  if (!deps) return;
  const wanted = [...(deps.interp ? [deps.interp] : [])];
  for (const lib of deps.needed) {
    const dirs = [...LIB_DIRS, ...triplets.flatMap((t) => [`/lib/${t}`, `/usr/lib/${t}`])];
    const hit = dirs.map((d) => `${d}/${lib}`).find((p) => resolveInManifest(root, p));
    if (!hit)
      throw new NexusError(
        'INITRAMFS_MISSING_LIBRARY',
        `${path} needs ${lib}, which no installed package provides.`,
        'The feed is incomplete for this architecture.',
      );
    wanted.push(hit);
  }
  for (const w of wanted) await copyWithDeps(root, out, w, triplets);
}

/** The early userspace for a disk root (verity EROFS or ext4). */
export async function buildDiskInitramfs(rootfs: FsManifest, plan: ComposePlan, moduleFiles: string[], epoch: number): Promise<FsManifest> {
  const out: FsManifest = new Map();
  const triplets = [...new Set([...rootfs.keys()].map((p) => /^\/(?:usr\/)?lib\/([a-z0-9_]+-linux-[a-z]+)\//.exec(p)?.[1]).filter((x): x is string => !!x))];
  const multicall = ['/bin/busybox', '/bin/busybox.static', '/bin/toybox', '/usr/bin/toybox'].find((p) => rootfs.get(p)?.type === 'file');
  if (!multicall) throw new NexusError('INITRAMFS_NO_SHELL', 'No toybox or busybox binary in the root filesystem for the initramfs.', 'Add toybox to the Box.');
  await copyWithDeps(rootfs, out, multicall, triplets);
  const link = (p: string, target: string): FsEntry => ({
    path: p,
    type: 'symlink',
    mode: 0o777,
    uid: 0,
    gid: 0,
    mtime: epoch,
    size: 0,
    linkTarget: target,
    owner: 'nexus',
  });
  for (const a of INITRAMFS_APPLETS) {
    const p = ['insmod', 'switch_root', 'poweroff'].includes(a) ? `/sbin/${a}` : `/bin/${a}`;
    out.set(p, link(p, multicall));
  }
  const needsVerity = !!plan.filesystems.root.verity;
  if (needsVerity) {
    const verity = ['/sbin/veritysetup', '/usr/sbin/veritysetup', '/usr/bin/veritysetup'].find((p) => rootfs.has(p));
    if (!verity)
      throw new NexusError(
        'INITRAMFS_NO_VERITYSETUP',
        'veritysetup is not in the root filesystem, so the initramfs cannot open the verity root.',
        'Add cryptsetup to the Box.',
      );
    await copyWithDeps(rootfs, out, verity, triplets);
  }
  for (const m of moduleFiles) await copyWithDeps(rootfs, out, m, triplets);
  const enc = new TextEncoder();
  const add = (p: string, text: string, mode: number) => {
    const data = enc.encode(text);
    out.set(p, { path: p, type: 'file', mode, uid: 0, gid: 0, mtime: epoch, size: data.length, content: { kind: 'inline', data }, owner: 'nexus' });
  };
  add('/lib/modules/nexus-load-order', moduleFiles.map((m) => m + '\n').join(''), 0o644);
  add(
    '/init',
    diskInit({ verity: needsVerity, stateMountpoint: plan.filesystems.overlay?.mountpoint ?? null, persist: plan.filesystems.overlay?.persist ?? [] }),
    0o755,
  );
  for (const d of ['/proc', '/sys', '/run', '/tmp', '/sysroot', '/etc'])
    out.set(d, { path: d, type: 'dir', mode: 0o755, uid: 0, gid: 0, mtime: epoch, size: 0, owner: 'nexus' });
  ensureParents(out, epoch);
  return out;
}
