/**
 * The real apk-tools, built from the upstream tarball in test/fixtures/upstream (see its README.md) for a feed
 * architecture: natively for x86_64 (the host), cross-compiled for aarch64 and riscv64 with Debian bookworm's
 * gcc-aarch64-linux-gnu / gcc-riscv64-linux-gnu (.ci/apt-packages.txt) against the target's own libraries
 * (libc6-dev, libssl-dev, zlib1g-dev) taken from the Debian tree the feed extracted for that arch, so the binary
 * links against exactly the libcrypto, zlib and glibc it is shipped with. The host's dpkg architectures are never
 * changed. The result is cached with the feed that holds it (a feed is rebuilt only when its key changes).
 */
import { execa } from 'execa';
import { existsSync } from 'node:fs';
import { mkdir, symlink } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ReplicaArch } from './alpine-real';

/** apk-tools: the upstream tarball (see test/fixtures/upstream/README.md). */
export const APK_TOOLS_VERSION = '2.14.9';

/** Debian's cross-compiler prefix per feed arch (undefined: the host's own compiler). */
const CROSS: Record<ReplicaArch, string | undefined> = { x86_64: undefined, aarch64: 'aarch64-linux-gnu-', riscv64: 'riscv64-linux-gnu-' };

export interface ApkToolsBuild {
  /** The apk binary (/sbin/apk on Alpine v2). */
  apk: string;
  /** libapk.so.<version> (/lib on Alpine v2). */
  lib: string;
}

/**
 * Builds apk-tools into `work` (about 30 s on two cores). For a foreign arch `debTree` is the extracted Debian tree
 * of that arch (it must hold libc6-dev, libssl-dev and zlib1g-dev) and `triplet` its multiarch triplet.
 */
export async function buildApkTools(work: string, arch: ReplicaArch, debTree: string, triplet: string): Promise<ApkToolsBuild> {
  const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
  const up = process.env.NEXUS_UPSTREAM_TESTDATA ? resolve(process.env.NEXUS_UPSTREAM_TESTDATA) : resolve(repoRoot, 'test', 'fixtures', 'upstream');
  const tarball = join(up, `apk-tools-${APK_TOOLS_VERSION}.tar.gz`);
  if (!existsSync(tarball))
    throw new Error(`The apk-tools source tarball is missing at ${tarball} (test/fixtures/upstream/README.md says where it comes from).`);
  await execa('tar', ['-xzf', tarball, '-C', work]);
  const src = join(work, `apk-tools-${APK_TOOLS_VERSION}`);
  // LUA=no: no Lua on the build host, so `apk --help` prints no long help (the commands are all there).
  const make = ['-j2', 'LUA=no'];
  let env: Record<string, string> = { MAKEFLAGS: '' };
  const cross = CROSS[arch];
  if (cross) {
    const gcc = `${cross}gcc`;
    if ((await execa(gcc, ['--version'], { reject: false })).exitCode !== 0)
      throw new Error(`Cross-building apk-tools for ${arch} needs ${gcc}: apt-get install ${gcc.replace(/-$/, '')} (listed in .ci/apt-packages.txt)`);
    const sysroot = await sysrootOf(work, debTree);
    make.push(`CROSS_COMPILE=${cross}`, `CC=${gcc} --sysroot=${sysroot}`);
    // pkg-config answers for the target: the .pc files of the tree, paths prefixed with the sysroot.
    env = {
      ...env,
      PKG_CONFIG_SYSROOT_DIR: sysroot,
      PKG_CONFIG_LIBDIR: [`${sysroot}/usr/lib/${triplet}/pkgconfig`, `${sysroot}/usr/share/pkgconfig`].join(':'),
    };
  }
  await execa('make', make, { cwd: src, env });
  return { apk: join(src, 'src', 'apk'), lib: join(src, 'src', `libapk.so.${APK_TOOLS_VERSION}`) };
}

/**
 * A sysroot for the cross linker: the tree's /usr hard-linked (same file system, so no copy), and /lib as the
 * merged-/usr link Debian systems have. glibc's libc.so names /lib/<triplet>/libc.so.6, which ld looks up inside
 * the sysroot only when the script's real path is inside it, so a symlink to the tree would not do.
 */
async function sysrootOf(work: string, debTree: string): Promise<string> {
  const sysroot = join(work, 'sysroot');
  await mkdir(sysroot, { recursive: true });
  await execa('cp', ['-al', join(debTree, 'usr'), join(sysroot, 'usr')]);
  // A package that still ships files in /lib: merged into usr/lib, as usrmerge does.
  if (existsSync(join(debTree, 'lib'))) await execa('cp', ['-al', '--no-clobber', `${join(debTree, 'lib')}/.`, join(sysroot, 'usr', 'lib')]);
  await symlink('usr/lib', join(sysroot, 'lib'));
  return sysroot;
}
