/**
 * A signed APK test feed whose packages carry real binaries from Debian packages, repackaged under the
 * names the Boxes ask for (Alpine mirrors are unreachable here). Shared by every image test and the bench
 * through a cache directory, so the debs are downloaded once and the feed is built once per arch.
 *
 * Packages and what they really are:
 * - linux-virt / linux-lts / linux-rpi: the Debian kernel that linux-image-<arch> currently depends on (bookworm
 *   amd64, trixie arm64/riscv64; resolved at run time, never pinned: see debian-apt.ts) with only the
 *   modules the Boxes need (plus their dependencies) and a modules.dep we compute ourselves (Debian runs depmod
 *   at install time; Alpine kernels ship it). Device trees are Debian's; rpi5 overlays/ is a STAND-IN (a README).
 * - toybox: STAND-IN. Debian's statically linked busybox, because Debian's toybox is dynamically linked against
 *   glibc. Installed as /bin/busybox plus the applet links an image needs.
 * - dinit: STAND-IN. dinit is not packaged by Debian; /sbin/dinit here is a shell script that reads the service
 *   files we generate (/etc/dinit.d, boot.d links) and starts them in dependency order. The files themselves are
 *   checked against dinit's documented format by the unit tests.
 * - cryptsetup, f2fs-tools: the host's Debian veritysetup / mkfs.f2fs with their glibc library closure (ldd).
 * - wireguard-tools-wg: STAND-IN script (no wg binary on this host).
 * - systemd-efistub: the host's /usr/lib/systemd/boot/efi/linuxx64.efi.stub (x86_64 only).
 * - u-boot-starfive: Debian's SPL and FIT for the VisionFive 2 (riscv64).
 */
import { execa } from 'execa';
import { createHash } from 'node:crypto';
import { createPrivateKey, createPublicKey } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, readdir, rename, rm, writeFile, mkdtemp } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import { join, basename } from 'node:path';
import { debs as aptDebs, kernelForFeed, type AptContext, type DebArch, type ResolvedDeb } from './debian-apt';
import { writeApkRepo, type ApkFileSpec, type ApkPackageSpec, type TestSigningKey, type WrittenApkRepo } from './apk-repo';
import { parseModinfoAliases, parseModinfoDepends, parseModinfoSoftdepPre } from '../../src-main/engine/image/kernel-modules';

export type FeedArch = 'x86_64' | 'aarch64' | 'riscv64';
const DEB_ARCH: Record<FeedArch, DebArch> = { x86_64: 'amd64', aarch64: 'arm64', riscv64: 'riscv64' };
/** Modules any Box/board in the catalog may ask for; the feed carries these and their dependencies only. */
const WANTED_MODULES = ['virtio_blk', 'virtio_pci', 'virtio_mmio', 'virtio_net', 'ext4', 'dm-verity', 'dm-crypt', 'erofs', 'f2fs', 'overlay', 'wireguard', 'mmc_block'];
const FEED_VERSION = 7; // bump to rebuild cached feeds after changing this file

export const STAND_IN_NOTE = 'NEXUS TEST FIXTURE STAND-IN: not the real package, see test/support/debian-test-feed.ts';

export function testCacheRoot(): string {
  return process.env.NEXUS_TEST_DEBS ?? join(homedir(), '.cache', 'nexus-test-debs');
}

/** Files of a .deb (paths without "./"), extracted into dir. */
async function extractDeb(deb: string, dir: string, patterns: string[]): Promise<void> {
  await mkdir(dir, { recursive: true });
  const tarStream = execa('dpkg-deb', ['--fsys-tarfile', deb], { buffer: false });
  const untar = execa('tar', ['-x', '-C', dir, '--wildcards', ...patterns], { stdin: 'pipe' });
  tarStream.stdout!.pipe(untar.stdin!);
  await Promise.all([tarStream, untar.catch((e: unknown) => { if (!String(e).includes('Not found in archive')) throw e; })]);
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

const moduleName = (file: string) => basename(file).replace(/\.ko(\.(xz|gz|zst))?$/, '').replace(/-/g, '_');

async function moduleBytes(path: string): Promise<Buffer> {
  if (path.endsWith('.xz')) return Buffer.from((await execa('xz', ['-dc', path], { encoding: 'buffer' })).stdout);
  return readFile(path);
}

/** Kernel package: vmlinuz as /boot/vmlinuz-<flavor>, the wanted modules + deps, a modules.dep, device trees. */
async function kernelPackage(arch: FeedArch, deb: string, work: string, flavor: string, extraDtbs: Array<{ from: string; to: string }>): Promise<ApkPackageSpec> {
  const dir = join(work, `k-${flavor}`);
  await extractDeb(deb, dir, ['./boot/vmlinu*', './lib/modules/*', './usr/lib/modules/*', './usr/lib/linux-image-*']);
  const modRoot = existsSync(join(dir, 'usr/lib/modules')) ? join(dir, 'usr/lib/modules') : join(dir, 'lib/modules');
  const kver = (await readdir(modRoot))[0]!;
  const all = (await walk(join(modRoot, kver))).filter((f) => /\.ko(\.xz|\.gz)?$/.test(f));
  const byName = new Map(all.map((f) => [moduleName(f), f]));
  const deps = new Map<string, string[]>();
  const softdeps: string[] = [];
  const aliasLines: string[] = [];
  const queue = WANTED_MODULES.map((m) => m.replace(/-/g, '_'));
  const chosen = new Set<string>();
  // A softdep names an alias ("crc32c"): find the provider among modules named like it, generic C code first
  // (crc32c-intel needs SSE4.2, which QEMU's default TCG CPU does not have).
  const provider = async (alias: string): Promise<string | undefined> => {
    if (byName.has(alias.replace(/-/g, '_'))) return alias.replace(/-/g, '_');
    const stem = alias.replace(/^crypto-/, '').replace(/-/g, '_');
    const candidates = [...byName.keys()].filter((n) => n.startsWith(stem)).sort((a, b) => Number(b.includes('generic')) - Number(a.includes('generic')) || a.localeCompare(b));
    for (const c of candidates) if (parseModinfoAliases(await moduleBytes(join(modRoot, kver, byName.get(c)!))).includes(alias)) return c;
    return undefined;
  };
  while (queue.length) {
    const m = queue.shift()!;
    const f = byName.get(m);
    if (!f || chosen.has(m)) continue;
    chosen.add(m);
    const bytes = await moduleBytes(join(modRoot, kver, f));
    const d = parseModinfoDepends(bytes);
    deps.set(m, d);
    queue.push(...d.map((x) => x.replace(/-/g, '_')));
    const pre = parseModinfoSoftdepPre(bytes);
    if (pre.length) softdeps.push(`softdep ${m} pre: ${pre.join(' ')}`);
    for (const a of pre) {
      const p = await provider(a);
      if (p) {
        aliasLines.push(`alias ${a} ${p}`);
        queue.push(p);
      }
    }
  }
  const files: ApkFileSpec[] = [];
  const boot = await readdir(join(dir, 'boot'));
  const vmlinuz = boot.find((b) => b.startsWith('vmlinu'))!;
  files.push({ path: `boot/vmlinuz-${flavor}`, content: await readFile(join(dir, 'boot', vmlinuz)), mode: 0o644 });
  const depLines: string[] = [];
  for (const m of [...chosen].sort()) {
    const rel = byName.get(m)!;
    files.push({ path: `lib/modules/${kver}/${rel}`, content: await readFile(join(modRoot, kver, rel)), mode: 0o644 });
    depLines.push(`${rel}: ${(deps.get(m) ?? []).map((d) => byName.get(d.replace(/-/g, '_'))).filter(Boolean).join(' ')}`.trimEnd());
  }
  files.push({ path: `lib/modules/${kver}/modules.dep`, content: depLines.join('\n') + '\n', mode: 0o644 });
  files.push({ path: `lib/modules/${kver}/modules.softdep`, content: softdeps.join('\n') + '\n', mode: 0o644 });
  files.push({ path: `lib/modules/${kver}/modules.alias`, content: aliasLines.join('\n') + '\n', mode: 0o644 });
  if (existsSync(join(modRoot, kver, 'modules.builtin'))) files.push({ path: `lib/modules/${kver}/modules.builtin`, content: await readFile(join(modRoot, kver, 'modules.builtin')), mode: 0o644 });
  const dtbBase = existsSync(join(dir, 'usr/lib')) ? (await readdir(join(dir, 'usr/lib'))).find((x) => x.startsWith('linux-image-')) : undefined;
  for (const d of extraDtbs) {
    if (!dtbBase) throw new Error(`no device trees in ${deb}`);
    const src = join(dir, 'usr/lib', dtbBase, d.from);
    files.push({ path: d.to, content: await readFile(src), mode: 0o644 });
  }
  return { name: `linux-${flavor}`, version: '6.12.0-r0', description: `Debian ${basename(deb)} repackaged (pruned modules)`, license: 'GPL-2.0-only', files };
}

/** A host binary and its shared-library closure (as ldd reports it), for packages Debian has but not statically. */
async function hostBinaryPackage(name: string, binaries: Array<{ host: string; path: string }>): Promise<ApkPackageSpec> {
  const files = new Map<string, ApkFileSpec>();
  for (const b of binaries) {
    files.set(b.path, { path: b.path, content: await readFile(b.host), mode: 0o755 });
    const { stdout } = await execa('ldd', [b.host]);
    for (const line of stdout.split('\n')) {
      const m = /(?:=>\s*)?(\/\S+)\s+\(0x/.exec(line);
      if (!m) continue;
      const lib = m[1]!;
      const real = (await execa('readlink', ['-f', lib])).stdout;
      files.set(lib.slice(1), { path: lib.slice(1), content: await readFile(real), mode: 0o755 });
    }
  }
  return { name, version: '2.6.1-r0', description: `host Debian binaries: ${binaries.map((b) => b.host).join(', ')}`, license: 'GPL-2.0-or-later', files: [...files.values()] };
}

const BUSYBOX_APPLETS = ['sh', 'mount', 'umount', 'mkdir', 'cat', 'echo', 'ls', 'insmod', 'switch_root', 'sleep', 'poweroff', 'reboot', 'halt', 'grep', 'sed', 'ln', 'readlink', 'uname', 'date', 'hostname', 'ps', 'kill', 'mknod', 'rm', 'cp', 'head', 'tr', 'cut', 'printf', 'test', '[', 'true', 'false', 'dmesg', 'sync', 'stat', 'blkid', 'find', 'basename', 'wc', 'sort', 'udhcpc', 'ip', 'ifconfig'];

async function toyboxStandIn(arch: FeedArch, deb: string, work: string): Promise<ApkPackageSpec> {
  const dir = join(work, 'busybox');
  await extractDeb(deb, dir, ['./bin/busybox', './usr/bin/busybox']);
  const bin = existsSync(join(dir, 'bin/busybox')) ? join(dir, 'bin/busybox') : join(dir, 'usr/bin/busybox');
  const files: ApkFileSpec[] = [{ path: 'bin/busybox', content: await readFile(bin), mode: 0o755 }];
  for (const a of BUSYBOX_APPLETS) files.push({ path: a === 'switch_root' || a === 'insmod' || a === 'poweroff' || a === 'reboot' || a === 'halt' || a === 'ip' || a === 'ifconfig' || a === 'udhcpc' ? `sbin/${a}` : `bin/${a}`, type: 'symlink', target: '/bin/busybox' });
  files.push({ path: 'usr/share/doc/toybox/STAND-IN', content: `${STAND_IN_NOTE}\nThis "toybox" is Debian's busybox-static (${basename(deb)}).\n`, mode: 0o644 });
  return { name: 'toybox', version: '0.8.13-r0', description: 'STAND-IN: Debian busybox-static as toybox', license: 'GPL-2.0-only', files };
}

/**
 * dinit STAND-IN: a shell script that reads /etc/dinit.d/<name> files (type, command, depends-on, waits-for) and
 * starts everything enabled in /etc/dinit.d/boot.d in dependency order, printing dinit-like status lines.
 */
const DINIT_STANDIN = `#!/bin/sh
# ${STAND_IN_NOTE}
# Reads the dinit service files Nexus generates and starts the services enabled in boot.d, dependencies first.
D=/etc/dinit.d
STARTED=" "
field() { sed -n "s/^[[:space:]]*$2[[:space:]]*=[[:space:]]*//p" "$D/$1" | head -n 1; }
deps() { sed -n "s/^[[:space:]]*\\(depends-on\\|waits-for\\)[[:space:]]*[=:][[:space:]]*//p" "$D/$1"; }
start() {
  case "$STARTED" in *" $1 "*) return 0;; esac
  STARTED="$STARTED$1 "
  [ -f "$D/$1" ] || { echo "dinit-standin: no service file for $1"; return 1; }
  for d in $(deps "$1"); do start "$d"; done
  t=$(field "$1" type); c=$(field "$1" command)
  case "$t" in
    internal) ;;
    scripted) sh -c "$c" || { echo "[FAILED] $1"; return 1; } ;;
    bgprocess) sh -c "$c" & ;;
    *) sh -c "$c" </dev/null & ;;
  esac
  echo "[  OK  ] $1"
}
mountpoint -q /proc 2>/dev/null || mount -t proc proc /proc 2>/dev/null
echo "dinit-standin: starting boot services"
for s in $(ls $D/boot.d 2>/dev/null); do start "$s"; done
while :; do sleep 3600; done
`;

function dinitStandIn(): ApkPackageSpec {
  return {
    name: 'dinit', version: '0.21.0-r0', description: 'STAND-IN: shell script reading dinit service files', license: 'Apache-2.0',
    files: [
      { path: 'sbin/dinit', content: DINIT_STANDIN, mode: 0o755 },
      { path: 'etc/dinit.d', type: 'dir', mode: 0o755 },
      { path: 'usr/share/doc/dinit/STAND-IN', content: `${STAND_IN_NOTE}\n`, mode: 0o644 },
    ],
  };
}

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
export async function debianTestFeed(arch: FeedArch): Promise<TestFeed> {
  const root = testCacheRoot();
  await mkdir(root, { recursive: true });
  return withLock(join(root, `.lock-${arch}`), () => buildOrReuse(arch, root));
}

/**
 * The feed's cache directory: keyed on what was resolved (the Debian kernel's name and version), never on a
 * pinned name, plus the feed layout version and the signing key.
 */
export function feedDirName(arch: FeedArch, kernel: ResolvedDeb, publicPem: string): string {
  const id = createHash('sha256').update(`${FEED_VERSION}:${arch}:${kernel.name}=${kernel.version}:${publicPem}`).digest('hex').slice(0, 12);
  return `feed-${arch}-${id}`;
}

async function buildOrReuse(arch: FeedArch, root: string): Promise<TestFeed> {
  const key = await cachedKey(root);
  const ctx: AptContext = { root, debArch: DEB_ARCH[arch] };
  const kernel = await kernelForFeed(ctx, (k) => existsSync(join(root, feedDirName(arch, k, key.publicPem), 'done')));
  const feedDir = join(root, feedDirName(arch, kernel, key.publicPem));
  const specs = existsSync(join(feedDir, 'done')) ? null : await buildSpecs(arch, ctx, kernel);
  if (specs) {
    const tmp = await mkdtemp(join(root, `.feed-${arch}-`));
    // Same repositories as Alpine: toybox is in testing, dinit in community, the rest in main.
    const repoOf = (n: string) => (n === 'toybox' ? 'testing' : n === 'dinit' ? 'community' : 'main');
    const repositories: Record<string, ApkPackageSpec[]> = { main: [], community: [], testing: [] };
    for (const sp of specs) repositories[repoOf(sp.name)]!.push(sp);
    await writeApkRepo(tmp, { key, arch, branch: 'v3.22', repositories });
    await writeFile(join(tmp, 'done'), '');
    try {
      await rename(tmp, feedDir);
    } catch {
      await rm(tmp, { recursive: true, force: true }); // another worker won the race
    }
  }
  const repo = await writeApkRepoView(feedDir, key, arch);
  return repo;
}

async function writeApkRepoView(feedDir: string, key: TestSigningKey, arch: FeedArch): Promise<TestFeed> {
  const repoDir = (r: string) => join(feedDir, 'v3.22', r, arch);
  const names: string[] = [];
  for (const r of ['main', 'community', 'testing']) names.push(...(await readdir(repoDir(r))).filter((f) => f.endsWith('.apk')).map((f) => f.replace(/-\d[^-]*-r\d+\.apk$/, '')));
  return {
    mirror: feedDir, keysDir: join(feedDir, 'keys'), branch: 'v3.22', arch, packages: {}, key, packageNames: names, repoDir,
    packagePath: () => { throw new Error('use repoDir() with the feed'); },
  };
}

async function buildSpecs(arch: FeedArch, ctx: AptContext, kernel: ResolvedDeb): Promise<ApkPackageSpec[]> {
  const work = await mkdtemp(join(tmpdir(), 'nexus-test-feed-'));
  try {
    const debs = await aptDebs(ctx, [kernel, 'busybox-static', ...(arch === 'riscv64' ? ['u-boot-starfive'] : []), ...(arch === 'aarch64' ? ['systemd-boot-efi'] : [])]);
    const kdeb = debs.get(kernel.name)!;
    const specs: ApkPackageSpec[] = [await toyboxStandIn(arch, debs.get('busybox-static')!, work), dinitStandIn()];
    if (arch === 'x86_64') {
      specs.push(await kernelPackage(arch, kdeb, work, 'virt', []));
      specs.push(await kernelPackage(arch, kdeb, work, 'lts', []));
      specs.push({ name: 'systemd-efistub', version: '257.13-r0', description: "host Debian's linuxx64.efi.stub", license: 'LGPL-2.1-or-later',
        files: [{ path: 'usr/lib/systemd/boot/efi/linuxx64.efi.stub', content: await readFile('/usr/lib/systemd/boot/efi/linuxx64.efi.stub'), mode: 0o644 }] });
      specs.push(await hostBinaryPackage('cryptsetup', [{ host: '/usr/sbin/veritysetup', path: 'sbin/veritysetup' }]));
      specs.push(await hostBinaryPackage('f2fs-tools', [{ host: '/usr/sbin/mkfs.f2fs', path: 'sbin/mkfs.f2fs' }]));
      specs.push({ name: 'wireguard-tools-wg', version: '1.0.20250521-r0', description: 'STAND-IN', license: 'GPL-2.0-only',
        files: [{ path: 'usr/bin/wg', content: `#!/bin/sh\necho "${STAND_IN_NOTE}"\n`, mode: 0o755 }] });
    } else if (arch === 'aarch64') {
      specs.push(await kernelPackage(arch, kdeb, work, 'virt', []));
      const rpi = await kernelPackage(arch, kdeb, work, 'rpi', [
        { from: 'broadcom/bcm2712-rpi-5-b.dtb', to: 'boot/bcm2712-rpi-5-b.dtb' },
        // Debian has no D0-stepping tree: STAND-IN copy of the C1 tree so the board's file list is complete.
        { from: 'broadcom/bcm2712-rpi-5-b.dtb', to: 'boot/bcm2712d0-rpi-5-b.dtb' },
      ]);
      rpi.files!.push({ path: 'boot/overlays/README', content: `${STAND_IN_NOTE}\nThe real linux-rpi ships the Raspberry Pi overlays here.\n`, mode: 0o644 });
      specs.push(rpi);
      const sb = join(work, 'sb');
      await extractDeb(debs.get('systemd-boot-efi')!, sb, ['./usr/lib/systemd/boot/efi/*']);
      specs.push({ name: 'systemd-boot', version: '257.13-r0', description: "Debian's systemd-bootaa64.efi", license: 'LGPL-2.1-or-later',
        files: [{ path: 'usr/lib/systemd/boot/efi/systemd-bootaa64.efi', content: await readFile(join(sb, 'usr/lib/systemd/boot/efi/systemd-bootaa64.efi')), mode: 0o644 }] });
    } else {
      specs.push(await kernelPackage(arch, kdeb, work, 'lts', [
        { from: 'starfive/jh7110-starfive-visionfive-2-v1.3b.dtb', to: 'boot/dtbs-lts/starfive/jh7110-starfive-visionfive-2-v1.3b.dtb' },
        { from: 'starfive/jh7110-starfive-visionfive-2-v1.2a.dtb', to: 'boot/dtbs-lts/starfive/jh7110-starfive-visionfive-2-v1.2a.dtb' },
      ]));
      const ub = join(work, 'ub');
      await extractDeb(debs.get('u-boot-starfive')!, ub, ['./usr/lib/u-boot/starfive_visionfive2/*']);
      const src = join(ub, 'usr/lib/u-boot/starfive_visionfive2');
      const files: ApkFileSpec[] = [];
      for (const f of ['u-boot-spl.bin.normal.out', 'u-boot.itb']) files.push({ path: `usr/share/u-boot/starfive_visionfive2/${f}`, content: await readFile(join(src, f)), mode: 0o644 });
      specs.push({ name: 'u-boot-starfive', version: '2025.01-r0', description: "Debian's u-boot-starfive", license: 'GPL-2.0-or-later', files });
    }
    return specs;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
