/**
 * The real dinit for the test feed, built from the upstream tarball in ../shared/testdata/upstream/ (no Debian
 * suite packages dinit; Alpine's mirrors are unreachable). Static, so it runs without Alpine's libstdc++/libgcc,
 * whose feed payloads are stand-ins. x86_64 with the host g++, aarch64 and riscv64 with Debian's cross compilers
 * (apt: g++ make m4 g++-aarch64-linux-gnu g++-riscv64-linux-gnu; see .ci/apt-packages.txt). About 20 s per arch
 * on two cores; the result is cached under the test cache root keyed on the tarball's sha256 and the arch.
 */
import { execa } from 'execa';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export type DinitArch = 'x86_64' | 'aarch64' | 'riscv64';
export const DINIT_BINARIES = ['dinit', 'dinitctl', 'dinitcheck'] as const;
/** Bump when the build recipe changes: cached binaries of an older recipe are rebuilt. */
export const DINIT_RECIPE = 2;

const CROSS: Record<DinitArch, string> = { x86_64: '', aarch64: 'aarch64-linux-gnu-', riscv64: 'riscv64-linux-gnu-' };

export function dinitTarball(): string {
  const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
  const up = process.env.NEXUS_UPSTREAM_TESTDATA ? resolve(process.env.NEXUS_UPSTREAM_TESTDATA) : resolve(repoRoot, '..', 'shared', 'testdata', 'upstream');
  const file = join(up, 'dinit-0.22.1.tar.gz');
  if (!existsSync(file))
    throw new Error(`The dinit source tarball is missing at ${file}: check out shared/ beside the repository or set NEXUS_UPSTREAM_TESTDATA.`);
  return file;
}

export interface BuiltDinit {
  /** Directory holding dinit, dinitctl and dinitcheck (static, stripped). */
  dir: string;
  tarballSha256: string;
  /** Seconds the build took (0 when it came from the cache). */
  buildSeconds: number;
}

/** Builds (or reuses) static dinit binaries for one arch under `cacheRoot`. The caller serialises per arch. */
export async function buildDinit(arch: DinitArch, cacheRoot: string): Promise<BuiltDinit> {
  const tarball = dinitTarball();
  const sha = createHash('sha256')
    .update(await readFile(tarball))
    .digest('hex');
  const dir = join(cacheRoot, `dinit-${sha.slice(0, 16)}-${arch}-r${DINIT_RECIPE}`);
  if (existsSync(join(dir, 'done'))) return { dir, tarballSha256: sha, buildSeconds: 0 };
  const cross = CROSS[arch];
  const cxx = `${cross}g++`;
  for (const tool of [cxx, 'make', 'm4']) {
    if ((await execa('sh', ['-c', `command -v ${tool}`], { reject: false })).exitCode !== 0) {
      throw new Error(
        `Building dinit for ${arch} needs ${tool} (apt-get install g++ make m4 g++-aarch64-linux-gnu g++-riscv64-linux-gnu; CI installs .ci/apt-packages.txt).`,
      );
    }
  }
  const started = Date.now();
  const work = await mkdtemp(join(tmpdir(), `nexus-dinit-${arch}-`));
  try {
    await execa('tar', ['-xzf', tarball, '-C', work]);
    const src = join(work, 'dinit-0.22.1');
    // As Alpine configures it (--exec-prefix=/usr: the binaries live in /usr/sbin; Linux: the control socket is
    // /run/dinitctl — a cross build left to guess the platform gets the BSDs' /var/run/dinitctl, which does not
    // exist before /var is set up); static so it needs no C++ runtime.
    const configure = [
      '--platform=Linux',
      '--exec-prefix=/usr',
      '--sbindir=/usr/sbin',
      '--syscontrolsocket=/run/dinitctl',
      `CXX=${cxx}`,
      'LDFLAGS_BASE=-static',
    ];
    await execa('./configure', [...configure, ...(cross ? ['CXX_FOR_BUILD=g++'] : [])], { cwd: src, env: { LC_ALL: 'C' } });
    await execa('make', ['-j2'], { cwd: src, env: { LC_ALL: 'C' } });
    const tmp = await mkdtemp(join(cacheRoot, `.dinit-${arch}-`));
    for (const b of DINIT_BINARIES) {
      // 0.22.1 builds "dinit-check"; Alpine's 0.21.0 package (alpine-facts.md) names it /usr/sbin/dinitcheck.
      await copyFile(join(src, 'src', b === 'dinitcheck' ? 'dinit-check' : b), join(tmp, b));
      await execa(`${cross}strip`, [join(tmp, b)]);
    }
    const buildSeconds = Math.round((Date.now() - started) / 100) / 10;
    await writeFile(join(tmp, 'BUILD-INFO'), `dinit-0.22.1 sha256 ${sha}\narch ${arch}\ncompiler ${cxx} (static)\nbuild seconds ${buildSeconds}\n`);
    await writeFile(join(tmp, 'done'), '');
    await mkdir(cacheRoot, { recursive: true });
    try {
      await rename(tmp, dir);
    } catch {
      await rm(tmp, { recursive: true, force: true });
    }
    return { dir, tarballSha256: sha, buildSeconds };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
