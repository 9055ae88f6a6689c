// The files a write reads (issue 13): the shared rule (src-shared/safety.ts) applied by the app to the image and its
// block map, and again by the privileged helper (privileged/source-check.ts), which then reads the checked inode
// through a no-follow open (flash/source.ts `pinned`), so a file swapped in after the check is never read as root.
import { execa } from 'execa';
import { chown, chmod, mkdtemp, mkdir, rename, rm, symlink, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_BMAP_BYTES, readableBy, sourceFileProblem } from '../../../src-shared/safety';
import { loadBmap } from '../../../src-main/engine/flash/flash';
import { openSource } from '../../../src-main/engine/flash/source';
import { bmapXml } from '../../../src-main/engine/image/bmap';
import { pinSources } from '../../../src-main/privileged/source-check';

let dir: string;
const user = { uid: 4242, gids: [4242] };
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'nexus-source-check-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('the source rule (pure, shared by the app and the helper)', () => {
  const obs = (path: string, stat: { isFile: boolean; size: number } | null, realPath: string | null = path) => ({ path, stat, realPath });
  it('images and block maps by name, regular files, names kept through links, block maps bounded', () => {
    expect(sourceFileProblem('image', obs('/home/u/disk.img.xz', { isFile: true, size: 1 }))).toBeNull();
    expect(sourceFileProblem('image', obs('/etc/shadow', { isFile: true, size: 1 }))?.code).toBe('NOT_AN_IMAGE');
    expect(sourceFileProblem('image', obs('/home/u/x.img', { isFile: false, size: 0 }))?.code).toBe('IMAGE_NOT_FOUND');
    expect(sourceFileProblem('image', obs('/home/u/x.img', { isFile: true, size: 1 }, '/etc/shadow'))?.code).toBe('NOT_AN_IMAGE');
    expect(sourceFileProblem('image', obs('/home/u/x.img', null), false)).toBeNull();
    expect(sourceFileProblem('bmap', obs('C:\\Users\\u\\x.bmap', { isFile: true, size: 4096 }))).toBeNull();
    expect(sourceFileProblem('bmap', obs('/home/u/x.bmap', null))?.code).toBe('BMAP_NOT_FOUND');
    expect(sourceFileProblem('bmap', obs('/etc/shadow', { isFile: true, size: 10 }))?.code).toBe('NOT_A_BMAP');
    expect(sourceFileProblem('bmap', obs('/home/u/x.bmap', { isFile: true, size: 10 }, '/root/.ssh/id_ed25519'))?.code).toBe('NOT_A_BMAP');
    const big = sourceFileProblem('bmap', obs('/home/u/x.bmap', { isFile: true, size: MAX_BMAP_BYTES + 1 }));
    expect(big).toMatchObject({ code: 'BMAP_TOO_LARGE', hint: expect.any(String) });
  });

  it('readable by the invoking user by the mode bits alone (owner, then group, then others)', () => {
    const file = (uid: number, gid: number, mode: number) => ({ uid, gid, mode });
    expect(readableBy({ file: file(4242, 0, 0o400), user })).toBe(true);
    expect(readableBy({ file: file(4242, 4242, 0o044), user })).toBe(false); // owner bits decide for the owner
    expect(readableBy({ file: file(0, 4242, 0o640), user })).toBe(true);
    expect(readableBy({ file: file(0, 0, 0o600), user })).toBe(false); // a root-only image
    expect(readableBy({ file: file(0, 0, 0o644), user })).toBe(true);
    expect(readableBy({ file: file(0, 0, 0o600), user: { uid: 0, gids: [] } })).toBe(true);
  });
});

describe('the privileged helper re-checks and pins what it reads', () => {
  it('pins a readable image and its bmap; the write reads exactly that inode', async () => {
    const img = join(dir, 'ok.img');
    await writeFile(img, Buffer.alloc(8192, 1));
    await chmod(img, 0o644);
    const bmap = join(dir, 'ok.bmap');
    await writeFile(bmap, bmapXml({ imageSize: 8192, ranges: [] }));
    const pins = await pinSources({ source: { kind: 'file', path: img }, bmap }, user);
    expect(pins.pinnedSource).toEqual({ dev: expect.any(Number), ino: expect.any(Number) });
    const s = await openSource({ kind: 'file', path: img }, undefined, pins.pinnedSource);
    expect(s.size).toBe(8192);
    await s.close();
    expect((await loadBmap(bmap, pins.pinnedBmap)).imageSize).toBe(8192);
  });

  it('every format (gz, xz, zst, bz2, zip) reads the pinned open file, not the path', async () => {
    const image = Buffer.alloc(256 * 1024);
    for (let i = 0; i < image.length; i++) image[i] = (i * 31) % 251;
    const raw = join(dir, 'fmt.img');
    await writeFile(raw, image);
    await execa('gzip', ['-k', raw]);
    await execa('xz', ['-k', raw]);
    await execa('zstd', ['-q', '-k', raw]);
    await execa('bzip2', ['-k', raw]);
    await execa('zip', ['-q', '-j', join(dir, 'fmt.zip'), raw]);
    for (const path of [`${raw}.gz`, `${raw}.xz`, `${raw}.zst`, `${raw}.bz2`, join(dir, 'fmt.zip')]) {
      const { pinnedSource } = await pinSources({ source: { kind: 'file', path }, bmap: null }, null);
      const s = await openSource({ kind: 'file', path }, undefined, pinnedSource);
      const out = Buffer.alloc(image.length + 16);
      let n = 0;
      for (let got = 1; got > 0; n += got) got = await s.reader.readInto(out, n, out.length - n);
      await s.finish();
      await s.close();
      expect(out.subarray(0, n).equals(image), path).toBe(true);
    }
  });

  it('a file swapped in after the check (rename over it, or a symlink) is refused, never read', async () => {
    const img = join(dir, 'swap.img');
    await writeFile(img, Buffer.alloc(4096));
    const { pinnedSource } = await pinSources({ source: { kind: 'file', path: img }, bmap: null }, null);
    await writeFile(join(dir, 'other.img'), 'root:$6$secret');
    await rename(join(dir, 'other.img'), img);
    await expect(openSource({ kind: 'file', path: img }, undefined, pinnedSource)).rejects.toMatchObject({ code: 'SOURCE_CHANGED', hint: expect.any(String) });
    await rm(img);
    await symlink('/etc/shadow', img);
    await expect(openSource({ kind: 'file', path: img }, undefined, pinnedSource)).rejects.toMatchObject({ code: 'SOURCE_CHANGED' });
    await expect(pinSources({ source: { kind: 'file', path: img }, bmap: null }, null)).rejects.toMatchObject({ code: 'SOURCE_CHANGED' });
    const bmap = join(dir, 'swap.bmap');
    await writeFile(bmap, bmapXml({ imageSize: 4096, ranges: [] }));
    const { pinnedBmap } = await pinSources({ source: { kind: 'url', url: 'http://x/y.img', sha256: 'a'.repeat(64) }, bmap }, null);
    await rm(bmap);
    await symlink('/etc/shadow', bmap);
    await expect(loadBmap(bmap, pinnedBmap)).rejects.toMatchObject({ code: 'BMAP_NOT_FOUND' });
  });

  it('a path through a linked directory is refused (the app sends real paths)', async () => {
    await mkdir(join(dir, 'real'));
    await writeFile(join(dir, 'real', 'd.img'), Buffer.alloc(512));
    await symlink(join(dir, 'real'), join(dir, 'via'));
    await expect(pinSources({ source: { kind: 'file', path: join(dir, 'via', 'd.img') }, bmap: null }, null)).rejects.toMatchObject({ code: 'SOURCE_CHANGED' });
  });

  it('refuses what the invoking user cannot read, FIFOs named like images, oversized or foreign block maps', async () => {
    const secret = join(dir, 'root-only.img');
    await writeFile(secret, Buffer.alloc(512));
    await chown(secret, 0, 0);
    await chmod(secret, 0o600);
    await expect(pinSources({ source: { kind: 'file', path: secret }, bmap: null }, user)).rejects.toMatchObject({
      code: 'SOURCE_NOT_READABLE',
      hint: expect.any(String),
    });
    await chown(secret, user.uid, 0);
    expect((await pinSources({ source: { kind: 'file', path: secret }, bmap: null }, user)).pinnedSource).toBeDefined();

    const fifo = join(dir, 'pipe.img');
    await execa('mkfifo', [fifo]);
    await expect(pinSources({ source: { kind: 'file', path: fifo }, bmap: null }, null)).rejects.toMatchObject({ code: 'IMAGE_NOT_FOUND' });

    const big = join(dir, 'big.bmap');
    await writeFile(big, '');
    await truncate(big, MAX_BMAP_BYTES + 1);
    await expect(pinSources({ source: { kind: 'url', url: 'http://x/y.img', sha256: 'a'.repeat(64) }, bmap: big }, null)).rejects.toMatchObject({
      code: 'BMAP_TOO_LARGE',
    });
    await expect(pinSources({ source: { kind: 'url', url: 'http://x/y.img', sha256: 'a'.repeat(64) }, bmap: '/etc/shadow' }, null)).rejects.toMatchObject({
      code: 'NOT_A_BMAP',
    });
  });
});
