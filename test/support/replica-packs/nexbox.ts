/**
 * Replica pack "nexbox": the packages of profiles/boxes/nexbox.yaml (build-base, gcc, make, git, neovim, zsh,
 * python3, openssh-client, apk-tools, sfdisk, partx, e2fsprogs-extra) and their Alpine closure that the base feed
 * and the dragonbox pack do not already carry, for x86_64, aarch64 and riscv64 (the arches nexbox.yaml claims).
 *
 * Metadata: REAL.
 * - main: Alpine's signed v3.23.4 main x86_64 index (ctx.indexSpec: names, versions, depends, provides, origins;
 *   so: names renamed for aarch64/riscv64, inferred: Alpine builds the same versions on every arch), except
 *   musl-dev and ssl_client, whose versions and `musl=` / `busybox=` pins are moved to the feed's musl and busybox
 *   (x86_64: the real musl 1.2.5-r21 and busybox 1.37.0-r30 .apk files; aarch64/riscv64: the minirootfs' 1.2.5-r3
 *   and 1.36.1-r32), since a subpackage pins its parent's exact version.
 * - community (neovim and its libraries libluv, libtermkey, libvterm, msgpack-c, tree-sitter, unibilium): Alpine's
 *   signed v3.19.1 community x86_64 index (../shared/testdata/alpine/official), the newest community index we hold
 *   that has them; their so: dependencies are met by v3.23.4 main (luajit, libuv).
 * - zsh's post-install (aports main/zsh: `add-shell '/bin/zsh'`), so /etc/shells lists it as on Alpine.
 * The resolver's closure of nexbox on this feed is the closure on those real indexes (nexbox-x86.test.ts checks the
 * count against a resolution of the real index files).
 *
 * Payload: only what the nexbox VM tests run, glibc-linked STAND-INs from Debian (debs(), resolved at run time;
 * bookworm for x86_64, trixie for arm64/riscv64, whose files moved to /usr and whose gcc keeps cc1 in libexec)
 * with the ELF closure they load at Debian's paths (ctx.debBinaryFiles); a glibc gcc compiling inside the musl Box
 * is a stand-in for Alpine's musl gcc:
 * - gcc: Debian's gcc driver (as /usr/bin/gcc and cc), cc1, collect2, lto-wrapper, its crt objects, libgcc and
 *   headers; binutils: as and ld.bfd (as /usr/bin/as, ld); musl-dev: glibc's headers (libc6-dev, linux-libc-dev)
 *   under /usr/include and its crt1.o/crti.o/crtn.o, libc.so (its linker script pointed at where the Box has
 *   libc.so.6 and the loader) and libc_nonshared.a; make: Debian's make.
 * - git: Debian's git (every builtin the test uses: init, add, commit, log).
 * - neovim: Debian's nvim with its runtime files (Alpine's /usr/share/nvim/runtime), help pages left out.
 * - zsh: Debian's zsh-static as Alpine's /bin/zsh (all modules built in, so no module files are needed).
 * - python3: Debian's python3.N with its minimal standard library (libpython3.N-minimal) at Debian's
 *   /usr/lib/python3.N (Alpine: python 3.12 in /usr/lib/python3.12).
 * - apk-tools: the REAL apk-tools 2.14.9, built here from the upstream tarball in test/fixtures/upstream (no
 *   Debian suite packages apk-tools; Alpine v3.23 ships 3.0.6, which reads the same v2 indexes and packages), as
 *   /sbin/apk with its libapk.so at /lib; linked against glibc, OpenSSL's libcrypto and zlib; cross-compiled for
 *   aarch64/riscv64 against the arch's Debian libraries (test/support/apk-tools-build.ts).
 * - sfdisk, partx, e2fsprogs-extra: Debian's sfdisk, partx and resize2fs (the first-boot root growth runs them).
 * - git-init-template: Debian git's templates (git init copies them).
 * - every other package: a usr/share/doc/<name>/STAND-IN note (metadata complete, files not).
 * The feed extracts one Debian tree for its tools and every pack, so the glibc files shared with other packages are
 * the same bytes (two packages may own one path only with identical content); the apk-tools build joins that tree.
 */
import { execa } from 'execa';
import { copyFile, lstat, mkdir, readdir, readFile, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import type { ApkFileSpec, ApkPackageSpec } from '../apk-repo';
import { gzipMembers, metaFromStanza, minirootfs, parseIndexText, parseTar, type ReplicaArch } from '../alpine-real';
import { alpineTestdata } from '../alpine-testdata';
import { APK_TOOLS_VERSION, buildApkTools } from '../apk-tools-build';
import type { ReplicaPack, ReplicaPackContext } from './index';

/** The nexbox closure on v3.23.4 main, minus the base feed's and the dragonbox pack's packages. */
const FROM_MAIN = [
  'apk-tools',
  'apk-tools-zsh-completion',
  'binutils',
  'brotli-libs',
  'build-base',
  'c-ares',
  'ca-certificates-bundle',
  'e2fsprogs',
  'e2fsprogs-extra',
  'e2fsprogs-libs',
  'file',
  'fortify-headers',
  'g++',
  'gcc',
  'gcc-zsh-completion',
  'gdbm',
  'git',
  'git-init-template',
  'git-zsh-completion',
  'gmp',
  'isl26',
  'jansson',
  'libapk',
  'libatomic',
  'libbz2',
  'libcap2',
  'libcom_err',
  'libcurl',
  'libedit',
  'libexpat',
  'libfdisk',
  'libffi',
  'libgomp',
  'libidn2',
  'libintl',
  'libmagic',
  'libncursesw',
  'libpanelw',
  'libpsl',
  'libsmartcols',
  'libssl3',
  'libstdc++-dev',
  'libunistring',
  'libuv',
  'luajit',
  'make',
  'mpc1',
  'mpdecimal',
  'mpfr4',
  'musl-dev',
  'ncurses-terminfo-base',
  'nghttp2-libs',
  'openssh-client-common',
  'openssh-client-default',
  'openssh-keygen',
  'partx',
  'patch',
  'pcre2',
  'pyc',
  'python3',
  'python3-pyc',
  'python3-pycache-pyc0',
  'readline',
  'sfdisk',
  'sqlite-libs',
  'ssl_client',
  'xz-libs',
  'zlib',
  'zsh',
  'zstd-libs',
];
const FROM_COMMUNITY_V3191 = ['libluv', 'libtermkey', 'libvterm', 'msgpack-c', 'neovim', 'tree-sitter', 'unibilium'];
/**
 * The versions of the base feed's musl and busybox, which their subpackages here (musl-dev, ssl_client) pin
 * exactly: x86_64 serves Alpine's real musl-1.2.5-r21 and busybox-1.37.0-r30 .apk files, the other arches the
 * minirootfs' musl 1.2.5-r3 and busybox 1.36.1-r32.
 */
async function feedParents(arch: ReplicaArch): Promise<{ musl: string; busybox: string }> {
  if (arch === 'x86_64') return { musl: '1.2.5-r21', busybox: '1.37.0-r30' };
  const installed = (await minirootfs(arch)).installed;
  const v = (n: string) => {
    const version = installed.get(n)?.stanza.V;
    if (!version) throw new Error(`nexbox pack: the ${arch} minirootfs has no ${n}`);
    return version;
  };
  return { musl: v('musl'), busybox: v('busybox') };
}

/** A subpackage moved to its parent's version in the feed: its version, `parent=` pins and versioned provides. */
function pinTo(sp: ApkPackageSpec, parent: string, version: string): void {
  const pin = (d: string) => (d.startsWith(`${parent}=`) ? `${parent}=${version}` : d);
  sp.version = version;
  sp.depends = sp.depends?.map(pin);
  sp.installIf = sp.installIf?.map(pin);
  sp.provides = sp.provides?.map((p) => p.replace(/=.*$/, `=${version}`));
}
/** x86_64 (bookworm). */
const DEBS = ['gcc', 'libc6-dev', 'make', 'git', 'zsh-static', 'python3', 'fdisk', 'util-linux', 'e2fsprogs', 'libssl3', 'zlib1g', 'neovim'];
/** arm64/riscv64 (trixie: OpenSSL's library is libssl3t64), with the headers apk-tools is cross-compiled against. */
const DEBS_TRIXIE = [...DEBS.filter((d) => d !== 'libssl3'), 'libssl3t64', 'libssl-dev', 'zlib1g-dev'];

let community: Map<string, Record<string, string>> | undefined;
export async function communityV3191(): Promise<Map<string, Record<string, string>>> {
  if (!community) {
    const members = gzipMembers(await readFile(alpineTestdata('official', 'v3.19.1-community-x86_64-APKINDEX.tar.gz')));
    const text = parseTar(gunzipSync(members[1]!))
      .find((e) => e.path === 'APKINDEX')!
      .body!.toString('utf8');
    community = new Map(parseIndexText(text).map((s) => [s.P!, s]));
  }
  return community;
}

/**
 * `names` as package specs with Alpine's metadata from the signed v3.19.1 community x86_64 index (t: and c: kept),
 * so: names renamed for another `arch`.
 */
export async function communityV3191Specs(names: readonly string[], arch: ReplicaArch = 'x86_64'): Promise<ApkPackageSpec[]> {
  const comm = await communityV3191();
  return names.map((n) => {
    const st = comm.get(n);
    if (!st) throw new Error(`the v3.19.1 community index has no ${n}`);
    return { ...metaFromStanza(st, arch === 'x86_64' ? undefined : arch), indexFields: { ...(st.t ? { t: st.t } : {}), ...(st.c ? { c: st.c } : {}) } };
  });
}

/** Files of one extracted .deb (paths relative to the tree, without "./"), dirs excluded. */
async function debPaths(ctx: ReplicaPackContext, deb: string): Promise<string[]> {
  const file = ctx.debFiles.get(deb);
  if (!file) throw new Error(`nexbox pack: Debian package ${deb} was not downloaded (debs(${ctx.arch}): ${nexboxPack.debs(ctx.arch).join(', ')})`);
  const { stdout } = await execa('dpkg-deb', ['-c', file]);
  return stdout
    .split('\n')
    .filter((l) => !l.startsWith('d'))
    .map((l) => l.replace(/^.*? \.\//, '').replace(/ -> .*$/, ''))
    .filter(Boolean);
}

/** Regular files and symlinks of the tree, as they are (read now: the tree is removed before the repository is written). */
async function treeFiles(ctx: ReplicaPackContext, paths: string[]): Promise<ApkFileSpec[]> {
  const out: ApkFileSpec[] = [];
  for (const p of paths) {
    const st = await lstat(join(ctx.debTree, p));
    if (st.isSymbolicLink()) out.push({ path: p, type: 'symlink', target: await readlink(join(ctx.debTree, p)) });
    else if (st.isFile()) out.push({ path: p, content: await readFile(join(ctx.debTree, p)), mode: st.mode & 0o7777 });
  }
  return out;
}

/** The first of `candidates` (tree paths) the tree has: trixie moved what bookworm keeps in /bin, /sbin and /lib to /usr. */
async function inTree(ctx: ReplicaPackContext, ...candidates: string[]): Promise<string> {
  for (const c of candidates) if (await lstat(join(ctx.debTree, c)).catch(() => undefined)) return c;
  throw new Error(`nexbox pack: the Debian packages (${ctx.arch}) have none of ${candidates.join(', ')}`);
}

/**
 * glibc's libc.so linker script with its absolute paths moved to where the tree (so the Box) has them: trixie's
 * script names /lib/<triplet>/libc.so.6, which only exists through the merged-/usr link the Box does not have.
 */
async function libcScript(ctx: ReplicaPackContext, path: string): Promise<ApkFileSpec> {
  let text = await readFile(join(ctx.debTree, path), 'utf8');
  for (const abs of new Set(text.match(/\/(usr\/)?lib\/[^\s()]+/g) ?? [])) {
    if (await lstat(join(ctx.debTree, abs)).catch(() => undefined)) continue;
    if (abs.startsWith('/lib/') && (await lstat(join(ctx.debTree, 'usr', abs)).catch(() => undefined))) {
      // The loader keeps its /lib path (debBinaryFiles links it there), everything else is read from /usr/lib.
      if (!/\/lib\/ld-linux[^/]*$/.test(abs)) text = text.replaceAll(abs, `/usr${abs}`);
    } else throw new Error(`nexbox pack: ${path} names ${abs}, which the Debian packages (${ctx.arch}) do not have`);
  }
  return { path, content: text, mode: 0o644 };
}

async function payloads(ctx: ReplicaPackContext): Promise<Record<string, { files: ApkFileSpec[]; what: string }>> {
  const t = ctx.triplet;
  const gccDir = `usr/lib/gcc/${t}`;
  const gccVer = (await readdir(join(ctx.debTree, gccDir))).find((v) => /^\d+$/.test(v));
  if (!gccVer) throw new Error(`nexbox pack: no ${gccDir}/<major> in the Debian gcc packages`);
  const gv = `${gccDir}/${gccVer}`;
  // gcc's programs: bookworm's gcc 12 keeps them beside its libraries, trixie's gcc 14 in libexec.
  const gx = (await lstat(join(ctx.debTree, `usr/libexec/gcc/${t}/${gccVer}/cc1`)).catch(() => undefined)) ? `usr/libexec/gcc/${t}/${gccVer}` : gv;
  const libgccS = await inTree(ctx, `lib/${t}/libgcc_s.so.1`, `usr/lib/${t}/libgcc_s.so.1`);
  const pyExe = (await readdir(join(ctx.debTree, 'usr/bin'))).find((f) => /^python3\.\d+$/.test(f));
  if (!pyExe) throw new Error('nexbox pack: no usr/bin/python3.N in the Debian python3 packages');
  const libc6dev = await debPaths(ctx, 'libc6-dev');
  const linuxHeaders = [...ctx.debFiles.keys()].find((n) => n === 'linux-libc-dev');
  const headers = [...libc6dev, ...(linuxHeaders ? await debPaths(ctx, linuxHeaders) : [])].filter((p) => p.startsWith('usr/include/'));
  const crt = libc6dev.filter((p) => new RegExp(`^usr/lib/${t}/(S?crt1|crti|crtn)\\.o$|^usr/lib/${t}/libc_nonshared\\.a$`).test(p));
  const gccData = (await debPaths(ctx, `libgcc-${gccVer}-dev`)).filter(
    (p) => p.startsWith(`${gv}/`) && /(\.o|libgcc(_eh)?\.a|libgcc_s\.so|include\/[^/]+\.h)$/.test(p),
  );
  const pyMinimal = (await debPaths(ctx, `lib${pyExe}-minimal`)).filter((p) => p.startsWith(`usr/lib/${pyExe}/`));
  // nvim's runtime files (Alpine's path too), without the help pages and the tutor.
  const nvimRuntime = (await debPaths(ctx, 'neovim-runtime')).filter(
    (p) => p.startsWith('usr/share/nvim/runtime/') && !/^usr\/share\/nvim\/runtime\/(doc|tutor)\//.test(p),
  );
  // apk and libapk join the extracted tree, so their ELF closure (libcrypto, zlib, glibc) comes from Debian's packages.
  const apk = await buildApkTools(ctx.work, ctx.arch, ctx.debTree, t);
  for (const d of ['sbin', 'lib']) await mkdir(join(ctx.debTree, d), { recursive: true });
  await copyFile(apk.apk, join(ctx.debTree, 'sbin/apk'));
  await copyFile(apk.lib, join(ctx.debTree, `lib/libapk.so.${APK_TOOLS_VERSION}`));
  const link = (path: string, target: string): ApkFileSpec => ({ path, type: 'symlink', target });
  const bins = (paths: string[]) => ctx.debBinaryFiles(paths);
  // /sbin on every arch, as bookworm has it (trixie moved them to /usr/sbin); the first-boot growth finds them on PATH.
  const atSbin = async (tool: string): Promise<ApkFileSpec[]> => {
    const at = await inTree(ctx, `sbin/${tool}`, `usr/sbin/${tool}`);
    return (await bins([at])).map((f) => (f.path === at ? { ...f, path: `sbin/${tool}` } : f));
  };
  return {
    gcc: {
      files: [
        ...(await bins([`usr/bin/${t}-gcc-${gccVer}`, `${gx}/cc1`, `${gx}/collect2`, `${gx}/lto-wrapper`, `${gx}/liblto_plugin.so`, libgccS])),
        ...(await treeFiles(ctx, gccData)),
        link('usr/bin/gcc', `${t}-gcc-${gccVer}`),
        link('usr/bin/cc', 'gcc'),
        // ld looks in /usr/lib/<triplet> before /usr/lib, where the base feed's libgcc keeps a STAND-IN text file.
        ...(libgccS.startsWith('lib/') ? [link(`usr/lib/${t}/libgcc_s.so.1`, `../../../lib/${t}/libgcc_s.so.1`)] : []),
      ],
      what: `Debian's gcc ${gccVer} driver, cc1, collect2 and lto-wrapper with the libraries they load, libgcc and gcc's own headers (a glibc gcc stands in for Alpine's musl gcc)`,
    },
    binutils: {
      files: [
        ...(await bins([`usr/bin/${t}-as`, `usr/bin/${t}-ld.bfd`])),
        link('usr/bin/as', `${t}-as`),
        link('usr/bin/ld', `${t}-ld.bfd`),
        link('usr/bin/ld.bfd', `${t}-ld.bfd`),
      ],
      what: "Debian's as and ld.bfd with the libraries they load",
    },
    'musl-dev': {
      files: [...(await treeFiles(ctx, [...headers, ...crt])), await libcScript(ctx, `usr/lib/${t}/libc.so`)],
      what: "glibc's headers (libc6-dev, linux-libc-dev), crt objects, libc.so and libc_nonshared.a from Debian, standing in for musl's",
    },
    make: { files: await bins(['usr/bin/make']), what: "Debian's make with the libraries it loads" },
    neovim: {
      files: [...(await bins(['usr/bin/nvim'])), ...(await treeFiles(ctx, nvimRuntime))],
      what: "Debian's nvim with the libraries it loads (LuaJIT, libuv, luv, tree-sitter, ...) and its runtime files at /usr/share/nvim/runtime (no help pages)",
    },
    git: { files: await bins(['usr/bin/git']), what: "Debian's git with the libraries it loads (builtins only: no helpers or docs)" },
    'git-init-template': {
      files: await treeFiles(
        ctx,
        (await debPaths(ctx, 'git')).filter((p) => p.startsWith('usr/share/git-core/templates/')),
      ),
      what: "Debian's git templates",
    },
    zsh: {
      files: [{ path: 'bin/zsh', content: await readFile(join(ctx.debTree, await inTree(ctx, 'bin/zsh-static', 'usr/bin/zsh-static'))), mode: 0o755 }],
      what: "Debian's zsh-static (every module built in) as Alpine's /bin/zsh",
    },
    python3: {
      files: [...(await bins([`usr/bin/${pyExe}`])), link('usr/bin/python3', pyExe), ...(await treeFiles(ctx, pyMinimal))],
      what: `Debian's ${pyExe} with its minimal standard library (lib${pyExe}-minimal) at /usr/lib/${pyExe}`,
    },
    'apk-tools': {
      files: await bins(['sbin/apk']),
      what: `the real apk-tools ${APK_TOOLS_VERSION} built from upstream here (Alpine v3.23: 3.0.6), /sbin/apk and /lib/libapk.so.${APK_TOOLS_VERSION}, linked against glibc, libcrypto and zlib (Debian's, like every payload here)`,
    },
    sfdisk: { files: await atSbin('sfdisk'), what: "Debian's sfdisk (at /sbin) with the libraries it loads" },
    partx: { files: await bins(['usr/bin/partx']), what: "Debian's partx with the libraries it loads" },
    'e2fsprogs-extra': { files: await atSbin('resize2fs'), what: "Debian's resize2fs (at /sbin) with the libraries it loads" },
  };
}

export const nexboxPack: ReplicaPack = {
  id: 'nexbox',
  version: 4,
  debs: (arch) => (arch === 'x86_64' ? DEBS : DEBS_TRIXIE),
  repositoryOf: (name) => (FROM_COMMUNITY_V3191.includes(name) ? 'community' : undefined),
  async specs(ctx) {
    const parents = await feedParents(ctx.arch);
    const specs: ApkPackageSpec[] = [...FROM_MAIN.map((n) => ctx.indexSpec(n)), ...(await communityV3191Specs(FROM_COMMUNITY_V3191, ctx.arch))];
    pinTo(
      specs.find((s) => s.name === 'musl-dev')!,
      'musl',
      parents.musl,
    );
    // ssl_client is installed with busybox (install_if busybox=<version> libssl3): off the feed's busybox, it never would be.
    pinTo(
      specs.find((s) => s.name === 'ssl_client')!,
      'busybox',
      parents.busybox,
    );
    const zsh = specs.find((s) => s.name === 'zsh')!;
    zsh.scripts = { 'post-install': "#!/bin/sh\n\nadd-shell '/bin/zsh'\n\nexit 0\n" };
    const pay = await payloads(ctx);
    const from = `Debian ${ctx.debsUsed.join(', ')}`;
    for (const sp of specs) {
      const p = pay[sp.name];
      sp.files = p
        ? [...p.files, ctx.note(sp.name, `${p.what}; from ${sp.name === 'apk-tools' ? 'upstream apk-tools' : from}.`)]
        : [ctx.note(sp.name, 'Metadata of the real Alpine package; no payload.')];
      sp.description = `STAND-IN payload for ${sp.description ?? sp.name}`;
      delete sp.installedSize;
    }
    return specs;
  },
};
