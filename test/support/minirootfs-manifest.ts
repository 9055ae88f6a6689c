/**
 * Alpine's real x86_64 minirootfs (shared testdata) as a FsManifest: owners, modes and link targets from its tar
 * headers (busybox and its applet symlinks, musl, /etc/shadow root:shadow 0640, hard links if any), content inline.
 * Every entry gets `mtime`, or with `keepTimes` its own time from the tar header (the root directory always `mtime`).
 */
import { readFile } from 'node:fs/promises';
import { gunzipSync } from 'node:zlib';
import { extract } from 'tar-stream';
import type { FsManifest } from '../../src-main/engine/rootfs/entries';
import { alpineTestdata } from './alpine-testdata';

export async function minirootfsManifest(mtime: number, { keepTimes = false } = {}): Promise<FsManifest> {
  const m: FsManifest = new Map();
  m.set('/', { path: '/', type: 'dir', mode: 0o755, uid: 0, gid: 0, mtime, size: 0, owner: 'alpine-baselayout' });
  const ex = extract();
  const done = new Promise<void>((resolve, reject) => {
    ex.on('entry', (h, stream, next) => {
      const chunks: Buffer[] = [];
      stream.on('data', (c: unknown) => chunks.push(c as Buffer));
      stream.on('end', () => {
        const path = '/' + h.name.replace(/^\.?\/?/, '').replace(/\/$/, '');
        const time = keepTimes ? Math.floor((h.mtime?.getTime() ?? 0) / 1000) : mtime;
        const base = { path, mode: (h.mode ?? 0) & 0o7777, uid: h.uid ?? 0, gid: h.gid ?? 0, mtime: time, owner: 'minirootfs' };
        if (path === '/') return next();
        if (h.type === 'directory') m.set(path, { ...base, type: 'dir', size: 0 });
        else if (h.type === 'symlink') m.set(path, { ...base, type: 'symlink', size: 0, linkTarget: h.linkname! });
        else if (h.type === 'link') m.set(path, { ...base, type: 'hardlink', size: 0, linkTarget: '/' + h.linkname!.replace(/^\.?\//, '') });
        else if (h.type === 'file') {
          const data = Buffer.concat(chunks);
          m.set(path, { ...base, type: 'file', size: data.length, content: { kind: 'inline', data } });
        }
        next();
      });
      stream.on('error', reject);
    });
    ex.on('finish', () => resolve());
    ex.on('error', reject);
  });
  ex.end(gunzipSync(await readFile(alpineTestdata('minirootfs', 'alpine-minirootfs-20240923-x86_64.tar.gz'))));
  await done;
  return m;
}
