/** `nexus packages resolve|verify` and `nexus cache export|import|info` against a generated local mirror directory. */
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateSigningKey, writeApkRepo, type WrittenApkRepo } from '../../support/apk-repo';

const root = resolve(import.meta.dirname, '..', '..', '..');
let dir: string;
let repo: WrittenApkRepo;
let edge: WrittenApkRepo;

const nexus = (args: string[], cacheName = 'cache') =>
  execa('node', [join(root, 'bin', 'nexus.js'), ...args], { reject: false, env: { NEXUS_CACHE_DIR: join(dir, cacheName) }, cwd: dir });

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'nexus-feeds-cli-'));
  // Alpine's layout: v3.24 main + community, toybox only in edge/testing (a tagged repository for the plan).
  const key = generateSigningKey();
  const musl = {
    name: 'musl',
    version: '1.2.5-r10',
    arch: 'riscv64',
    provides: ['so:libc.musl-riscv64.so.1=1'],
    files: [{ path: 'lib/ld-musl-riscv64.so.1', content: 'm' }],
  };
  repo = await writeApkRepo(join(dir, 'mirror'), {
    key,
    arch: 'riscv64',
    branch: 'v3.24',
    repositories: {
      main: [
        musl,
        { name: 'busybox', version: '1.37.0-r30', depends: ['so:libc.musl-riscv64.so.1'], files: [{ path: 'bin/busybox', content: 'busybox' }] },
        {
          name: 'linux-lts',
          version: '6.18.29-r0',
          depends: ['initramfs-generator', 'linux-firmware-any'],
          files: [{ path: 'boot/vmlinuz-lts', content: 'kernel' }],
        },
        { name: 'linux-firmware-none', version: '20260410-r0', provides: ['linux-firmware-any'], providerPriority: 1 },
      ],
      community: [{ name: 'dinit', version: '0.21.0-r0', depends: ['so:libc.musl-riscv64.so.1'], files: [{ path: 'usr/sbin/dinit', content: 'dinit' }] }],
    },
  });
  edge = await writeApkRepo(join(dir, 'mirror'), {
    key,
    arch: 'riscv64',
    branch: 'edge',
    repositories: { testing: [{ name: 'toybox', version: '0.8.13-r0', files: [{ path: 'bin/toybox', content: 'toybox' }] }] },
  });
}, 60_000);

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('nexus packages / nexus cache', () => {
  it('resolves a Box against a local mirror directory and prints versions, sizes and the total', async () => {
    const r = await nexus(['packages', 'resolve', '--profile=tinybox', '--arch=riscv64', '--mirror', repo.mirror, '--keys', repo.keysDir]);
    expect(r.stderr).not.toMatch(/nexus:/);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toMatch(/busybox\s+1\.37\.0-r30\s+main/);
    expect(r.stdout).toMatch(/dinit\s+0\.21\.0-r0\s+community/);
    expect(r.stdout).toMatch(/musl\s+1\.2\.5-r10\s+main/);
    expect(r.stdout).toMatch(/linux-firmware-none\s+20260410-r0\s+main/);
    expect(r.stdout).toMatch(/5 packages for tinybox \(riscv64\/main, riscv64\/community of v3\.24\)/);
    expect(r.stdout).toMatch(/Package budget of tinybox: at most \d+ \(met\)/);
    // One package pinned to edge/testing: shown with its tag; everything else stays on v3.24.
    const toy = await nexus([
      'packages',
      'resolve',
      '--profile=tinybox',
      '--arch=riscv64',
      '--fragments=toybox',
      '--mirror',
      repo.mirror,
      '--keys',
      repo.keysDir,
    ]);
    expect(toy.exitCode).toBe(0);
    expect(toy.stdout).toMatch(/toybox\s+0\.8\.13-r0\s+@testing \(testing of edge\)/);
    expect(toy.stdout).toMatch(/6 packages for tinybox \(riscv64\/main, riscv64\/community of v3\.24 \(@testing: riscv64\/testing of edge\)\)/);
    const j = await nexus([
      'packages',
      'resolve',
      '--profile=tinybox',
      '--arch=riscv64',
      '--mirror',
      repo.mirror,
      '--keys',
      repo.keysDir,
      '--json',
      '--offline',
    ]);
    expect(j.exitCode).toBe(0);
    const out = JSON.parse(j.stdout);
    expect(out.packages.map((p: { name: string }) => p.name)).toEqual(['busybox', 'dinit', 'linux-firmware-none', 'linux-lts', 'musl']);
    expect(out.totalSize).toBe(out.packages.reduce((s: number, p: { size: number }) => s + p.size, 0));
    expect(out.feed).toMatchObject({ branch: 'v3.24', repositories: ['main', 'community'], tagged: [] });
  });

  it('names the failing chain, the branch and the repositories searched when a package is missing', async () => {
    const r = await nexus(['packages', 'resolve', '--profile=nexbox', '--arch=riscv64', '--mirror', repo.mirror, '--keys', repo.keysDir]);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/nexbox → [a-z0-9-]+: not in riscv64\/main, riscv64\/community of v3\.24/);
    // Another branch is one flag away; a branch the mirror lacks fails on its index, naming it.
    const old = await nexus(['packages', 'resolve', '--profile=tinybox', '--arch=riscv64', '--branch=v3.23', '--mirror', repo.mirror, '--keys', repo.keysDir]);
    expect(old.exitCode).toBe(1);
    expect(old.stderr).toMatch(/Cannot fetch the index of riscv64\/main \(v3\.23\)/);
    const bad = await nexus(['packages', 'resolve', '--profile=tinybox', '--branch=3.24']);
    expect(bad.exitCode).toBe(1);
    expect(bad.stderr).toMatch(/"3\.24" is not an Alpine branch/);
  });

  it('verifies a package and says which key signed it; a modified file fails', async () => {
    const file = edge.packagePath('testing', 'toybox');
    const ok = await nexus(['packages', 'verify', file, '--keys', repo.keysDir]);
    expect(ok.exitCode).toBe(0);
    expect(ok.stdout).toMatch(/toybox-0\.8\.13-r0 signed by nexus-test-[0-9a-f]+\.rsa\.pub/);
    const idx = await nexus(['packages', 'verify', join(edge.repoDir('testing'), 'APKINDEX.tar.gz'), '--keys', repo.keysDir]);
    expect(idx.stdout).toMatch(/APK index .* signed by nexus-test-/);
    const bytes = await readFile(file);
    bytes[bytes.length - 30]! ^= 1;
    const bad = join(dir, 'bad.apk');
    await writeFile(bad, bytes);
    const r = await nexus(['packages', 'verify', bad, '--keys', repo.keysDir]);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/nexus: .*(datahash|corrupt)/);
    const official = await nexus(['packages', 'verify', file]);
    expect(official.exitCode).toBe(1);
    expect(official.stderr).toMatch(/not a trusted key/);
  });

  it('exports the cache to one file and imports it elsewhere for offline use', async () => {
    // Fill the cache with the indexes (resolve) — packages come from the fixture test; here indexes suffice for --offline resolve.
    await nexus(['packages', 'resolve', '--profile=tinybox', '--arch=riscv64', '--mirror', repo.mirror, '--keys', repo.keysDir], 'export-src');
    const bundle = join(dir, 'rescue.tar');
    const ex = await nexus(['cache', 'export', bundle, '--keys', repo.keysDir], 'export-src');
    expect(ex.exitCode).toBe(0);
    expect(ex.stdout).toMatch(/Exported 2 indexes/);
    const none = await nexus(['packages', 'resolve', '--profile=tinybox', '--arch=riscv64', '--keys', repo.keysDir, '--offline'], 'export-dst');
    expect(none.exitCode).toBe(1);
    expect(none.stderr).toMatch(/Offline, and the cache lacks the indexes of alpine\/v3\.24\/main\/riscv64/);
    const im = await nexus(['cache', 'import', bundle, '--keys', repo.keysDir], 'export-dst');
    expect(im.exitCode).toBe(0);
    const again = await nexus(['packages', 'resolve', '--profile=tinybox', '--arch=riscv64', '--keys', repo.keysDir, '--offline', '--json'], 'export-dst');
    expect(again.exitCode).toBe(0);
    expect(JSON.parse(again.stdout).packages).toHaveLength(5);
    const info = await nexus(['cache', 'info', '--json'], 'export-dst');
    expect(JSON.parse(info.stdout).indexes).toHaveLength(2);
    // A missing, foreign or truncated file is a clear error.
    const gone = await nexus(['cache', 'import', join(dir, 'nope.tar')], 'export-dst');
    expect(gone.stderr).toMatch(/nope\.tar does not exist/);
    await writeFile(join(dir, 'truncated.tar'), (await readFile(bundle)).subarray(0, 3000));
    const cut = await nexus(['cache', 'import', join(dir, 'truncated.tar'), '--keys', repo.keysDir], 'export-dst');
    expect(cut.exitCode).toBe(1);
    expect(cut.stderr).toMatch(/truncated\.tar is not a readable Nexus cache export .*\n {2}hint: .*copy it again/);
    // Import verifies against local trust: without the repository key it is refused.
    const refused = await nexus(['cache', 'import', bundle], 'export-other');
    expect(refused.exitCode).toBe(1);
    expect(refused.stderr).toMatch(/not a trusted key/);
  });

  it('export: a missing folder or a full disk is a clear error that leaves no file behind', async () => {
    await nexus(['packages', 'resolve', '--profile=tinybox', '--arch=riscv64', '--mirror', repo.mirror, '--keys', repo.keysDir], 'export-fail');
    const missing = await nexus(['cache', 'export', join(dir, 'no-such-folder', 'x.tar'), '--keys', repo.keysDir], 'export-fail');
    expect(missing.exitCode).toBe(1);
    expect(missing.stderr).toMatch(/^nexus: Cannot write .*x\.tar: the folder .*no-such-folder does not exist\.\n {2}hint: /);
    if (process.getuid?.() !== 0) return;
    const full = join(dir, 'full');
    await mkdir(full);
    await execa('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', full]);
    try {
      // Room for the manifest, not for the indexes and keys: the write fails part-way.
      await writeFile(join(full, 'filler'), Buffer.alloc(60 * 1024));
      const r = await nexus(['cache', 'export', join(full, 'x.tar'), '--keys', repo.keysDir], 'export-fail');
      expect(r.exitCode).toBe(1);
      expect(r.stderr).toMatch(/not enough space in .*full for the export \(about .*\); nothing was left behind\.\n {2}hint: /);
      expect(r.stderr).not.toMatch(/\n\s+at /); // a message, not a stack trace
      expect(await readdir(full)).toEqual(['filler']);
    } finally {
      await execa('umount', [full]);
    }
  });
});
