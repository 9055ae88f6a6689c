/**
 * The in-process EROFS writer (image/erofs/writer.ts) checked by erofs-utils and the kernel. Input: Alpine's real
 * x86_64 minirootfs (busybox, musl, applet symlinks, /etc/shadow root:shadow 0640) plus what a Box root adds: a
 * user's home 1000:1000, a setuid binary, a hard link, a file with security.capability, an owner above 65535
 * (extended inode), a directory of several blocks, a 255-byte name, a 4000-byte symlink target, empty, 4096- and
 * 8192-byte files, a long run of zeros and a random (incompressible) file. Uncompressed and LZ4: fsck.erofs checks
 * every file (decompressing each cluster with liblz4) and its extraction gives back every entry's type, mode, owner,
 * bytes and link target; dump.erofs reads our superblock; mkfs.erofs -zlz4hc over the same tree (staged) extracts
 * to the same bytes, and ours is at most 3% larger; two writes are bit-identical; the kernel mounts the image (as
 * root, where the host has erofs) with the same tree and the capability; our dm-verity tree over it passes
 * `veritysetup verify`; bad input gets a clear NexusError.
 */
import { execa } from 'execa';
import { createHash } from 'node:crypto';
import { lstat, mkdir, mkdtemp, readdir, readFile, readlink, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NexusError } from '../../../src-shared/errors';
import { whichTool } from '../../../src-main/engine/host-tools';
import { writeErofs, type ErofsWriteOptions } from '../../../src-main/engine/image/erofs/writer';
import { stageTree } from '../../../src-main/engine/image/staging';
import { makeErofs } from '../../../src-main/engine/image/tools/erofs';
import { writeVerityTree } from '../../../src-main/engine/image/verity-tree';
import type { FsEntry, FsManifest } from '../../../src-main/engine/rootfs/entries';
import { minirootfsManifest } from '../../support/minirootfs-manifest';

const EPOCH = 1700000000;
const UUID = '6a1f3c2e-9b4d-4e7a-8c5f-2d1e0b3a4c59';
const OPTS: ErofsWriteOptions = { uuid: UUID, epoch: EPOCH };
const haveTools = !!(await whichTool('fsck.erofs')) && !!(await whichTool('dump.erofs'));
const isRoot = process.getuid?.() === 0;
const haveMkfs = !!(await whichTool('mkfs.erofs'));
const haveVeritysetup = !!(await whichTool('veritysetup'));
const canMount = isRoot && (await readFile('/proc/filesystems', 'utf8').catch(() => '')).includes('erofs');
// security.capability for cap_net_raw+ep (VFS_CAP_REVISION_2), as setcap writes it for ping.
const CAP_NET_RAW = Buffer.from('0100000200200000000000000000000000000000', 'hex');

let dir: string;
let manifest: FsManifest;

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
function file(path: string, data: Buffer, mode = 0o644, uid = 0, gid = 0, xattrs?: FsEntry['xattrs']): FsEntry {
  return {
    path,
    type: 'file',
    mode,
    uid,
    gid,
    mtime: EPOCH,
    size: data.length,
    content: { kind: 'inline', data },
    owner: 'nexus',
    ...(xattrs ? { xattrs } : {}),
  };
}
function dirEntry(path: string, mode = 0o755, uid = 0, gid = 0): FsEntry {
  return { path, type: 'dir', mode, uid, gid, mtime: EPOCH, size: 0, owner: 'nexus' };
}
function add(m: FsManifest, ...entries: FsEntry[]): void {
  for (const e of entries) m.set(e.path, e);
}

async function boxRoot(): Promise<FsManifest> {
  const m = await minirootfsManifest(EPOCH);
  const busybox = m.get('/bin/busybox')!;
  add(
    m,
    dirEntry('/home/ada', 0o700, 1000, 1000),
    file('/home/ada/.profile', Buffer.from('export PS1="ada$ "\n'), 0o644, 1000, 1000),
    file('/usr/bin/su-helper', Buffer.from((busybox.content as { data: Uint8Array }).data), 0o4755),
    {
      path: '/usr/bin/su-helper-link',
      type: 'hardlink',
      mode: 0o4755,
      uid: 0,
      gid: 0,
      mtime: EPOCH,
      size: 0,
      linkTarget: '/usr/bin/su-helper',
      owner: 'nexus',
    },
    file('/usr/bin/pinger', Buffer.from('#!/bin/sh\necho ping\n'), 0o755, 0, 0, { 'security.capability': CAP_NET_RAW, 'trusted.nexus': Buffer.from('x') }),
    file('/srv/big-owner', Buffer.from('owned by 100000\n'), 0o640, 100000, 100001),
    dirEntry('/srv/many'),
    file('/srv/' + 'n'.repeat(255), Buffer.from('long name\n')),
    {
      path: '/srv/long-link',
      type: 'symlink',
      mode: 0o777,
      uid: 0,
      gid: 0,
      mtime: EPOCH,
      size: 0,
      linkTarget: '/' + 'x/'.repeat(1999) + 'end',
      owner: 'nexus',
    },
    file('/srv/empty', Buffer.alloc(0)),
    file('/srv/one-block', randomFill(4096, 1)),
    file('/srv/two-blocks', randomFill(8192, 2)),
    file('/srv/zeros', Buffer.alloc(3 * 1024 * 1024 + 17)),
    file('/srv/random', randomFill(300_000, 3)),
    file('/srv/text', Buffer.from('Lorem ipsum dolor sit amet, consectetur adipiscing elit. '.repeat(3000))),
  );
  for (let i = 0; i < 400; i++) add(m, file(`/srv/many/entry-${String(i).padStart(4, '0')}-${'y'.repeat(i % 40)}`, Buffer.from(`${i}\n`)));
  return m;
}

/** Deterministic incompressible bytes (so bit-identical writes compare the same input). */
function randomFill(n: number, seed: number): Buffer {
  const out = Buffer.alloc(n);
  let block = Buffer.alloc(0);
  for (let i = 0, k = 0; i < n; i += 32, k++) {
    block = createHash('sha256').update(`${seed}:${k}`).digest();
    block.copy(out, i, 0, Math.min(32, n - i));
  }
  return out;
}

/** Every path of an extracted (or mounted) tree, "/"-rooted, with what it is. */
async function walk(root: string, rel = ''): Promise<Map<string, { type: string; mode: number; uid: number; gid: number; sha?: string; target?: string }>> {
  const out = new Map<string, { type: string; mode: number; uid: number; gid: number; sha?: string; target?: string }>();
  for (const name of await readdir(join(root, rel))) {
    const p = `${rel}/${name}`;
    const st = await lstat(join(root, p));
    const base = { mode: st.mode & 0o7777, uid: st.uid, gid: st.gid };
    if (st.isDirectory()) {
      out.set(p, { ...base, type: 'dir' });
      for (const [k, v] of await walk(root, p)) out.set(k, v);
    } else if (st.isSymbolicLink()) out.set(p, { ...base, type: 'symlink', target: await readlink(join(root, p)) });
    else out.set(p, { ...base, type: 'file', sha: sha(await readFile(join(root, p))) });
  }
  return out;
}

function expectTree(found: Awaited<ReturnType<typeof walk>>, m: FsManifest, label: string): void {
  const problems: string[] = [];
  for (const e of m.values()) {
    if (e.path === '/') continue;
    const f = found.get(e.path);
    const src = e.type === 'hardlink' ? m.get(e.linkTarget!)! : e;
    // fsck.erofs 1.5 extracts files without their setuid/setgid bits (the kernel mount shows them; see there).
    const want = { type: src.type, mode: label.startsWith('mounted') || src.type !== 'file' ? src.mode : src.mode & 0o1777, uid: src.uid, gid: src.gid };
    if (!f) problems.push(`${e.path}: missing`);
    else if (f.type !== want.type || f.mode !== want.mode || f.uid !== want.uid || f.gid !== want.gid)
      problems.push(`${e.path}: ${JSON.stringify({ ...f, sha: undefined })} instead of ${JSON.stringify(want)}`);
    else if (src.type === 'symlink' && f.target !== src.linkTarget) problems.push(`${e.path}: link to ${f.target} instead of ${src.linkTarget}`);
    else if (src.type === 'file' && f.sha !== sha((src.content as { data: Uint8Array } | undefined)?.data ?? Buffer.alloc(0)))
      problems.push(`${e.path}: other bytes`);
  }
  for (const p of found.keys()) if (!m.has(p)) problems.push(`${p}: not in the manifest`);
  expect(problems.slice(0, 20), `${label}: ${problems.length} differences`).toEqual([]);
}

async function fsckExtract(img: string, name: string): Promise<string> {
  const out = join(dir, `${name}.x`);
  await rm(out, { recursive: true, force: true });
  const r = await execa('fsck.erofs', [`--extract=${out}`, ...(isRoot ? ['--preserve'] : []), img], { reject: false, all: true });
  expect(r.exitCode, `fsck.erofs ${name}: ${r.all}`).toBe(0);
  return out;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'nexus-erofs-'));
  manifest = await boxRoot();
}, 60_000);
afterAll(() => rm(dir, { recursive: true, force: true }));

describe.skipIf(!haveTools)('EROFS written in-process', () => {
  for (const compression of ['none', 'lz4hc'] as const) {
    it(`${compression}: fsck.erofs checks every file and its extraction is the manifest (types, modes, owners, bytes, link targets)`, async () => {
      const img = join(dir, `root-${compression}.erofs`);
      const r = await writeErofs(img, manifest, { ...OPTS, compression });
      expect((await stat(img)).size).toBe(r.blocks * 4096);
      if (compression === 'lz4hc') expect(r.compressedFiles).toBeGreaterThan(3);
      const x = await fsckExtract(img, compression);
      if (isRoot) expectTree(await walk(x), manifest, compression);
      // The hard link is one inode with two names.
      const a = await execa('dump.erofs', ['--path=/usr/bin/su-helper', img]);
      const b = await execa('dump.erofs', ['--path=/usr/bin/su-helper-link', img]);
      expect(/NID: (\d+)\s+Links: 2/.exec(a.stdout)?.[1], a.stdout).toBe(/NID: (\d+)\s+Links: 2/.exec(b.stdout)?.[1]);
      const big = await execa('dump.erofs', ['--path=/srv/big-owner', img]);
      expect(big.stdout).toMatch(/Inode size: 64/);
      expect(big.stdout).toMatch(/Uid: 100000\s+Gid: 100001/);
      const pinger = await execa('dump.erofs', ['--path=/usr/bin/pinger', img]);
      expect(pinger.stdout).toMatch(/Xattr size: [1-9]/);
      if (compression === 'lz4hc') {
        expect((await execa('dump.erofs', ['--path=/bin/busybox', img])).stdout).toMatch(/Layout: 1\b/);
        expect((await execa('dump.erofs', ['--path=/srv/random', img])).stdout).toMatch(/Layout: [02]\b/);
      }
    }, 120_000);
  }

  it('dump.erofs reads our superblock: UUID, build time, block and inode counts, root nid, features', async () => {
    for (const compression of ['none', 'lz4hc'] as const) {
      const img = join(dir, `sb-${compression}.erofs`);
      const r = await writeErofs(img, manifest, { ...OPTS, compression });
      const { stdout } = await execa('dump.erofs', ['-s', img]);
      expect(stdout).toMatch(new RegExp(`Filesystem UUID:\\s+${UUID}`));
      expect(stdout).toMatch(new RegExp(`Filesystem blocks:\\s+${r.blocks}\\b`));
      expect(stdout).toMatch(new RegExp(`Filesystem inode count:\\s+${r.inodes}\\b`));
      expect(stdout).toMatch(/Filesystem root nid:\s+36\b/);
      expect(stdout).toMatch(/Filesystem created:\s+Tue Nov 14 22:13:20 2023/);
      expect(stdout).toMatch(compression === 'lz4hc' ? /Filesystem features:\s+sb_csum 0padding\s*$/m : /Filesystem features:\s+sb_csum\s*$/m);
      // One inode per path, hard links sharing theirs.
      expect(r.inodes).toBe([...manifest.values()].filter((e) => e.type !== 'hardlink').length);
    }
  }, 120_000);

  it('is bit-identical when written twice', async () => {
    const a = join(dir, 'twice-a.erofs');
    const b = join(dir, 'twice-b.erofs');
    await writeErofs(a, manifest, { ...OPTS, compression: 'lz4hc' });
    await writeErofs(b, new Map([...manifest].reverse()), { ...OPTS, compression: 'lz4hc' });
    expect(sha(await readFile(a))).toBe(sha(await readFile(b)));
  }, 120_000);

  it.skipIf(!haveMkfs)(
    'mkfs.erofs -zlz4hc over the same tree extracts to the same files, and ours is at most 3% larger',
    async () => {
      // mkfs.erofs 1.5 cannot read a 255-byte name from a directory ("Could not format the device"): both without it.
      const tree = new Map([...manifest].filter(([p]) => !p.endsWith('n'.repeat(255))));
      const ours = join(dir, 'cmp-ours.erofs');
      const theirs = join(dir, 'cmp-mkfs.erofs');
      await writeErofs(ours, tree, { ...OPTS, compression: 'lz4hc' });
      const staged = await stageTree(tree, join(dir, 'staged'));
      await makeErofs(theirs, staged.dir, { uuid: UUID, epoch: EPOCH, compression: 'lz4hc', allRoot: false });
      const oursSize = (await stat(ours)).size;
      const theirsSize = (await stat(theirs)).size;
      console.log(`box root (minirootfs + extras): ours ${oursSize} bytes, mkfs.erofs -zlz4hc ${theirsSize} bytes`);
      expect(oursSize).toBeLessThanOrEqual(theirsSize * 1.03);
      const x1 = await fsckExtract(ours, 'cmp-ours');
      const x2 = await fsckExtract(theirs, 'cmp-theirs');
      const diff = await execa('diff', ['-r', '--no-dereference', x1, x2], { reject: false, all: true });
      expect(diff.exitCode, diff.all).toBe(0);
    },
    120_000,
  );

  it.skipIf(!canMount)(
    'the kernel mounts it: the same tree, and the capability on /usr/bin/pinger',
    async () => {
      for (const compression of ['none', 'lz4hc'] as const) {
        const img = join(dir, `root-${compression}.erofs`);
        const mnt = join(dir, `mnt-${compression}`);
        await mkdir(mnt, { recursive: true });
        await execa('mount', ['-t', 'erofs', '-o', 'loop,ro', img, mnt]);
        try {
          expectTree(await walk(mnt), manifest, `mounted ${compression}`);
          const cap = await execa('getcap', [join(mnt, 'usr/bin/pinger')], { reject: false });
          if (cap.exitCode === 0 || cap.stdout) expect(cap.stdout).toMatch(/cap_net_raw[=+]ep/);
        } finally {
          await execa('umount', [mnt]);
        }
      }
    },
    120_000,
  );

  it.skipIf(!haveVeritysetup)(
    'our dm-verity tree over it passes veritysetup verify',
    async () => {
      const img = join(dir, 'root-lz4hc.erofs');
      const v = await writeVerityTree(img, join(dir, 'root.verity'), { salt: 'ab'.repeat(32), uuid: '0b5c3e1a-7d2f-4a68-9e0b-3c4d5e6f7a8b' });
      await execa('veritysetup', ['verify', img, join(dir, 'root.verity'), v.rootHash]);
    },
    60_000,
  );
});

describe('EROFS writer: bad input', () => {
  const base = (): FsManifest => new Map([['/', dirEntry('/')]]);
  const cases: Array<[string, (m: FsManifest) => void, string, RegExp]> = [
    ['a path with ".."', (m) => add(m, file('/etc/../../host', Buffer.from('x'))), 'UNSAFE_PATH', /\/etc\/\.\.\/\.\.\/host/],
    [
      'an entry below a symlink',
      (m) => add(m, { ...dirEntry('/usr'), type: 'symlink', linkTarget: '/host' }, file('/usr/evil', Buffer.from('x'))),
      'UNSAFE_PATH',
      /\/usr\/evil/,
    ],
    ['a 256-byte name', (m) => add(m, file('/' + 'n'.repeat(256), Buffer.from('x'))), 'EROFS_BAD_ENTRY', /256 bytes long/],
    ['a symlink without a target', (m) => add(m, { ...dirEntry('/l'), type: 'symlink', linkTarget: '' }), 'EROFS_BAD_ENTRY', /symlink without a target/],
    ['a 5000-byte symlink target', (m) => add(m, { ...dirEntry('/l'), type: 'symlink', linkTarget: 'a'.repeat(5000) }), 'EROFS_BAD_ENTRY', /symlink target/],
    ['a negative uid', (m) => add(m, file('/f', Buffer.from('x'), 0o644, -1)), 'EROFS_BAD_ENTRY', /uid -1/],
    ['file-type bits in the mode', (m) => add(m, file('/f', Buffer.from('x'), 0o100644)), 'EROFS_BAD_ENTRY', /mode 33188/],
    ['a device node', (m) => add(m, { ...dirEntry('/dev/null'), type: 'chardev' as FsEntry['type'] }), 'EROFS_BAD_ENTRY', /type "chardev"/],
    [
      'content that cannot be read',
      (m) => add(m, { ...file('/f', Buffer.alloc(0)), size: 5, content: { kind: 'file', path: '/nonexistent/nexus-blob' } }),
      'EROFS_BAD_ENTRY',
      /content of \/f .*ENOENT/,
    ],
    ['content shorter than its size', (m) => add(m, { ...file('/f', Buffer.from('abc')), size: 10 }), 'EROFS_BAD_ENTRY', /says 10 bytes, its content has 3/],
    ['a hard link to a directory', (m) => add(m, dirEntry('/d'), { ...dirEntry('/h'), type: 'hardlink', linkTarget: '/d' }), 'UNSAFE_PATH', /hard link to \/d/],
  ];
  for (const [name, mutate, code, message] of cases) {
    it(`${name}: ${code}, nothing written`, async () => {
      const m = base();
      mutate(m);
      const out = join(dir, `bad-${name.replace(/\W+/g, '-')}.erofs`);
      const err = await writeErofs(out, m, OPTS).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(NexusError);
      expect((err as NexusError).code).toBe(code);
      expect((err as NexusError).message).toMatch(message);
      expect((err as NexusError).hint).toBeTruthy();
      expect(await stat(out).catch(() => undefined)).toBeUndefined();
    });
  }

  it('lzma, which it does not write, and a malformed UUID are refused with what to change', async () => {
    const e1 = await writeErofs(join(dir, 'lzma.erofs'), base(), { ...OPTS, compression: 'lzma' }).catch((e: unknown) => e);
    expect((e1 as NexusError).code).toBe('EROFS_COMPRESSION_UNSUPPORTED');
    expect((e1 as NexusError).hint).toMatch(/lz4hc/);
    const e2 = await writeErofs(join(dir, 'uuid.erofs'), base(), { ...OPTS, uuid: 'not-a-uuid' }).catch((e: unknown) => e);
    expect((e2 as NexusError).code).toBe('EROFS_BAD_OPTIONS');
  });
});
