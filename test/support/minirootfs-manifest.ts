/**
 * Alpine's real x86_64 minirootfs (shared testdata) as a FsManifest: owners, modes and link targets from its tar
 * headers (busybox and its applet symlinks, musl, /etc/shadow root:shadow 0640, hard links if any), content inline.
 * Every entry gets `mtime`, or with `keepTimes` its own time from the tar header (the root directory always `mtime`).
 */
import type { FsManifest } from '../../src-main/engine/rootfs/entries';
import { alpineTestdata } from './alpine-testdata';
import { tarEntries } from './tar-entries';

export async function minirootfsManifest(mtime: number, { keepTimes = false } = {}): Promise<FsManifest> {
  const m: FsManifest = new Map();
  m.set('/', { path: '/', type: 'dir', mode: 0o755, uid: 0, gid: 0, mtime, size: 0, owner: 'alpine-baselayout' });
  for (const h of await tarEntries(alpineTestdata('minirootfs', 'alpine-minirootfs-20240923-x86_64.tar.gz'))) {
    const path = '/' + h.name.replace(/^\.?\/?/, '').replace(/\/$/, '');
    if (path === '/') continue;
    const base = { path, mode: h.mode & 0o7777, uid: h.uid, gid: h.gid, mtime: keepTimes ? h.mtime : mtime, owner: 'minirootfs' };
    if (h.type === 'directory') m.set(path, { ...base, type: 'dir', size: 0 });
    else if (h.type === 'symlink' && h.linkname !== undefined) m.set(path, { ...base, type: 'symlink', size: 0, linkTarget: h.linkname });
    else if (h.type === 'link' && h.linkname !== undefined)
      m.set(path, { ...base, type: 'hardlink', size: 0, linkTarget: '/' + h.linkname.replace(/^\.?\//, '') });
    else if (h.type === 'file') m.set(path, { ...base, type: 'file', size: h.data.length, content: { kind: 'inline', data: h.data } });
  }
  return m;
}
