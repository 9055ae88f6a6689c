/**
 * Issue 13: signed packages that try to write on the build host through symlinks, and profile paths that
 * climb out of the image. Each exploit is a REAL signed package repository (test/support/apk-repo.ts) taken
 * through the real feed engine (verify, unpack), the configure stage, staging and mke2fs -d, with a canary
 * directory on the host that the hostile symlink or path points at: the build must fail with a clear error
 * naming the package, and the canary must stay exactly as it was. Legitimate symlinks keep working.
 */
import { execa } from 'execa';
import { lstat, mkdir, mkdtemp, readdir, readFile, readlink, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FeedCache, feedKeys, fetchPackages, loadIndexes, resolvePackages, unpackPackages, type FeedConfig } from '../../../src-main/engine/feeds';
import { configureRoot } from '../../../src-main/engine/image/configure';
import { stageTree } from '../../../src-main/engine/image/staging';
import { makeErofs } from '../../../src-main/engine/image/tools/erofs';
import { makeExt4 } from '../../../src-main/engine/image/tools/ext4';
import type { FsEntry, FsManifest } from '../../../src-main/engine/rootfs/entries';
import { BoxSchema, Filesystems } from '../../../src-shared/catalog';
import { BuildPlanSchema, type ComposePlan } from '../../../src-shared/plan';
import { generateSigningKey, writeApkRepo, type ApkPackageSpec, type TestSigningKey } from '../../support/apk-repo';
import { planFor } from '../../support/image-build';

const EPOCH = 1_700_000_000;
let dir: string;
let key: TestSigningKey;
let basePlan: ComposePlan;

/** What every configurable root needs: a kernel and the service manager. */
const BASE: ApkPackageSpec[] = [
  { name: 'linux-virt', version: '6.12.1-r0', files: [{ path: 'boot' }, { path: 'boot/vmlinuz-virt', content: 'kernel' }] },
  {
    name: 'dinit',
    version: '0.19.4-r0',
    files: [{ path: 'usr' }, { path: 'usr/sbin' }, { path: 'usr/sbin/dinit', content: '#!/bin/sh\n# dinit\n', mode: 0o755 }],
  },
];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'nexus-hostile-'));
  key = generateSigningKey();
  const p = await planFor('tinybox', 'qemu-x86_64', join(dir, 'out.img'));
  basePlan = {
    ...p,
    filesystems: { root: { type: 'ext4', verity: false } },
    kernelModules: [],
    boot: { ...p.boot!, kernelPackage: 'linux-virt', bootPackages: [] },
  };
});
afterAll(() => rm(dir, { recursive: true, force: true }));

let seq = 0;
/** Writes a signed repository with these packages and runs the real feed engine on it (resolve, fetch, verify, unpack). */
async function unpack(pkgs: ApkPackageSpec[], wanted: string[]): Promise<FsManifest> {
  const name = `repo-${++seq}`;
  const repo = await writeApkRepo(join(dir, name), { key, repositories: { main: pkgs } });
  const feed: FeedConfig = { name: 'test', branch: repo.branch, arch: 'x86_64', repositories: ['main'], mirrors: [repo.mirror], keyDirs: [repo.keysDir] };
  const cache = new FeedCache(join(dir, `cache-${name}`));
  const keys = await feedKeys(feed);
  const res = resolvePackages(
    await loadIndexes(feed, keys, { cache }),
    wanted.map((dep) => ({ dep, from: ['test'] })),
  );
  const files = await fetchPackages(
    res.packages.map((p) => p.pkg),
    feed,
    keys,
    { cache },
  );
  return (await unpackPackages(res.installOrder, files, keys, { cache })).manifest;
}

/** Configure stage, staging into a fresh directory, then mke2fs -d: what the ext4 root build does. */
async function buildRoot(manifest: FsManifest, plan: ComposePlan = basePlan): Promise<{ image: string; tree: string }> {
  const work = await mkdtemp(join(dir, 'build-'));
  const configured = await configureRoot(manifest, plan, EPOCH);
  const staged = await stageTree(configured.rootfs, join(work, 'tree'));
  const image = join(work, 'root.ext4');
  await makeExt4(image, staged.dir, {
    sizeBytes: 16 * 1024 * 1024,
    uuid: '5e1f6c1e-0000-4000-8000-000000000013',
    hashSeed: '5e1f6c1e-0000-4000-8000-000000000014',
    label: 'root',
    epoch: EPOCH,
    fixOwnership: staged.ownershipNotApplied,
    scratch: work,
  });
  return { image, tree: staged.dir };
}

interface Canary {
  path: string;
  check(): Promise<void>;
}

/** A host directory a hostile package aims at; check() asserts nothing was added, changed or chmodded in it. */
async function canary(): Promise<Canary> {
  const path = await mkdtemp(join(dir, 'canary-'));
  await writeFile(join(path, 'victim'), 'host data\n', { mode: 0o644 });
  const before = { mode: (await stat(path)).mode, fileMode: (await stat(join(path, 'victim'))).mode };
  return {
    path,
    async check() {
      expect(await readdir(path)).toEqual(['victim']);
      expect(await readFile(join(path, 'victim'), 'utf8')).toBe('host data\n');
      expect((await stat(join(path, 'victim'))).mode).toBe(before.fileMode);
      expect((await stat(path)).mode).toBe(before.mode);
    },
  };
}

async function debugfs(image: string, cmd: string): Promise<string> {
  return (await execa('debugfs', ['-R', cmd, image])).stdout;
}

describe('hostile packages cannot write on the build host', () => {
  it('same package: a file, then a symlink to a host directory over its parent', async () => {
    const c = await canary();
    const evil: ApkPackageSpec = {
      name: 'evil-same',
      version: '1.0-r0',
      files: [{ path: 'x' }, { path: 'x/victim', content: 'pwned\n', mode: 0o4755 }, { path: 'x', target: c.path }],
    };
    const err = await unpack([...BASE, evil], ['evil-same']).catch((e: unknown) => e);
    expect(err).toMatchObject({
      code: 'UNSAFE_PATH',
      message: expect.stringMatching(/evil-same contains "x".*replace the directory \/x with a symlink.*\/x\/victim/),
    });
    expect((err as { hint?: string }).hint).toMatch(/hostile/);
    await c.check();
  });

  it('same package: a symlink to a host directory, then a file under it', async () => {
    const c = await canary();
    const evil: ApkPackageSpec = {
      name: 'evil-order',
      version: '1.0-r0',
      files: [
        { path: 'x', target: c.path },
        { path: 'x/victim', content: 'pwned\n', mode: 0o4755 },
      ],
    };
    await expect(unpack([...BASE, evil], ['evil-order'])).rejects.toMatchObject({
      code: 'UNSAFE_PATH',
      message: expect.stringMatching(/evil-order contains "x\/victim".*parent \/x is a symlink/),
    });
    await c.check();
  });

  it('a package that `replaces` dinit and ships usr/sbin as a symlink to a host directory', async () => {
    const c = await canary();
    const evil: ApkPackageSpec = {
      name: 'evil-replaces',
      version: '1.0-r0',
      depends: ['dinit'],
      replaces: ['dinit'],
      files: [{ path: 'usr' }, { path: 'usr/sbin', target: c.path }],
    };
    await expect(unpack([...BASE, evil], ['linux-virt', 'evil-replaces'])).rejects.toMatchObject({
      code: 'UNSAFE_PATH',
      message: expect.stringMatching(/evil-replaces contains "usr\/sbin".*replace the directory \/usr\/sbin with a symlink.*\/usr\/sbin\/dinit \(from dinit\)/),
    });
    await c.check();
  });

  it('a symlinked usr/sbin installed first: dinit is refused instead of written through it', async () => {
    const c = await canary();
    const evil: ApkPackageSpec = { name: 'evil-first', version: '1.0-r0', replaces: ['dinit'], files: [{ path: 'usr' }, { path: 'usr/sbin', target: c.path }] };
    const dinit: ApkPackageSpec = { ...BASE[1]!, depends: ['evil-first'] };
    await expect(unpack([BASE[0]!, dinit, evil], ['linux-virt', 'dinit'])).rejects.toMatchObject({
      code: 'UNSAFE_PATH',
      message: expect.stringMatching(/dinit contains "usr\/sbin\/dinit".*parent \/usr\/sbin is a symlink.*installed by evil-first/),
    });
    await c.check();
  });

  it.each([
    ['usr/libexec', '/usr/libexec', 'nexus/ready'],
    ['sbin', '/sbin', 'nexus-init'],
  ])('an absolute symlink %s → host directory, where the configure stage generates files', async (link, linkPath, written) => {
    const c = await canary();
    const evil: ApkPackageSpec = {
      name: 'evil-gen',
      version: '1.0-r0',
      files: link.includes('/') ? [{ path: 'usr' }, { path: link, target: c.path }] : [{ path: link, target: c.path }],
    };
    const manifest = await unpack([...BASE, evil], ['linux-virt', 'dinit', 'evil-gen']);
    expect(manifest.get(linkPath)).toMatchObject({ type: 'symlink', owner: 'evil-gen' });
    const err = await buildRoot(manifest).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'UNSAFE_PATH' });
    expect((err as Error).message).toContain(`${linkPath}/${written.split('/')[0]}`);
    expect((err as Error).message).toMatch(new RegExp(`${linkPath.replace(/\//g, '\\/')} is a symlink .*installed by package evil-gen`));
    await c.check();
  });

  it('vault.mountpoint climbing out of the image is a schema error, and the engine refuses it too', async () => {
    const c = await canary();
    const vault = { type: 'dm-crypt', cipher: 'aes-xts-plain64', keyBits: 512, createdOn: 'first-boot' } as const;
    const traversal = `/../../../../../../..${c.path}`;
    const r = Filesystems.safeParse({ root: { type: 'erofs' }, vault: { ...vault, mountpoint: traversal } });
    expect(r.success).toBe(false);
    expect(r.error!.issues[0]).toMatchObject({ path: ['vault', 'mountpoint'], message: expect.stringMatching(/must not contain "\.\." segments/) });
    // The plan schema uses the same rule (a plan from the GUI or a file goes through it).
    const bad = { ...basePlan, filesystems: { root: { type: 'ext4', verity: false }, vault: { ...vault, mountpoint: traversal } } };
    expect(BuildPlanSchema.safeParse(bad).success).toBe(false);
    // A plan that bypassed the schemas is still refused by the engine before anything is written.
    await expect(buildRoot(await unpack(BASE, ['linux-virt', 'dinit']), bad as ComposePlan)).rejects.toMatchObject({
      code: 'UNSAFE_PATH',
      message: expect.stringContaining(traversal),
    });
    await c.check();
  });
});

describe('profile paths are checked by the schemas', () => {
  it.each([
    ['relative', 'etc/x', /absolute/],
    ['dot-dot', '/etc/../../x', /"\.\."/],
    ['dot', '/etc/./x', /"\."/],
    ['double slash', '/etc//x', /"\/\/"/],
    ['trailing slash', '/etc/x/', /end with/],
    ['root', '/', /not its root/],
    ['newline', '/etc/x\ny', /control characters/],
  ])('files[].path: %s is refused', (_n, path, why) => {
    const r = BoxSchema.safeParse({
      name: 'b',
      tier: 'STC-1',
      nickname: 'n',
      philosophy: 'p',
      description: 'd',
      users: ['u'],
      recipe: 'compose',
      architectures: ['x86_64'],
      filesystems: { root: { type: 'erofs' } },
      budgets: { packages: {} },
      files: [{ path, content: 'x' }],
    });
    expect(r.success).toBe(false);
    expect(r.error!.issues.find((i) => i.path.join('.') === 'files.0.path')?.message).toMatch(why);
  });

  it('mount points: normalised and without shell or fstab metacharacters; the defaults stay valid', () => {
    const vault = { type: 'dm-crypt', cipher: 'aes-xts-plain64', keyBits: 512, createdOn: 'first-boot' } as const;
    const ok = Filesystems.parse({ root: { type: 'erofs' }, overlay: { type: 'f2fs', sizeMiB: 256 }, vault });
    expect(ok.vault!.mountpoint).toBe('/vault');
    expect(ok.overlay!.mountpoint).toBe('/var/lib/nexus/state');
    for (const m of ['/vault/', '/mnt/$(reboot)', '/my vault', 'vault', '/'])
      expect(Filesystems.safeParse({ root: { type: 'erofs' }, vault: { ...vault, mountpoint: m } }).success, m).toBe(false);
    expect(Filesystems.safeParse({ root: { type: 'erofs' }, overlay: { type: 'f2fs', sizeMiB: 256, mountpoint: '/var/../../tmp' } }).success).toBe(false);
  });
});

describe('staging never writes outside its directory, even from a broken manifest', () => {
  const entry = (path: string, type: FsEntry['type'], extra: Partial<FsEntry> = {}): FsEntry => ({
    path,
    type,
    mode: type === 'dir' ? 0o755 : 0o644,
    uid: 0,
    gid: 0,
    mtime: EPOCH,
    size: 0,
    owner: 'evil',
    ...extra,
  });

  it.each([
    [
      'an entry under a symlink',
      (c: string) => [
        entry('/x', 'symlink', { linkTarget: c, mode: 0o777 }),
        entry('/x/victim', 'file', { mode: 0o4755, content: { kind: 'inline', data: Buffer.from('pwned') }, size: 5 }),
      ],
      /\/x\/victim.*under \/x, a symlink owned by evil/,
    ],
    [
      'a path with ".."',
      (c: string) => [entry(`/../../../../../..${c}/victim`, 'file', { content: { kind: 'inline', data: Buffer.from('pwned') }, size: 5 })],
      /not an absolute, normalised path/,
    ],
    ['a directory with ".."', (c: string) => [entry(`/../../../../../..${c}`, 'dir', { mode: 0o700 })], /not an absolute, normalised path/],
    [
      'a hard link to a symlink',
      (c: string) => [entry('/x', 'symlink', { linkTarget: `${c}/victim`, mode: 0o777 }), entry('/y', 'hardlink', { linkTarget: '/x' })],
      /hard link to \/x/,
    ],
  ])('refuses %s before writing anything', async (_n, make, why) => {
    const c = await canary();
    const m: FsManifest = new Map(make(c.path).map((e) => [e.path, e]));
    const out = join(await mkdtemp(join(dir, 'stage-')), 'tree');
    await expect(stageTree(m, out)).rejects.toMatchObject({ code: 'UNSAFE_PATH', message: expect.stringMatching(why) });
    await c.check();
  });

  it('refuses to stage into a directory that is not empty (a leftover tree may hold symlinks)', async () => {
    const c = await canary();
    const out = await mkdtemp(join(dir, 'stage-'));
    await mkdir(join(out, 'etc'));
    await expect(stageTree(new Map([['/etc', entry('/etc', 'dir')]]), out)).rejects.toMatchObject({ code: 'STAGING_DIR_NOT_EMPTY' });
    await c.check();
  });
});

describe('legitimate symlinks keep working', () => {
  it('lib64 → lib, absolute and relative symlinks, symlinks to host-looking paths, replaced files: built into ext4 and EROFS, nothing followed', async () => {
    const c = await canary();
    const pkgs: ApkPackageSpec[] = [
      ...BASE,
      {
        name: 'musl',
        version: '1.2.5-r10',
        files: [
          { path: 'lib' },
          { path: 'lib/ld-musl-x86_64.so.1', content: 'musl', mode: 0o755 },
          { path: 'lib/libc.musl-x86_64.so.1', target: 'ld-musl-x86_64.so.1' },
        ],
      },
      {
        name: 'compat',
        version: '1.0-r0',
        depends: ['musl'],
        files: [
          { path: 'lib64', target: 'lib' },
          { path: 'usr' },
          { path: 'usr/bin' },
          { path: 'usr/bin/ldd', target: '/lib/ld-musl-x86_64.so.1' },
          // A package may point a symlink anywhere: it is only ever stored, never followed on the build host.
          { path: 'usr/bin/host-looking', target: `${c.path}/victim` },
          { path: 'etc' },
          { path: 'etc/motd', content: 'old\n' },
        ],
      },
      { name: 'compat-new', version: '1.0-r0', depends: ['compat'], replaces: ['compat'], files: [{ path: 'etc' }, { path: 'etc/motd', content: 'new\n' }] },
    ];
    const manifest = await unpack(pkgs, ['linux-virt', 'dinit', 'compat-new']);
    expect(manifest.get('/etc/motd')!.owner).toBe('compat-new');
    const { image, tree } = await buildRoot(manifest);
    expect(await readlink(join(tree, 'lib64'))).toBe('lib');
    expect((await lstat(join(tree, 'usr/bin/host-looking'))).isSymbolicLink()).toBe(true);
    expect((await stat(join(tree, 'usr/libexec/nexus/ready'))).mode & 0o7777).toBe(0o755);
    await execa('e2fsck', ['-fn', image]);
    expect(await debugfs(image, 'cat /etc/motd')).toBe('new');
    expect(await debugfs(image, 'stat /lib64')).toMatch(/Fast link dest: "lib"/);
    expect(await debugfs(image, 'stat /usr/bin/ldd')).toMatch(/Fast link dest: "\/lib\/ld-musl-x86_64.so.1"/);
    expect(await debugfs(image, 'cat /usr/sbin/dinit')).toContain('# dinit');
    expect(await debugfs(image, 'stat /sbin/init')).toMatch(/Fast link dest: "\/sbin\/nexus-init"/);
    expect(await debugfs(image, 'stat /')).toMatch(/Mode:\s+0755/);
    // The same tree as a read-only EROFS root (the other filesystem made from a staging tree).
    const work = await mkdtemp(join(dir, 'erofs-'));
    const configured = await configureRoot(manifest, { ...basePlan, filesystems: { root: { type: 'erofs', verity: false } } }, EPOCH);
    const staged = await stageTree(configured.rootfs, join(work, 'tree'));
    await makeErofs(join(work, 'root.erofs'), staged.dir, {
      uuid: '5e1f6c1e-0000-4000-8000-000000000015',
      epoch: EPOCH,
      allRoot: staged.ownershipNotApplied.length > 0,
    });
    await execa('fsck.erofs', [join(work, 'root.erofs')]);
    const extracted = join(work, 'extracted');
    await execa('fsck.erofs', [`--extract=${extracted}`, join(work, 'root.erofs')]);
    expect(await readlink(join(extracted, 'lib64'))).toBe('lib');
    expect(await readFile(join(extracted, 'etc/motd'), 'utf8')).toBe('new\n');
    expect((await stat(join(extracted, 'usr/libexec/nexus/ready'))).mode & 0o7777).toBe(0o755);
    await c.check();
  }, 60_000);
});
