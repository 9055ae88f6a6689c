/**
 * The signed APK test feed: a replica of Alpine v3.24 (repositories main, community) plus edge/testing, built
 * here because Alpine's mirrors are unreachable. Every package carries the real Alpine package's name, version,
 * depends, provides, install_if, origin and, where we have real data, its file paths and scripts
 * (test/integration/feeds/test-feed-replica.test.ts fails on drift). Shared by every image test and the bench
 * through a cache directory, so debs are downloaded and dinit is compiled once, and the feed is built once per arch.
 *
 * Layout: <mirror>/v3.24/{main,community}/<arch>/ and <mirror>/edge/testing/<arch>/ (the engine loads the latter as
 * the tagged repository @testing). The keys directory holds the test key and Alpine's x86_64 keys, because the
 * x86_64 busybox, busybox-binsh and musl are Alpine's own signed .apk files served byte for byte.
 *
 * What each package really is (metadata source → payload):
 * - busybox, busybox-binsh, musl
 *   x86_64: REAL. Alpine's signed busybox 1.37.0-r30, busybox-binsh 1.37.0-r30 and musl 1.2.5-r21 .apk files,
 *     byte for byte (index stanzas: the real v3.23.4 ones for busybox/busybox-binsh; musl r21's from its .PKGINFO).
 *   aarch64, riscv64: REAL payload and metadata, repackaged: the files, owners/modes, installed-db metadata
 *     (D/p/r/k/o/triggers) and install scripts (scripts.tar) of busybox 1.36.1-r32 / musl 1.2.5-r3 from Alpine's
 *     minirootfs 20240923 of that arch; test-signed.
 * - dinit (community): metadata from alpine-facts.md (v3.24: 0.21.0, depends so:libc.musl-<arch>.so.1,
 *   so:libgcc_s.so.1, so:libstdc++.so.6; /usr/sbin/{dinit,dinitctl,dinitcheck}, no scripts). Payload: the REAL
 *   upstream dinit 0.22.1 (../shared/testdata/upstream), built statically here (dinit-build.ts).
 * - libstdc++, libgcc: real v3.23.4 index metadata. Payload: STAND-IN (text files at the libraries' paths; the
 *   static dinit does not need them).
 * - linux-virt (x86_64, aarch64), linux-lts (x86_64, aarch64, riscv64), linux-rpi (aarch64): metadata from the
 *   v3.23.4 index (x86_64 virt/lts) or alpine-facts.md (others: v3.24 versions; depends initramfs-generator, plus
 *   linux-firmware-any for lts and linux-firmware-brcm + linux-firmware-cypress for rpi). Payload: STAND-IN, the
 *   Debian kernel linux-image-<arch> currently depends on (bookworm amd64, trixie arm64/riscv64; resolved at run
 *   time, never pinned: debian-apt.ts), in Alpine's layout: /boot/vmlinuz-<flavour>, /boot/config-<flavour>,
 *   /usr/share/kernel/<flavour>/kernel.release, modules under /lib/modules/<release>/ gzip-compressed (.ko.gz, as
 *   Alpine's CONFIG_MODULE_COMPRESS=y with the default GZIP choice), only the modules a Box may need and their
 *   dependencies, with modules.order/modules.builtin/modules.builtin.modinfo but NO modules.dep/alias/softdep
 *   (busybox's .trigger runs depmod for /lib/modules/* on a real install; the engine must do the same). <release>
 *   is the Debian kernel's own (what `uname -r` says when it boots), not Alpine's "6.18.x-0-lts".
 *   DTBs: /boot/dtbs-<flavour>/… for virt/lts, /boot/*.dtb + /boot/overlays/ for rpi (overlays: a STAND-IN README;
 *   bcm2712d0-rpi-5-b.dtb: a STAND-IN copy of Debian's bcm2712-rpi-5-b.dtb).
 * - linux-firmware-none, linux-firmware and its 110 linux-firmware-* dependencies: real v3.23.4 metadata (provider
 *   priorities 1 / 2 for linux-firmware-any, real installed sizes); payload: none (STAND-IN: empty packages).
 * - systemd-efistub (x86_64, aarch64, riscv64), systemd-boot (aarch64): real v3.23.4 metadata; payload: Debian's
 *   EFI stub / boot manager (host's for x86_64, systemd-boot-efi debs for arm64/riscv64). STAND-IN payload.
 * - u-boot-starfive (riscv64): metadata from alpine-facts.md (2026.04); payload: Debian's SPL and FIT. STAND-IN.
 * - cryptsetup, f2fs-tools, wireguard-tools-wg and their closure (cryptsetup-libs, device-mapper-libs, json-c,
 *   libblkid, libcrypto3, libeconf, libuuid, popt, f2fs-tools-libs): real v3.23.4 metadata (so: names renamed for
 *   aarch64/riscv64). Payload: STAND-IN, a STAND-IN note in each library package, and in cryptsetup / f2fs-tools /
 *   wireguard-tools-wg Debian's glibc-linked veritysetup + cryptsetup / mkfs.f2fs / wg (real WireGuard tools) with
 *   the ELF closure they load, at Debian's paths (/sbin or /usr/sbin, /usr/bin, /lib or /usr/lib/<triplet>/, the
 *   loader at its PT_INTERP path): that architecture's Debian packages (bookworm amd64, trixie arm64/riscv64):
 *   cryptsetup-bin, f2fs-tools and wireguard-tools and their Depends closure, resolved from the downloaded Packages
 *   index at run time (never pinned: debian-apt.ts dependencyClosure), the feed's cache keyed on every resolved
 *   name=version; the files are the binaries' DT_NEEDED closure (read from the ELF files themselves), so the
 *   initramfs can run veritysetup on that architecture. One extracted tree serves the tools and every replica pack,
 *   so packages that carry the same glibc file carry identical bytes.
 * - toybox (edge/testing): metadata from alpine-facts.md (0.8.13, only /bin/toybox, no scripts). Payload: STAND-IN,
 *   Debian's static busybox binary (Debian's toybox is linked against glibc).
 * Borrowed payloads are marked: descriptions start with "STAND-IN", and where Alpine's file list is unknown a
 * usr/share/doc/<name>/STAND-IN note carries STAND_IN_NOTE.
 */
import { execa } from 'execa';
import { createHash } from 'node:crypto';
import { createPrivateKey, createPublicKey } from 'node:crypto';
import { existsSync } from 'node:fs';
import { copyFile, lstat, mkdir, readFile, readdir, readlink, rename, rm, writeFile, mkdtemp } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { alpineTestdata } from './alpine-testdata';
import { metaFromStanza, minirootfs, readRealApk, realIndexV3234, type ReplicaArch } from './alpine-real';
import { debs as aptDebs, DEB_SUITE, resolveForFeed, type AptContext, type DebArch, type FeedDebs, type ResolvedDeb } from './debian-apt';
import { buildDinit, dinitTarball, DINIT_BINARIES, DINIT_RECIPE } from './dinit-build';
import { writeApkRepo, type ApkFileSpec, type ApkPackageSpec, type TestSigningKey, type WrittenApkRepo } from './apk-repo';
import { readElfDeps } from '../../src-main/engine/image/elf';
import { parseModinfoAliases, parseModinfoDepends, parseModinfoSoftdepPre } from '../../src-main/engine/image/kernel-modules';
import { packsById, type ReplicaPack } from './replica-packs';

export type FeedArch = ReplicaArch;
const DEB_ARCH: Record<FeedArch, DebArch> = { x86_64: 'amd64', aarch64: 'arm64', riscv64: 'riscv64' };
/** Debian's multiarch triplet of each feed arch (its libraries live in /usr/lib/<triplet>/). */
const TRIPLET: Record<FeedArch, string> = { x86_64: 'x86_64-linux-gnu', aarch64: 'aarch64-linux-gnu', riscv64: 'riscv64-linux-gnu' };
/** Debian packages whose binaries are the payloads of Alpine's cryptsetup / f2fs-tools / wireguard-tools-wg. */
const TOOL_DEBS = ['cryptsetup-bin', 'f2fs-tools', 'wireguard-tools'];
/**
 * Alpine package → the Debian commands that stand in for it, found in the extracted tree where that suite puts
 * them (bookworm: /sbin, trixie: /usr/sbin) and installed at that path.
 */
const TOOL_BINARIES: Record<string, string[]> = { cryptsetup: ['veritysetup', 'cryptsetup'], 'f2fs-tools': ['mkfs.f2fs'], 'wireguard-tools-wg': ['wg'] };
const BIN_DIRS = ['usr/sbin', 'sbin', 'usr/bin', 'bin'];
/** Modules any Box/board in the catalog may ask for; the feed carries these and their dependencies only. */
const WANTED_MODULES = [
  'virtio_blk',
  'virtio_pci',
  'virtio_mmio',
  'virtio_net',
  'ext4',
  'dm-verity',
  'dm-crypt',
  'erofs',
  'f2fs',
  'overlay',
  'wireguard',
  'mmc_block',
  // cryptobox's vault: a LUKS2 file on a loop device, aes-xts-plain64 (XTS and its ECB base are modules in Debian's amd64
  // kernel; ECB is built in on arm64/riscv64), and the kernel cipher API cryptsetup uses for LUKS2 key slots.
  'loop',
  'xts',
  'ecb',
  'algif_skcipher',
  // dragonbox's containers: veth pairs on a CNI bridge, and the nft-backed iptables masquerade the bridge plugin sets up.
  'bridge',
  'br_netfilter',
  'veth',
  'nf_conntrack',
  'nf_nat',
  'nf_tables',
  'nft_compat',
  'nft_chain_nat',
  'xt_MASQUERADE',
  'xt_comment',
  'xt_addrtype',
  'xt_conntrack',
];
/**
 * Bump to rebuild cached feeds after changing this file. 8: the Alpine replica (branch v3.24 + edge/testing).
 * 9: cryptsetup, f2fs-tools and wireguard-tools-wg (+ closure) on aarch64/riscv64, with that arch's Debian binaries.
 * 10: the vault's modules (loop, xts, ecb, algif_skcipher). 11: on x86_64, the host's cryptsetup beside veritysetup.
 * 13: dragonbox's container networking modules. 14: every arch's tools from Debian packages (x86_64 too: one glibc
 * for all payloads, so packs can share it), and wireguard-tools-wg's real `wg` from Debian's wireguard-tools.
 */
const FEED_VERSION = 14;
export const FEED_BRANCH = 'v3.24';
/** Repository → branch directory of the feed (testing exists only on edge). */
export const FEED_REPOSITORIES: Record<string, string> = { main: FEED_BRANCH, community: FEED_BRANCH, testing: 'edge' };

export const STAND_IN_NOTE = 'NEXUS TEST FIXTURE STAND-IN: not the real package, see test/support/debian-test-feed.ts';

/**
 * Facts-based metadata (alpine-facts.md, checked 2026-12) for packages the real data in ../shared/testdata lacks.
 * Revisions ("-r0") are inferred; so are the cmd: provides abuild derives from the installed commands.
 */
export function factsMeta(arch: FeedArch) {
  const libc = `so:libc.musl-${arch}.so.1`;
  const kernel = (name: string, version: string, origin: string, description: string, depends: string[]) => ({
    name,
    version,
    origin,
    description,
    depends,
    provides: [] as string[],
    installIf: [] as string[],
    license: 'GPL-2.0-only',
    url: 'https://www.kernel.org',
  });
  return {
    dinit: {
      name: 'dinit',
      version: '0.21.0-r0',
      origin: 'dinit',
      description: 'Service monitoring / init system',
      license: 'Apache-2.0',
      url: 'https://davmac.org/projects/dinit/',
      depends: [libc, 'so:libgcc_s.so.1', 'so:libstdc++.so.6'],
      provides: ['cmd:dinit=0.21.0-r0', 'cmd:dinitcheck=0.21.0-r0', 'cmd:dinitctl=0.21.0-r0'],
      installIf: [] as string[],
    },
    toybox: {
      name: 'toybox',
      version: '0.8.13-r0',
      origin: 'toybox',
      description: 'Toybox: all-in-one Linux command line',
      license: '0BSD',
      url: 'https://landley.net/toybox/',
      depends: [libc],
      provides: ['cmd:toybox=0.8.13-r0'],
      installIf: [] as string[],
    },
    'u-boot-starfive': {
      name: 'u-boot-starfive',
      version: '2026.04-r0',
      origin: 'u-boot-starfive',
      description: 'U-Boot for the StarFive VisionFive 2',
      license: 'GPL-2.0-or-later',
      url: 'https://www.denx.de/wiki/U-Boot/',
      depends: [] as string[],
      provides: [] as string[],
      installIf: [] as string[],
    },
    'linux-virt': arch === 'aarch64' ? kernel('linux-virt', '6.18.26-r0', 'linux-lts', 'Linux lts kernel', ['initramfs-generator']) : undefined,
    'linux-lts':
      arch === 'aarch64'
        ? kernel('linux-lts', '6.18.26-r0', 'linux-lts', 'Linux lts kernel', ['initramfs-generator', 'linux-firmware-any'])
        : arch === 'riscv64'
          ? kernel('linux-lts', '6.18.29-r0', 'linux-lts', 'Linux lts kernel', ['initramfs-generator', 'linux-firmware-any'])
          : undefined,
    'linux-rpi':
      arch === 'aarch64'
        ? kernel('linux-rpi', '6.12.85-r0', 'linux-rpi', 'Linux kernel with Raspberry Pi patches', [
            'initramfs-generator',
            'linux-firmware-brcm',
            'linux-firmware-cypress',
          ])
        : undefined,
  };
}

/** cryptobox's tools and their Alpine closure (metadata from the v3.23.4 index on every arch). */
const CRYPTOBOX_TOOLS = [
  'cryptsetup',
  'cryptsetup-libs',
  'device-mapper-libs',
  'json-c',
  'libblkid',
  'libcrypto3',
  'libeconf',
  'libuuid',
  'popt',
  'f2fs-tools',
  'f2fs-tools-libs',
  'wireguard-tools-wg',
];

/** Packages whose metadata is the real v3.23.4 index's (arch-renamed so: names for aarch64/riscv64). */
export const FROM_V3234_INDEX = {
  all: ['libstdc++', 'libgcc', 'linux-firmware-none', 'linux-firmware', 'systemd-efistub'],
  x86_64: ['linux-virt', 'linux-lts', ...CRYPTOBOX_TOOLS],
  aarch64: ['systemd-boot', ...CRYPTOBOX_TOOLS],
  riscv64: [...CRYPTOBOX_TOOLS],
};

export function testCacheRoot(): string {
  return process.env.NEXUS_TEST_DEBS ?? join(homedir(), '.cache', 'nexus-test-debs');
}

/** Files of a .deb (paths without "./"), extracted into dir. */
async function extractDeb(deb: string, dir: string, patterns: string[]): Promise<void> {
  await mkdir(dir, { recursive: true });
  const tarStream = execa('dpkg-deb', ['--fsys-tarfile', deb], { buffer: false });
  const untar = execa('tar', ['-x', '-C', dir, '--wildcards', ...patterns], { stdin: 'pipe' });
  tarStream.stdout!.pipe(untar.stdin!);
  await Promise.all([
    tarStream,
    untar.catch((e: unknown) => {
      if (!String(e).includes('Not found in archive')) throw e;
    }),
  ]);
}

async function walk(dir: string, base = dir): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await walk(p, base)));
    else out.push(p.slice(base.length + 1));
  }
  return out.sort();
}

const moduleName = (file: string) =>
  file
    .replace(/^.*\//, '')
    .replace(/\.ko(\.(xz|gz|zst))?$/, '')
    .replace(/-/g, '_');

async function moduleBytes(path: string): Promise<Buffer> {
  if (path.endsWith('.xz')) return Buffer.from((await execa('xz', ['-dc', path], { encoding: 'buffer' })).stdout);
  if (path.endsWith('.zst')) return Buffer.from((await execa('zstd', ['-dc', path], { encoding: 'buffer' })).stdout);
  return readFile(path);
}

interface KernelMeta {
  name: string;
  version: string;
  origin?: string;
  description?: string;
  depends: string[];
  provides: string[];
  installIf: string[];
  license?: string;
  url?: string;
  maintainer?: string;
  installedSize?: number;
}

/**
 * Kernel package in Alpine's layout from a Debian kernel .deb: /boot/vmlinuz-<flavour>, /boot/config-<flavour>,
 * kernel.release, the wanted modules (+ dependencies and softdep providers) recompressed to .ko.gz, no modules.dep.
 */
async function kernelPackage(
  deb: string,
  work: string,
  flavour: string,
  meta: KernelMeta,
  dtbs: Array<{ from: string; to: string }>,
  extraModules: string[] = [],
): Promise<ApkPackageSpec> {
  const dir = join(work, `k-${flavour}`);
  await extractDeb(deb, dir, ['./boot/vmlinu*', './boot/config-*', './lib/modules/*', './usr/lib/modules/*', './usr/lib/linux-image-*']);
  const modRoot = existsSync(join(dir, 'usr/lib/modules')) ? join(dir, 'usr/lib/modules') : join(dir, 'lib/modules');
  const kver = (await readdir(modRoot))[0]!;
  const all = (await walk(join(modRoot, kver))).filter((f) => /\.ko(\.xz|\.gz|\.zst)?$/.test(f));
  const byName = new Map(all.map((f) => [moduleName(f), f]));
  const queue = [...WANTED_MODULES, ...extraModules].map((m) => m.replace(/-/g, '_'));
  const chosen = new Set<string>();
  // A softdep names an alias ("crc32c"): carry its provider too, generic C code first (crc32c-intel needs SSE4.2,
  // which QEMU's default TCG CPU does not have).
  const provider = async (alias: string): Promise<string | undefined> => {
    if (byName.has(alias.replace(/-/g, '_'))) return alias.replace(/-/g, '_');
    const stem = alias.replace(/^crypto-/, '').replace(/-/g, '_');
    const candidates = [...byName.keys()]
      .filter((n) => n.startsWith(stem))
      .sort((a, b) => Number(b.includes('generic')) - Number(a.includes('generic')) || a.localeCompare(b));
    for (const c of candidates) if (parseModinfoAliases(await moduleBytes(join(modRoot, kver, byName.get(c)!))).includes(alias)) return c;
    return undefined;
  };
  const raw = new Map<string, Buffer>();
  while (queue.length) {
    const m = queue.shift()!;
    const f = byName.get(m);
    if (!f || chosen.has(m)) continue;
    chosen.add(m);
    const bytes = await moduleBytes(join(modRoot, kver, f));
    raw.set(m, bytes);
    queue.push(...parseModinfoDepends(bytes).map((x) => x.replace(/-/g, '_')));
    for (const a of parseModinfoSoftdepPre(bytes)) {
      const p = await provider(a);
      if (p) queue.push(p);
    }
  }
  const files: ApkFileSpec[] = [];
  const boot = await readdir(join(dir, 'boot'));
  files.push({
    path: `boot/vmlinuz-${flavour}`,
    content: await readFile(
      join(
        dir,
        'boot',
        boot.find((b) => b.startsWith('vmlinu'))!,
      ),
    ),
    mode: 0o644,
  });
  const config = boot.find((b) => b.startsWith('config-'));
  if (config) files.push({ path: `boot/config-${flavour}`, content: await readFile(join(dir, 'boot', config)), mode: 0o644 });
  const order: string[] = [];
  for (const m of [...chosen].sort()) {
    const rel = byName.get(m)!.replace(/\.ko(\.(xz|gz|zst))?$/, '.ko.gz');
    order.push(rel);
    files.push({ path: `lib/modules/${kver}/${rel}`, content: gzipSync(raw.get(m)!, { level: 9 }), mode: 0o644 });
  }
  files.push({ path: `lib/modules/${kver}/modules.order`, content: order.map((r) => r.replace(/\.gz$/, '')).join('\n') + '\n', mode: 0o644 });
  for (const f of ['modules.builtin', 'modules.builtin.modinfo']) {
    if (existsSync(join(modRoot, kver, f))) files.push({ path: `lib/modules/${kver}/${f}`, content: await readFile(join(modRoot, kver, f)), mode: 0o644 });
  }
  files.push({ path: `usr/share/kernel/${flavour}/kernel.release`, content: `${kver}\n`, mode: 0o644 });
  const dtbBase = existsSync(join(dir, 'usr/lib')) ? (await readdir(join(dir, 'usr/lib'))).find((x) => x.startsWith('linux-image-')) : undefined;
  for (const d of dtbs) {
    if (!dtbBase) throw new Error(`no device trees in ${deb}`);
    files.push({ path: d.to, content: await readFile(join(dir, 'usr/lib', dtbBase, d.from)), mode: 0o644 });
  }
  const { installedSize: _real, ...m } = meta; // the real I: counts Alpine's full module tree; ours is pruned
  return { ...m, description: `STAND-IN payload (Debian ${deb.replace(/^.*\//, '')}, pruned modules) for ${meta.description ?? meta.name}`, files };
}

/**
 * Binaries of an extracted Debian tree and the ELF closure they load (PT_INTERP, DT_NEEDED, read from the files),
 * at Debian's paths: libraries where their packages put them (/usr/lib/<triplet>/, symlinks kept), the loader also
 * at its PT_INTERP path (/lib/ld-linux-…; on merged-/usr Debian that is /usr/lib/…, so a symlink here).
 */
async function debBinaryFiles(tree: string, binaries: string[], triplet: string): Promise<ApkFileSpec[]> {
  const files = new Map<string, ApkFileSpec>();
  const searchDirs = [`usr/lib/${triplet}`, `lib/${triplet}`, 'usr/lib', 'lib'];
  const kind = async (rel: string) => await lstat(join(tree, rel)).catch(() => undefined);
  const add = async (rel: string): Promise<void> => {
    if (files.has(rel)) return;
    const st = await kind(rel);
    if (!st && /^(lib|bin|sbin)\//.test(rel) && (await kind(`usr/${rel}`))) {
      // Merged /usr: Debian ships usr/lib/…; the path the ELF names (PT_INTERP) becomes a link to the real file.
      const real = await realInTree(tree, `usr/${rel}`);
      files.set(rel, { path: rel, type: 'symlink', target: relative(dirname(rel), real) });
      return add(real);
    }
    if (!st) throw new Error(`the Debian packages for the feed have no ${rel}`);
    if (st.isSymbolicLink()) {
      const target = await readlink(join(tree, rel));
      files.set(rel, { path: rel, type: 'symlink', target });
      return add(target.startsWith('/') ? target.slice(1) : join(dirname(rel), target));
    }
    const content = await readFile(join(tree, rel));
    files.set(rel, { path: rel, content, mode: st.mode & 0o7777 });
    const deps = readElfDeps(content);
    if (!deps) return;
    if (deps.interp) await add(deps.interp.slice(1));
    for (const lib of deps.needed) {
      let hit: string | undefined;
      for (const d of searchDirs) if (!hit && (await kind(`${d}/${lib}`))) hit = `${d}/${lib}`;
      if (!hit) throw new Error(`${rel} needs ${lib}, which none of the Debian packages extracted for the feed has`);
      await add(hit);
    }
  };
  for (const b of binaries) await add(b);
  return [...files.values()].sort((a, b) => a.path.localeCompare(b.path));
}

/** The path (relative to tree) a path in an extracted tree resolves to, following symlinks. */
async function realInTree(tree: string, rel: string): Promise<string> {
  for (let i = 0; i < 40; i++) {
    const st = await lstat(join(tree, rel));
    if (!st.isSymbolicLink()) return rel;
    const t = await readlink(join(tree, rel));
    rel = t.startsWith('/') ? t.slice(1) : join(dirname(rel), t);
  }
  throw new Error(`symlink loop at ${rel}`);
}

const note = (name: string, what: string): ApkFileSpec => ({ path: `usr/share/doc/${name}/STAND-IN`, content: `${STAND_IN_NOTE}\n${what}\n`, mode: 0o644 });

/** Real packages from the minirootfs of `arch`, repackaged with their installed-db metadata, files and scripts. */
async function fromMinirootfs(arch: FeedArch, name: string): Promise<ApkPackageSpec | undefined> {
  const mr = await minirootfs(arch);
  const pkg = mr.installed.get(name);
  if (!pkg) return undefined;
  const st = pkg.stanza;
  const acl = (a?: string) => (a ? a.split(':') : undefined);
  const files: ApkFileSpec[] = [];
  for (const d of pkg.dirs) {
    const e = mr.entries.get(d.path);
    const [uid, gid, mode] = acl(d.acl) ?? [String(e?.uid ?? 0), String(e?.gid ?? 0), (e?.mode ?? 0o755).toString(8)];
    files.push({ path: d.path, type: 'dir', mode: parseInt(mode!, 8), uid: Number(uid), gid: Number(gid) });
  }
  for (const f of pkg.files) {
    const e = mr.entries.get(f.path);
    if (!e) throw new Error(`minirootfs ${arch} lacks ${f.path} of ${name}`);
    const [uid, gid, mode] = acl(f.acl) ?? [String(e.uid), String(e.gid), e.mode.toString(8)];
    if (e.type === 'symlink') files.push({ path: f.path, type: 'symlink', target: e.target!, uid: Number(uid), gid: Number(gid) });
    else files.push({ path: f.path, content: e.body!, mode: parseInt(mode!, 8), uid: Number(uid), gid: Number(gid) });
  }
  const scripts: ApkPackageSpec['scripts'] = {};
  for (const [k, v] of mr.scripts.get(name) ?? []) (scripts as Record<string, string>)[k.slice(1)] = v;
  return {
    ...metaFromStanza(st),
    installedSize: undefined,
    replaces: st.r ? st.r.split(' ') : undefined,
    triggers: mr.triggers.get(name),
    files,
    scripts,
    indexFields: { ...(st.t ? { t: st.t } : {}), ...(st.c ? { c: st.c } : {}) },
  } as ApkPackageSpec;
}

async function realApkSpec(rel: string, indexStanza?: Record<string, string>): Promise<ApkPackageSpec> {
  const apk = await readRealApk(alpineTestdata('official', 'packages', rel));
  const one = (k: string) => apk.pkginfo.get(k)?.[0];
  const many = (k: string) => apk.pkginfo.get(k) ?? [];
  if (indexStanza && indexStanza.C !== apk.checksum) throw new Error(`${rel}: its C: ${apk.checksum} is not the index's ${indexStanza.C}`);
  return {
    name: one('pkgname')!,
    version: one('pkgver')!,
    arch: 'x86_64',
    description: one('pkgdesc'),
    url: one('url'),
    license: one('license'),
    origin: one('origin'),
    maintainer: one('maintainer'),
    depends: many('depend'),
    provides: many('provides'),
    ...(one('provider_priority') ? { providerPriority: Number(one('provider_priority')) } : {}),
    prebuilt: apk.bytes,
    // The real index's stanza when it lists this file; otherwise what `apk index` writes from the .PKGINFO.
    indexFields: indexStanza ? { ...indexStanza } : { A: 'x86_64', t: one('builddate')!, c: one('commit')! },
  };
}

function indexSpec(index: Map<string, Record<string, string>>, name: string, arch: FeedArch): ApkPackageSpec {
  const st = index.get(name);
  if (!st) throw new Error(`the v3.23.4 index has no ${name}`);
  return { ...metaFromStanza(st, arch === 'x86_64' ? undefined : arch), indexFields: { t: st.t!, c: st.c! } };
}

async function buildSpecs(
  arch: FeedArch,
  ctx: AptContext,
  kernel: ResolvedDeb,
  tools: ResolvedDeb[],
  dinitDir: string,
  packs: ReplicaPack[] = [],
): Promise<ApkPackageSpec[]> {
  const work = await mkdtemp(join(tmpdir(), 'nexus-test-feed-'));
  const index = await realIndexV3234();
  try {
    const debs = await aptDebs(ctx, [
      kernel,
      'busybox-static',
      ...(arch === 'riscv64' ? ['u-boot-starfive'] : []),
      ...(arch !== 'x86_64' ? ['systemd-boot-efi'] : []),
    ]);
    const kdeb = debs.get(kernel.name)!;
    // The Debian closure of the tools and of the packs' debs, extracted into one tree.
    const toolDebs = tools.length ? await aptDebs(ctx, tools) : new Map<string, string>();
    const tree = join(work, 'tools');
    await mkdir(tree, { recursive: true });
    for (const t of tools) await execa('dpkg-deb', ['-x', toolDebs.get(t.name)!, tree]);
    // cryptsetup / f2fs-tools / wireguard-tools-wg payloads: this arch's Debian binaries with the libraries they load.
    const from = tools.map((t) => `${t.name} ${t.version}`).join(', ');
    const toolFiles = async (n: string): Promise<ApkFileSpec[]> => {
      const paths = await Promise.all(
        TOOL_BINARIES[n]!.map(async (b) => {
          for (const d of BIN_DIRS) if (await lstat(join(tree, d, b)).catch(() => undefined)) return `${d}/${b}`;
          throw new Error(`the Debian packages for the feed (${from}) have no ${b}`);
        }),
      );
      return [
        ...(await debBinaryFiles(tree, paths, TRIPLET[arch])),
        note(
          n,
          `Debian ${DEB_SUITE[DEB_ARCH[arch]]} ${DEB_ARCH[arch]} ${paths.map((b) => `/${b}`).join(', ')} with the glibc libraries they load, taken from the Depends closure of ${TOOL_DEBS.join(', ')}: ${from}.`,
        ),
      ];
    };
    const facts = factsMeta(arch);
    const specs: ApkPackageSpec[] = [];

    // busybox, busybox-binsh, musl: real.
    if (arch === 'x86_64') {
      specs.push(await realApkSpec('x86_64/busybox-1.37.0-r30.apk', index.get('busybox')!.V === '1.37.0-r30' ? index.get('busybox') : undefined));
      specs.push(await realApkSpec('noarch/busybox-binsh-1.37.0-r30.apk', index.get('busybox-binsh')));
      specs.push(await realApkSpec('x86_64/musl-1.2.5-r21.apk'));
    } else {
      for (const n of ['busybox', 'busybox-binsh', 'musl']) {
        const sp = await fromMinirootfs(arch, n);
        if (sp) specs.push(sp);
      }
    }

    // dinit: the real upstream binaries, Alpine's path and metadata.
    specs.push({
      ...facts.dinit,
      description: `STAND-IN version: upstream dinit 0.22.1 built statically as Alpine's dinit ${facts.dinit.version}`,
      files: [
        { path: 'usr', type: 'dir' },
        { path: 'usr/sbin', type: 'dir' },
        ...DINIT_BINARIES.map((b) => ({ path: `usr/sbin/${b}`, source: join(dinitDir, b), mode: 0o755 })),
      ],
    });

    for (const n of [...FROM_V3234_INDEX.all, ...FROM_V3234_INDEX[arch]]) {
      if (n === 'linux-virt' || n === 'linux-lts') continue; // below, with the kernel payload
      const sp = indexSpec(index, n, arch);
      const efi = { x86_64: 'x64', aarch64: 'aa64', riscv64: 'riscv64' }[arch];
      if (n === 'libstdc++')
        sp.files = [
          { path: 'usr/lib/libstdc++.so.6.0.34', content: `${STAND_IN_NOTE}\n`, mode: 0o755 },
          { path: 'usr/lib/libstdc++.so.6', target: 'libstdc++.so.6.0.34' },
        ];
      else if (n === 'libgcc') sp.files = [{ path: 'usr/lib/libgcc_s.so.1', content: `${STAND_IN_NOTE}\n`, mode: 0o644 }];
      else if (n === 'systemd-efistub') {
        let stub = '/usr/lib/systemd/boot/efi/linuxx64.efi.stub';
        if (arch !== 'x86_64') {
          await extractDeb(debs.get('systemd-boot-efi')!, join(work, 'sb'), ['./usr/lib/systemd/boot/efi/*']);
          stub = join(work, 'sb', `usr/lib/systemd/boot/efi/linux${efi}.efi.stub`);
        }
        sp.files = [{ path: `usr/lib/systemd/boot/efi/linux${efi}.efi.stub`, content: await readFile(stub), mode: 0o644 }];
      } else if (n === 'systemd-boot') {
        await extractDeb(debs.get('systemd-boot-efi')!, join(work, 'sb'), ['./usr/lib/systemd/boot/efi/*']);
        sp.files = [
          {
            path: `usr/lib/systemd/boot/efi/systemd-boot${efi}.efi`,
            content: await readFile(join(work, 'sb', `usr/lib/systemd/boot/efi/systemd-boot${efi}.efi`)),
            mode: 0o644,
          },
        ];
      } else if (TOOL_BINARIES[n]) sp.files = await toolFiles(n);
      else if (!n.startsWith('linux-firmware')) sp.files = [note(n, 'Metadata of the real package; no payload.')];
      if (sp.files?.length && !n.startsWith('linux-firmware')) sp.description = `STAND-IN payload for ${sp.description}`;
      if (sp.files?.length) delete sp.installedSize;
      specs.push(sp);
      if (n === 'linux-firmware') for (const d of sp.depends ?? []) specs.push(indexSpec(index, d.replace(/=.*$/, ''), arch));
    }

    // Kernels (with the modules the packs ask for too).
    const packModules = [...new Set(packs.flatMap((p) => p.modules?.(arch) ?? []))];
    const kmeta = (name: 'linux-virt' | 'linux-lts' | 'linux-rpi'): KernelMeta => {
      if (arch === 'x86_64') return { ...indexSpec(index, name, arch), depends: index.get(name)!.D!.split(' '), provides: [], installIf: [] } as KernelMeta;
      const f = facts[name];
      if (!f) throw new Error(`no ${name} for ${arch}`);
      return f;
    };
    if (arch === 'x86_64') {
      specs.push(await kernelPackage(kdeb, work, 'virt', kmeta('linux-virt'), [], packModules));
      specs.push(await kernelPackage(kdeb, work, 'lts', kmeta('linux-lts'), [], packModules));
    } else if (arch === 'aarch64') {
      const pi5 = 'broadcom/bcm2712-rpi-5-b.dtb';
      specs.push(await kernelPackage(kdeb, work, 'virt', kmeta('linux-virt'), [{ from: pi5, to: `boot/dtbs-virt/${pi5}` }], packModules));
      specs.push(await kernelPackage(kdeb, work, 'lts', kmeta('linux-lts'), [{ from: pi5, to: `boot/dtbs-lts/${pi5}` }], packModules));
      // Debian has no D0-stepping tree: a STAND-IN copy of the C1 tree keeps the board's file list complete.
      const rpi = await kernelPackage(
        kdeb,
        work,
        'rpi',
        kmeta('linux-rpi'),
        [
          { from: pi5, to: 'boot/bcm2712-rpi-5-b.dtb' },
          { from: pi5, to: 'boot/bcm2712d0-rpi-5-b.dtb' },
        ],
        packModules,
      );
      rpi.files!.push({ path: 'boot/overlays/README', content: `${STAND_IN_NOTE}\nThe real linux-rpi ships the Raspberry Pi overlays here.\n`, mode: 0o644 });
      specs.push(rpi);
    } else {
      specs.push(
        await kernelPackage(
          kdeb,
          work,
          'lts',
          kmeta('linux-lts'),
          [
            { from: 'starfive/jh7110-starfive-visionfive-2-v1.3b.dtb', to: 'boot/dtbs-lts/starfive/jh7110-starfive-visionfive-2-v1.3b.dtb' },
            { from: 'starfive/jh7110-starfive-visionfive-2-v1.2a.dtb', to: 'boot/dtbs-lts/starfive/jh7110-starfive-visionfive-2-v1.2a.dtb' },
          ],
          packModules,
        ),
      );
      const ub = join(work, 'ub');
      await extractDeb(debs.get('u-boot-starfive')!, ub, ['./usr/lib/u-boot/starfive_visionfive2/*']);
      const files: ApkFileSpec[] = [];
      for (const f of ['u-boot-spl.bin.normal.out', 'u-boot.itb'])
        files.push({
          path: `usr/share/u-boot/starfive_visionfive2/${f}`,
          content: await readFile(join(ub, 'usr/lib/u-boot/starfive_visionfive2', f)),
          mode: 0o644,
        });
      specs.push({ ...facts['u-boot-starfive'], description: `STAND-IN payload (Debian ${debs.get('u-boot-starfive')!.replace(/^.*\//, '')})`, files });
    }

    // toybox (edge/testing): only /bin/toybox.
    const bb = join(work, 'busybox');
    await extractDeb(debs.get('busybox-static')!, bb, ['./bin/busybox', './usr/bin/busybox']);
    specs.push({
      ...facts.toybox,
      description: `STAND-IN payload: Debian's static busybox (${debs.get('busybox-static')!.replace(/^.*\//, '')}) as /bin/toybox`,
      files: [
        { path: 'bin', type: 'dir' },
        {
          path: 'bin/toybox',
          content: await readFile(existsSync(join(bb, 'bin/busybox')) ? join(bb, 'bin/busybox') : join(bb, 'usr/bin/busybox')),
          mode: 0o755,
        },
      ],
    });

    // Replica packs asked for by the test.
    const names = new Set(specs.map((sp) => sp.name));
    for (const pack of packs) {
      await mkdir(join(work, `pack-${pack.id}`), { recursive: true });
      const packSpecs = await pack.specs({
        arch,
        work: join(work, `pack-${pack.id}`),
        triplet: TRIPLET[arch],
        debTree: tree,
        debFiles: toolDebs,
        debsUsed: tools.map((t) => `${t.name}=${t.version}`),
        debBinaryFiles: (binaries) => debBinaryFiles(tree, binaries, TRIPLET[arch]),
        indexSpec: (name) => indexSpec(index, name, arch),
        inIndex: (name) => index.has(name),
        note,
        standInNote: STAND_IN_NOTE,
      });
      for (const sp of packSpecs) {
        if (names.has(sp.name)) throw new Error(`replica pack ${pack.id}: ${sp.name} is already in the feed`);
        names.add(sp.name);
        specs.push(sp);
      }
    }
    return specs;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** Repository of a feed package, as in Alpine. */
export const repositoryOf = (name: string) => (name === 'toybox' ? 'testing' : name === 'dinit' ? 'community' : 'main');
/** Alpine's keys for the x86_64 packages served byte for byte (resources/keys/alpine, per the corpus README). */
const ALPINE_X86_64_KEYS = ['4a6a0840', '5261cecb', '6165ee59'].map((k) => `alpine-devel@lists.alpinelinux.org-${k}.rsa.pub`);
const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

export interface TestFeed extends WrittenApkRepo {
  /** The feed's Alpine arch. */
  arch: FeedArch;
  key: TestSigningKey;
  packageNames: string[];
}

/** Stable signing key kept in the cache so the cached feed stays valid across test runs. */
async function cachedKey(root: string): Promise<TestSigningKey> {
  const file = join(root, 'feed-key.pem');
  if (!existsSync(file)) {
    const { generateSigningKey } = await import('./apk-repo');
    const k = generateSigningKey('nexus-test-feed.rsa.pub');
    const tmp = `${file}.${process.pid}`;
    await writeFile(tmp, k.privateKey.export({ type: 'pkcs8', format: 'pem' }));
    await rename(tmp, file);
  }
  const privateKey = createPrivateKey(await readFile(file));
  return { pubName: 'nexus-test-feed.rsa.pub', privateKey, publicPem: createPublicKey(privateKey).export({ type: 'spki', format: 'pem' }).toString() };
}

/** A directory lock shared by the test processes vitest runs in parallel (apt-get download must not run twice at once). */
async function withLock<T>(path: string, fn: () => Promise<T>): Promise<T> {
  for (let waited = 0; ; waited += 250) {
    try {
      await mkdir(path);
      break;
    } catch (err) {
      if ((err as { code?: string }).code !== 'EEXIST') throw err;
      if (waited > 600_000) await rm(path, { recursive: true, force: true }); // stale lock of a killed run
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  try {
    return await fn();
  } finally {
    await rm(path, { recursive: true, force: true });
  }
}

/** Builds (or reuses) the test feed for one arch. Safe to call from parallel test files. */
export async function debianTestFeed(arch: FeedArch, opts: { packs?: string[] } = {}): Promise<TestFeed> {
  const root = testCacheRoot();
  await mkdir(root, { recursive: true });
  const packs = packsById(opts.packs ?? []);
  return withLock(join(root, `.lock-${arch}`), () => buildOrReuse(arch, root, packs));
}

/**
 * The feed's cache directory: keyed on what was resolved (the Debian kernel's name and version, and those of every
 * package of the tools' closure), never on a pinned name, plus the feed layout version and the signing key.
 */
export function feedDirName(
  arch: FeedArch,
  kernel: ResolvedDeb,
  publicPem: string,
  dinitSha = '',
  tools: ResolvedDeb[] = [],
  packs: ReplicaPack[] = [],
): string {
  const toolKey = tools.map((t) => `${t.name}=${t.version}`).join(',');
  const packKey = packs.map((p) => `${p.id}@${p.version}`).join(',');
  const id = createHash('sha256')
    .update(
      `${FEED_VERSION}:${arch}:${kernel.name}=${kernel.version}:${publicPem}:${dinitSha}${toolKey ? `:${toolKey}` : ''}${packKey ? `:packs=${packKey}` : ''}`,
    )
    .digest('hex')
    .slice(0, 12);
  return `feed-${arch}${packs.length ? `-${packs.map((p) => p.id).join('+')}` : ''}-${id}`;
}

async function buildOrReuse(arch: FeedArch, root: string, packs: ReplicaPack[]): Promise<TestFeed> {
  const key = await cachedKey(root);
  const ctx: AptContext = { root, debArch: DEB_ARCH[arch] };
  const dinitSha = `${createHash('sha256')
    .update(await readFile(dinitTarball()))
    .digest('hex')}-r${DINIT_RECIPE}`;
  const dirFor = (r: FeedDebs) => join(root, feedDirName(arch, r.kernel, key.publicPem, dinitSha, r.closure, packs));
  const roots = [...new Set([...TOOL_DEBS, ...packs.flatMap((p) => p.debs(arch))])];
  const resolved = await resolveForFeed(ctx, roots, (r) => existsSync(join(dirFor(r), 'done')));
  const { kernel, closure: tools } = resolved;
  const feedDir = dirFor(resolved);
  if (!existsSync(join(feedDir, 'done'))) {
    const started = Date.now();
    const dinit = await buildDinit(arch, root);
    const specs = await buildSpecs(arch, ctx, kernel, tools, dinit.dir, packs);
    const tmp = await mkdtemp(join(root, `.feed-${arch}-`));
    const byBranch = new Map<string, Record<string, ApkPackageSpec[]>>();
    for (const sp of specs) {
      const repo = packs.map((p) => p.repositoryOf?.(sp.name)).find(Boolean) ?? repositoryOf(sp.name);
      const branch = FEED_REPOSITORIES[repo]!;
      if (!byBranch.has(branch)) byBranch.set(branch, {});
      (byBranch.get(branch)![repo] ??= []).push(sp);
    }
    for (const [branch, repositories] of byBranch) await writeApkRepo(tmp, { key, arch, branch, repositories });
    for (const k of ALPINE_X86_64_KEYS) await copyFile(join(repoRoot, 'resources', 'keys', 'alpine', k), join(tmp, 'keys', k));
    await writeFile(
      join(tmp, 'BUILD-INFO'),
      `arch ${arch}\nkernel ${kernel.name}=${kernel.version}\n${tools.length ? `tools ${tools.map((t) => `${t.name}=${t.version}`).join(' ')}\n` : ''}${packs.length ? `packs ${packs.map((p) => `${p.id}@${p.version}`).join(' ')}\n` : ''}dinit build seconds ${dinit.buildSeconds}\nfeed build seconds ${Math.round((Date.now() - started) / 100) / 10}\n`,
    );
    await writeFile(join(tmp, 'done'), '');
    try {
      await rename(tmp, feedDir);
    } catch {
      await rm(tmp, { recursive: true, force: true }); // another worker won the race
    }
  }
  return writeApkRepoView(feedDir, key, arch);
}

async function writeApkRepoView(feedDir: string, key: TestSigningKey, arch: FeedArch): Promise<TestFeed> {
  const repoDir = (r: string) => join(feedDir, FEED_REPOSITORIES[r] ?? FEED_BRANCH, r, arch);
  const names: string[] = [];
  for (const r of Object.keys(FEED_REPOSITORIES))
    names.push(...(await readdir(repoDir(r))).filter((f) => f.endsWith('.apk')).map((f) => f.replace(/-\d[^-]*-r\d+\.apk$/, '')));
  return {
    mirror: feedDir,
    keysDir: join(feedDir, 'keys'),
    branch: FEED_BRANCH,
    arch,
    packages: {},
    key,
    packageNames: names,
    repoDir,
    packagePath: () => {
      throw new Error('use repoDir() with the feed');
    },
  };
}
