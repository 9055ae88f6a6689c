/**
 * The in-process ext4 writer (image/ext4/writer.ts) checked by e2fsprogs and the kernel. Input: Alpine's real
 * x86_64 minirootfs (busybox applet symlinks, /etc/shadow owned by root and the shadow group, 0640) read into a
 * FsManifest with its tar headers' owners, modes and times, plus what a nexbox root adds (a user's home 1000:1000,
 * a setuid file, a file capability, a hard link, a slow symlink, a directory of several blocks, a 255-byte name,
 * a file of more than four extents). e2fsck -fn finds nothing on several sizes; the host kernel mounts it and reads
 * everything back (when root); debugfs lists every entry with the manifest's type, mode, owner and size, and its
 * rdump gives back every file's bytes and every link target; dumpe2fs shows mke2fs's own feature set, journal and
 * reserved GDT blocks with our UUID, label and hash seed; resize2fs grows a copy that stays clean; two writes are
 * bit-identical, also from a manifest listed in reverse; bad input gets a clear NexusError.
 */
import { execa } from 'execa';
import { createHash } from 'node:crypto';
import { copyFile, lstat, mkdir, mkdtemp, open, readFile, readlink, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NexusError } from '../../../src-shared/errors';
import { whichTool } from '../../../src-main/engine/host-tools';
import { writeExt4, type Ext4WriteOptions } from '../../../src-main/engine/image/ext4/writer';
import type { FsEntry, FsManifest } from '../../../src-main/engine/rootfs/entries';
import { minirootfsManifest as readMinirootfs } from '../../support/minirootfs-manifest';

const EPOCH = 1700000000;
const OPTS = { uuid: '3f2c7a9e-5b1d-4e8f-a0c6-9d4b2e7f1a35', hashSeed: 'c8e1f0a2-6d3b-4c59-8e7a-1b2d3f4a5c6e', label: 'root', epoch: EPOCH };
const haveTools = !!(await whichTool('e2fsck')) && !!(await whichTool('debugfs')) && !!(await whichTool('resize2fs'));
let dir: string;
let manifest: FsManifest;

/** Alpine's minirootfs as a manifest, owners/modes/times from its tar headers. */
const minirootfsManifest = () => readMinirootfs(EPOCH, { keepTimes: true });

function file(path: string, data: Buffer, mode = 0o644, uid = 0, gid = 0): FsEntry {
  return { path, type: 'file', mode, uid, gid, mtime: EPOCH - 60, size: data.length, content: { kind: 'inline', data }, owner: 'nexus' };
}
function dirEntry(path: string, mode = 0o755, uid = 0, gid = 0): FsEntry {
  return { path, type: 'dir', mode, uid, gid, mtime: EPOCH - 60, size: 0, owner: 'nexus' };
}
function add(m: FsManifest, ...entries: FsEntry[]): void {
  for (const e of entries) m.set(e.path, e);
}

async function e2fsck(img: string): Promise<void> {
  const r = await execa('e2fsck', ['-fn', img], { reject: false });
  expect(r.exitCode, r.stdout + r.stderr).toBe(0);
}

async function write(name: string, m: FsManifest, sizeMiB: number, extra: Partial<Ext4WriteOptions> = {}): Promise<string> {
  const img = join(dir, `${name}.ext4`);
  await writeExt4(img, m, { ...OPTS, sizeBytes: sizeMiB * 1048576, ...extra });
  return img;
}

/** Every entry debugfs sees, by path: "ls -p" of every directory in one debugfs run. */
async function listing(img: string, m: FsManifest): Promise<Map<string, { mode: number; uid: number; gid: number; size: number; ino: number }>> {
  const dirs = [...new Set([...m.values()].map((e) => (e.type === 'dir' ? e.path : posix.dirname(e.path))))].sort();
  const cmds = join(dir, 'ls.cmds');
  await writeFile(cmds, dirs.map((d) => `ls -p "${d}"`).join('\n') + '\n');
  const { stdout } = await execa('debugfs', ['-f', cmds, img]);
  const out = new Map<string, { mode: number; uid: number; gid: number; size: number; ino: number }>();
  let current = '';
  for (const line of stdout.split('\n')) {
    const cmd = /^debugfs:\s+ls -p "(.*)"$/.exec(line);
    if (cmd) current = cmd[1]!;
    const f = /^\/(\d+)\/(\d+)\/(\d+)\/(\d+)\/(.*)\/(\d*)\/$/.exec(line);
    if (!f || f[5] === '.' || f[5] === '..') continue;
    out.set(posix.join(current, f[5]!), { ino: +f[1]!, mode: parseInt(f[2]!, 8), uid: +f[3]!, gid: +f[4]!, size: +(f[6] || 0) });
  }
  return out;
}

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'nexus-ext4-writer-'));
  manifest = await minirootfsManifest();
  // What a nexbox root adds on top of Alpine's files.
  add(
    manifest,
    dirEntry('/home/ada', 0o700, 1000, 1000),
    dirEntry('/home/ada/.ssh', 0o700, 1000, 1000),
    file(
      '/home/ada/.ssh/authorized_keys',
      Buffer.from('ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl ada@host\n'),
      0o600,
      1000,
      1000,
    ),
    file('/usr/lib/libbig.so.1', Buffer.from(Array.from({ length: 300_000 }, (_, i) => (i * 7919) & 0xff))),
    { ...file('/usr/lib/libbig.so', Buffer.alloc(0)), type: 'hardlink', linkTarget: '/usr/lib/libbig.so.1', content: undefined },
    { ...file('/usr/lib/slow-link', Buffer.alloc(0)), type: 'symlink', mode: 0o777, linkTarget: '../../' + 'deep/'.repeat(20) + 'target', content: undefined },
    file('/etc/empty.conf', Buffer.alloc(0)),
    file('/usr/bin/doas', Buffer.from('\x7fELF setuid stand-in'), 0o4755),
    // ping with cap_net_raw+ep (vfs_cap_data revision 2), as setcap writes it, and a user attribute.
    {
      ...file('/usr/bin/ping', Buffer.from('\x7fELF ping stand-in')),
      xattrs: { 'security.capability': Buffer.from('0100000200200000000000000000000000000000', 'hex'), 'user.origin': Buffer.from('iputils') },
    },
    file('/etc/' + 'n'.repeat(255), Buffer.from('a name of 255 bytes\n')),
  );
  for (let i = 0; i < 600; i++) add(manifest, file(`/usr/share/many/entry-with-a-name-of-some-length-${String(i).padStart(4, '0')}`, Buffer.from(`${i}\n`)));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe.skipIf(!haveTools)('in-process ext4 writer', () => {
  it.each([16, 64, 300, 3000])('e2fsck -fn finds nothing on %i MiB', async (mib) => {
    const img = await write(`size-${mib}`, manifest, mib);
    await e2fsck(img);
    await rm(img);
  });

  it("debugfs and rdump give back every entry with the manifest's type, mode, owner, size, bytes and link target", async () => {
    const img = await write('content', manifest, 64);
    const seen = await listing(img, manifest);
    const types = { dir: 0o040000, file: 0o100000, hardlink: 0o100000, symlink: 0o120000 };
    let checked = 0;
    for (const e of manifest.values()) {
      if (e.path === '/') continue;
      const s = seen.get(e.path);
      expect(s, e.path).toBeDefined();
      const target = e.type === 'hardlink' ? manifest.get(e.linkTarget!)! : e;
      expect(s!.mode, e.path).toBe(types[e.type] | (target.mode & 0o7777));
      expect([s!.uid, s!.gid], e.path).toEqual([target.uid, target.gid]);
      if (e.type === 'file') expect(s!.size, e.path).toBe(e.size);
      if (e.type === 'symlink') expect(s!.size, e.path).toBe(Buffer.byteLength(e.linkTarget!));
      if (e.type === 'hardlink') expect(s!.ino, e.path).toBe(seen.get(e.linkTarget!)!.ino);
      checked++;
    }
    expect(checked).toBeGreaterThan(1000);
    expect(seen.get('/lost+found')).toMatchObject({ mode: 0o040700, uid: 0 });
    const stat = (await execa('debugfs', ['-R', 'stat /etc/shadow', img])).stdout;
    expect(stat).toMatch(/Mode:\s+0640/);
    const shadow = manifest.get('/etc/shadow')!;
    expect(shadow.gid).not.toBe(0); // the shadow group of the tarball's builder
    expect(stat).toMatch(new RegExp(`User:\\s+0\\s+Group:\\s+${shadow.gid}\\s`));
    expect(stat).toMatch(new RegExp(`mtime: 0x${manifest.get('/etc/shadow')!.mtime.toString(16).padStart(8, '0')}`));
    expect((await execa('debugfs', ['-R', 'stat /usr/bin/doas', img])).stdout).toMatch(/Mode:\s+04755/);
    expect((await execa('debugfs', ['-R', 'stat /usr/lib/libbig.so.1', img])).stdout).toMatch(/Links: 2/);
    const ea = (await execa('debugfs', ['-R', 'ea_list /usr/bin/ping', img])).stdout;
    expect(ea).toMatch(/security\.capability \(20\) = 01 00 00 02 00 20 00 00 00/);
    expect(ea).toMatch(/user\.origin \(7\) = "iputils"/);

    const out = join(dir, 'rdump');
    await mkdir(out);
    await execa('debugfs', ['-R', `rdump / ${out}`, img]);
    for (const e of manifest.values()) {
      const p = out + e.path;
      if (e.type === 'file') expect(sha(await readFile(p)), e.path).toBe(sha((e.content as { data: Uint8Array }).data));
      if (e.type === 'symlink') expect(await readlink(p), e.path).toBe(e.linkTarget);
      if (e.type === 'dir') expect((await lstat(p)).isDirectory(), e.path).toBe(true);
    }
  });

  it.skipIf(process.getuid?.() !== 0)('the Linux kernel mounts it and reads every file, link and owner back', async () => {
    const img = await write('mount', manifest, 64);
    const mnt = join(dir, 'mnt');
    await mkdir(mnt);
    await execa('mount', ['-t', 'ext4', '-o', 'loop,ro', img, mnt]);
    try {
      for (const e of manifest.values()) {
        const p = mnt + e.path;
        const st = await lstat(p);
        const target = e.type === 'hardlink' ? manifest.get(e.linkTarget!)! : e;
        expect([st.mode & 0o7777, st.uid, st.gid], e.path).toEqual([target.mode & 0o7777, target.uid, target.gid]);
        if (e.type === 'file') expect(sha(await readFile(p)), e.path).toBe(sha((e.content as { data: Uint8Array }).data));
        if (e.type === 'symlink') expect(await readlink(p), e.path).toBe(e.linkTarget);
      }
    } finally {
      await execa('umount', [mnt]);
    }
  });

  it("dumpe2fs shows mke2fs's ext4 features, journal and reserved GDT blocks, with our UUID, label and hash seed", async () => {
    const img = await write('features', manifest, 600);
    const ref = join(dir, 'mke2fs.ext4');
    await writeFile(ref, '');
    await truncate(ref, 600 * 1048576);
    await execa('mke2fs', ['-q', '-F', '-t', 'ext4', '-b', '4096', ref], { env: { E2FSPROGS_FAKE_TIME: String(EPOCH) } });
    const header = async (f: string) => {
      const { stdout } = await execa('dumpe2fs', ['-h', f]);
      return Object.fromEntries(
        stdout
          .split('\n')
          .map((l) => /^([^:]+):\s+(.*)$/.exec(l))
          .filter((x) => !!x)
          .map((x) => [x![1]!, x![2]!.trim()]),
      );
    };
    const ours = await header(img);
    const theirs = await header(ref);
    for (const k of [
      'Filesystem features',
      'Filesystem flags',
      'Default mount options',
      'Block count',
      'Reserved block count',
      'Inode count',
      'Block size',
      'Reserved GDT blocks',
      'Blocks per group',
      'Inodes per group',
      'Flex block group size',
      'Inode size',
      'Required extra isize',
      'Journal inode',
      'Total journal size',
      'Journal backup',
      'Checksum type',
      'Default directory hash',
      'Filesystem state',
    ])
      expect(ours[k], k).toBe(theirs[k]);
    expect(ours['Filesystem UUID']).toBe(OPTS.uuid);
    expect(ours['Directory Hash Seed']).toBe(OPTS.hashSeed);
    expect(ours['Filesystem volume name']).toBe('root');
    expect(ours['Filesystem created']).toBe(theirs['Filesystem created']);
  });

  it('resize2fs grows a copy to 4 GiB and e2fsck stays clean', async () => {
    const img = await write('grow', manifest, 300);
    const copy = join(dir, 'grown.ext4');
    await copyFile(img, copy);
    await truncate(copy, 4096 * 1048576);
    await execa('resize2fs', [copy]);
    await e2fsck(copy);
    expect((await execa('dumpe2fs', ['-h', copy])).stdout).toMatch(/Block count:\s+1048576/);
    expect((await execa('debugfs', ['-R', 'cat /home/ada/.ssh/authorized_keys', copy])).stdout).toMatch(/^ssh-ed25519 /);
  });

  it('a file of more than four extents gets an extent tree block', async () => {
    // 640 MiB: five extents of at most 32768 blocks, more around the superblock copies of groups 1 and 3.
    const m: FsManifest = new Map(manifest);
    const big = Buffer.alloc(640 * 1048576);
    for (let i = 0; i < big.length; i += 1048576) big.write(`MiB ${i / 1048576}\n`, i);
    add(m, file('/var/big.img', big));
    const img = await write('extents', m, 1024);
    await e2fsck(img);
    const stat = (await execa('debugfs', ['-R', 'stat /var/big.img', img])).stdout;
    expect(stat).toMatch(/\(ETB0\):\d+/);
    // Logical → physical through the tree: each sampled MiB's first block holds its marker.
    const fd = await open(img, 'r');
    try {
      for (const mib of [0, 127, 128, 255, 300, 511, 512, 639]) {
        const phys = Number((await execa('debugfs', ['-R', `bmap /var/big.img ${mib * 256}`, img])).stdout.trim());
        const got = Buffer.alloc(16);
        await fd.read(got, 0, 16, phys * 4096);
        expect(got.toString('latin1').split('\n')[0], `MiB ${mib}`).toBe(`MiB ${mib}`);
      }
    } finally {
      await fd.close();
    }
    await rm(img);
  }, 120_000);

  it('writes the same bytes twice, whatever order the manifest lists its entries in', async () => {
    const a = await write('twice-a', manifest, 160);
    const b = await write('twice-b', manifest, 160);
    // Feed and configure stages may add entries in another order: the bytes depend on the paths, not the order.
    const reversed: FsManifest = new Map([...manifest].reverse());
    const c = await write('twice-c', reversed, 160);
    const first = sha(await readFile(a));
    expect(sha(await readFile(b))).toBe(first);
    expect(sha(await readFile(c))).toBe(first);
    // And a different epoch or hash seed gives other bytes (the check can fail).
    const d = await write('twice-d', manifest, 160, { hashSeed: 'c8e1f0a2-6d3b-4c59-8e7a-1b2d3f4a5c6f' });
    expect(sha(await readFile(d))).not.toBe(first);
  });

  it('refuses a tree too big for the size and a name over 255 bytes, with clear errors', async () => {
    const m: FsManifest = new Map(manifest);
    add(m, file('/var/blob', Buffer.alloc(12 * 1048576)));
    const tooBig = write('too-big', m, 8).catch((e: unknown) => e);
    await expect(tooBig).resolves.toBeInstanceOf(NexusError);
    expect(await tooBig).toMatchObject({ code: 'EXT4_TOO_SMALL', message: expect.stringMatching(/needs about \d+ MiB .* 8 MiB has \d+ MiB free/) });

    const long = new Map(manifest);
    add(long, file('/etc/' + 'x'.repeat(256), Buffer.from('x')));
    const err = await write('long', long, 64).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NexusError);
    expect(err).toMatchObject({ code: 'EXT4_NAME_TOO_LONG', message: expect.stringContaining('256 bytes; ext4 allows at most 255') });
  });
});
