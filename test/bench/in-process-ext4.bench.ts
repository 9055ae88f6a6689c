/**
 * The in-process ext4 writer (image/ext4/writer.ts) vs what the filesystems stage ran before it (stageTree, then
 * `mke2fs -d`), printed, never asserted, on nexbox's real root: nexbox for qemu-x86_64 is built from the replica
 * feed (the cache of nexbox-x86.test.ts is reused when warm), its root partition is unpacked with debugfs rdump, and
 * both writers then make a root of the same size from that tree's manifest. Also: mke2fs -d alone (tree already
 * staged), the main thread's longest task during our write, and e2fsck -fn on both results.
 */
import { execa } from 'execa';
import { lstat, mkdir, mkdtemp, readdir, readlink, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeExt4 } from '../../src-main/engine/image/ext4/writer';
import { stageTree } from '../../src-main/engine/image/staging';
import { makeExt4 } from '../../src-main/engine/image/tools/ext4';
import type { FsEntry, FsManifest } from '../../src-main/engine/rootfs/entries';
import { probeMainThread } from '../../src-main/engine/workers/main-thread-probe';
import { debianTestFeed } from '../support/debian-test-feed';
import { buildFromTestFeed, extractPartition, planFor, readTable, sharedNexusCache, TEST_USER } from '../support/image-build';

const MiB = 1024 * 1024;
const EPOCH = 1_700_000_000;
const OPTS = { uuid: '3f2c7a9e-5b1d-4e8f-a0c6-9d4b2e7f1a35', hashSeed: 'c8e1f0a2-6d3b-4c59-8e7a-1b2d3f4a5c6e', label: 'root', epoch: EPOCH };
const row = (label: string, value: string, note = '') => process.stdout.write(`${label.padEnd(52)} ${value.padStart(14)}  ${note}\n`);
const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

/** A host tree as a manifest (what the configure stage hands the filesystems stage), hard links found by inode. */
async function manifestOf(root: string): Promise<FsManifest> {
  const m: FsManifest = new Map();
  const seen = new Map<number, string>();
  const walk = async (host: string, path: string) => {
    const st = await lstat(host);
    const base = { path, mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, mtime: Math.floor(st.mtimeMs / 1000), owner: 'nexbox' };
    let e: FsEntry;
    if (st.isDirectory()) e = { ...base, type: 'dir', size: 0 };
    else if (st.isSymbolicLink()) e = { ...base, type: 'symlink', size: 0, linkTarget: await readlink(host) };
    else if (st.nlink > 1 && seen.has(st.ino)) e = { ...base, type: 'hardlink', size: 0, linkTarget: seen.get(st.ino)! };
    else {
      if (st.nlink > 1) seen.set(st.ino, path);
      e = { ...base, type: 'file', size: st.size, content: { kind: 'file', path: host } };
    }
    m.set(path, e);
    if (st.isDirectory()) for (const n of (await readdir(host)).sort()) await walk(join(host, n), path === '/' ? `/${n}` : `${path}/${n}`);
  };
  await walk(root, '/');
  return m;
}

async function fsck(img: string): Promise<string> {
  const r = await execa('e2fsck', ['-fn', img], { reject: false });
  return r.exitCode === 0 ? 'clean' : `exit ${r.exitCode}`;
}

const dir = await mkdtemp(join(tmpdir(), 'nexus-bench-ext4-'));
try {
  process.env.NEXUS_CACHE_DIR = sharedNexusCache('nexbox-x86');
  const feed = await debianTestFeed('x86_64', { packs: ['dragonbox', 'nexbox'] });
  const image = join(dir, 'nexbox.img');
  await buildFromTestFeed(await planFor('nexbox', 'qemu-x86_64', image, TEST_USER), { feed });
  const table = await readTable(image);
  const part = table.entries.find((e) => e.name === 'root')!;
  const built = await extractPartition(image, part, join(dir, 'built.ext4'));
  const tree = join(dir, 'tree');
  await mkdir(tree);
  await execa('debugfs', ['-R', `rdump / ${tree}`, built]);
  const manifest = await manifestOf(tree);
  const sizeBytes = part.sizeLba * 512;
  const files = [...manifest.values()].filter((e) => e.type === 'file');
  const bytes = files.reduce((n, e) => n + e.size, 0);
  row('nexbox root', `${manifest.size} entries`, `${files.length} files, ${(bytes / MiB).toFixed(0)} MiB of data, ext4 of ${(sizeBytes / MiB).toFixed(0)} MiB`);

  const probe = probeMainThread();
  let t = performance.now();
  const ours = join(dir, 'ours.ext4');
  await writeExt4(ours, manifest, { ...OPTS, sizeBytes });
  const oursMs = performance.now() - t;
  const longest = probe.stop().longestTaskMs;

  t = performance.now();
  const staged = await stageTree(manifest, join(dir, 'staged'));
  const stagedMs = performance.now() - t;
  const theirs = join(dir, 'mke2fs.ext4');
  t = performance.now();
  await makeExt4(theirs, staged.dir, { ...OPTS, sizeBytes, fixOwnership: staged.ownershipNotApplied, scratch: dir });
  const mkfsMs = performance.now() - t;

  row('ext4 nexbox root: in-process (writeExt4)', s(oursMs), `longest main-thread task ${longest.toFixed(0)} ms; e2fsck: ${await fsck(ours)}`);
  row('ext4 nexbox root: stageTree + mke2fs -d', s(stagedMs + mkfsMs), `ratio ${(oursMs / (stagedMs + mkfsMs)).toFixed(2)}; e2fsck: ${await fsck(theirs)}`);
  row('ext4 nexbox root: mke2fs -d alone (tree staged)', s(mkfsMs), `ratio ${(oursMs / mkfsMs).toFixed(2)}`);
} finally {
  await rm(dir, { recursive: true, force: true });
}
