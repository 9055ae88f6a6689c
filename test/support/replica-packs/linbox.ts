/**
 * Replica pack "linbox": linbox's Wayland session as the kiosk fragment runs it (greetd logs the user in on seat0,
 * seatd hands out the devices, cage shows foot full screen) plus the packages whose install triggers make the
 * font, GSettings-schema and MIME caches, and their whole Alpine closure that the base feed lacks. For x86_64
 * (linbox-x86.test.ts boots it), aarch64 and riscv64 (linbox-boards.test.ts builds both and boots aarch64).
 *
 * Metadata: REAL.
 * - main: Alpine's signed v3.23.4 main x86_64 index (ctx.indexSpec: names, versions, depends, provides, origins).
 * - community (cage, foot, fcft, greetd, seatd, libseat, wlroots0.16, libinput-libs, xwayland, ...): Alpine's signed
 *   v3.19.1 community x86_64 index (../shared/testdata/alpine/official), the newest community index we hold; its
 *   so: dependencies are met by v3.23.4 main (linbox-x86.test.ts checks the closure against the real index files).
 * - aarch64, riscv64: the same x86_64 stanzas with their so:libc.musl-x86_64.so.1 renamed for the arch (INFERRED:
 *   same versions and dependencies there; we hold no signed aarch64/riscv64 index of these releases).
 * - scripts and triggers, from aports (read 2026-12-03): greetd.pre-install (greetd user and group, greetd in
 *   video), seatd.pre-install (group seat), fontconfig.pre-install (fontconfig user) and fontconfig.trigger on
 *   /usr/share/fonts/* (`su -s /bin/sh fontconfig -c 'fc-cache --system-only'`), glib.trigger on
 *   /usr/share/glib-2.0/schemas and /usr/lib/gio/modules, shared-mime-info.trigger on /usr/share/mime; greetd's
 *   /etc/pam.d/greetd (greetd.pam). INFERRED: /var/cache/fontconfig owned by fontconfig (the trigger runs fc-cache
 *   as that user), Alpine's linux-pam base-* files (written here with pam_unix only), greetd's config.toml (Debian's,
 *   with Alpine's greetd user and agreety path).
 *
 * Payload: STAND-IN, Debian's of the feed's arch (bookworm amd64, trixie arm64/riscv64: debian-apt.ts DEB_SUITE;
 * debs(), resolved at run time) with the ELF closure each binary loads at Debian's paths (ctx.debBinaryFiles), at
 * Alpine's paths where they differ:
 * - cage (bookworm 0.1.4 on wlroots 0.15, trixie 0.2.0 on wlroots 0.18; Alpine v3.19: cage 0.1.5 on wlroots
 *   0.16), foot, greetd (/usr/sbin),
 *   seatd (Debian's /usr/sbin/seatd at Alpine's /usr/bin/seatd), xwayland (/usr/bin/Xwayland, which cage looks
 *   for at start); libseat, wlroots, Mesa, libinput, xkbcommon and
 *   the other libraries travel with the binaries that load them (their Alpine packages carry a STAND-IN note).
 * - fontconfig: fc-cache, fc-list, fc-match and Debian's /etc/fonts + /usr/share/fontconfig; font-dejavu: Debian's
 *   DejaVu TTFs at Alpine's /usr/share/fonts/dejavu (trixie splits Sans Mono into fonts-dejavu-mono, a dependency of
 *   fonts-dejavu-core, so it is in the same extracted folder); xkeyboard-config: Debian's xkb-data.
 * - glib: Debian's glib-compile-schemas and gio-querymodules at Alpine's /usr/bin; gsettings-desktop-schemas: its
 *   schemas; shared-mime-info: update-mime-database and freedesktop.org.xml (Alpine builds it with
 *   --disable-update-mimedb, so the database is made by the trigger, on the device).
 * - linux-pam: Debian's pam_unix, pam_permit, pam_deny and pam_nologin (dlopened by libpam, so listed here) where
 *   that Debian's libpam looks for them (bookworm /lib/<triplet>/security, trixie /usr/lib/<triplet>/security), and
 *   unix_chkpwd where pam_unix runs it from.
 */
import { existsSync } from 'node:fs';
import { lstat, readdir, readFile, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { ApkFileSpec, ApkPackageSpec } from '../apk-repo';
import { communityV3191Specs } from './nexbox';
import type { ReplicaPack, ReplicaPackContext } from './index';

/** The session's closure on v3.23.4 main, minus the base feed's packages. */
const FROM_MAIN = [
  'brotli-libs',
  'encodings',
  'eudev-libs',
  'font-dejavu',
  'fontconfig',
  'freetype',
  'glib',
  'graphite2',
  'harfbuzz',
  'hwdata-pci',
  'libbsd',
  'libbz2',
  'libcap2',
  'libdrm',
  'libelf',
  'libepoxy',
  'libexpat',
  'libffi',
  'libfontenc',
  'libintl',
  'libmd',
  'libmount',
  'libpciaccess',
  'libpng',
  'libtirpc-conf',
  'libtirpc-nokrb',
  'libx11',
  'libxau',
  'libxcb',
  'libxdmcp',
  'libxext',
  'libxkbcommon',
  'libxkbfile',
  'libxml2',
  'libxshmfence',
  'libxxf86vm',
  'linux-pam',
  'llvm21-libs',
  'mesa',
  'mesa-egl',
  'mesa-gbm',
  'mesa-gl',
  'mesa-gles',
  'mkfontscale',
  'ncurses-terminfo',
  'ncurses-terminfo-base',
  'pcre2',
  'pixman',
  'pkgconf',
  'shared-mime-info',
  'skalibs-libs',
  'spirv-tools',
  'utmps-libs',
  'vulkan-loader',
  'wayland-libs-client',
  'wayland-libs-cursor',
  'wayland-libs-server',
  'xkbcomp',
  'xkeyboard-config',
  'xz-libs',
  'zlib',
  'zstd-libs',
];
const FROM_COMMUNITY_V3191 = [
  'cage',
  'fcft',
  'foot',
  'greetd',
  'gsettings-desktop-schemas',
  'libelogind',
  'libevdev',
  'libinput-libs',
  'libseat',
  'libxcvt',
  'libxfont2',
  'mtdev',
  'seatd',
  'utf8proc',
  'wlroots0.16',
  'xcb-util-renderutil',
  'xcb-util-wm',
  'xorg-server-common',
  'xwayland',
];
const DEBS = [
  'cage',
  'foot',
  'greetd',
  'seatd',
  'fontconfig',
  'fonts-dejavu-core',
  'xkb-data',
  'libglib2.0-bin',
  'shared-mime-info',
  'gsettings-desktop-schemas',
  'libpam-modules',
  'xwayland',
];

/** aports' scripts and trigger paths (see the header). */
const SCRIPTS: Record<string, Pick<ApkPackageSpec, 'scripts' | 'triggers'>> = {
  greetd: {
    scripts: {
      'pre-install':
        '#!/bin/sh\n\nname=greetd\n\naddgroup -S $name 2>/dev/null\nadduser -S -D -H -h /var/lib/greetd -s /sbin/nologin -G $name -g $name $name 2>/dev/null\nadduser $name video\n\nexit 0\n',
    },
  },
  seatd: { scripts: { 'pre-install': '#!/bin/sh\n\naddgroup -S seat 2>/dev/null\n\nexit 0\n' } },
  fontconfig: {
    scripts: {
      'pre-install':
        '#!/bin/sh\n\naddgroup -S fontconfig 2>/dev/null\nadduser -S -D -h /var/cache/fontconfig/ -H -s /sbin/nologin -G fontconfig -g fontconfig fontconfig 2>/dev/null\n\nexit 0\n',
      trigger: "#!/bin/sh\n\nsu -s /bin/sh fontconfig -c 'fc-cache --system-only'\n\n",
    },
    triggers: ['/usr/share/fonts/*'],
  },
  glib: {
    scripts: {
      trigger:
        '#!/bin/sh\n\nfor i in "$@"; do\n\tif ! [ -e "$i" ]; then\n\t\tcontinue\n\tfi\n\tcase "$i" in\n\t*/modules|*gtk-4.0)\n\t\t/usr/bin/gio-querymodules "$i"\n\t\t;;\n\t*/schemas)\n\t\t/usr/bin/glib-compile-schemas "$i"\n\t\t;;\n\tesac\ndone\n\n',
    },
    triggers: ['/usr/share/glib-2.0/schemas', '/usr/lib/gio/modules'],
  },
  'shared-mime-info': {
    scripts: {
      trigger:
        '#!/bin/sh\n\nfor i in "$@"; do\n\tif [ -d "$i" ]; then\n\t\tPKGSYSTEM_ENABLE_FSYNC=0 \\\n\t\tupdate-mime-database "$i" > /dev/null 2>&1\n\tfi\ndone\n',
    },
    triggers: ['/usr/share/mime'],
  },
};

/** Alpine's linux-pam base-* stacks (INFERRED: pam_unix only) and greetd.pam (aports, verbatim). */
const PAM_BASE: Record<string, string> = {
  'base-auth': 'auth\trequired\tpam_unix.so\tnullok\n',
  'base-account': 'account\trequired\tpam_nologin.so\naccount\trequired\tpam_unix.so\n',
  'base-password': 'password\trequired\tpam_unix.so\tnullok sha512 shadow\n',
  'base-session': 'session\trequired\tpam_unix.so\n',
};
const GREETD_PAM = '#%PAM-1.0\n\nauth include base-auth\naccount include base-account\npassword include base-password\nsession include base-session\n';
const GREETD_CONFIG = `[terminal]
# The VT to run on.
vt = 7

[default_session]
command = "agreety --cmd /bin/sh"
user = "greetd"
`;

/** Every regular file and symlink under `dir` of the tree (relative paths), read now (the tree is removed later). */
async function treeUnder(ctx: ReplicaPackContext, dir: string, to = dir, filter: (p: string) => boolean = () => true): Promise<ApkFileSpec[]> {
  const out: ApkFileSpec[] = [];
  const walk = async (rel: string): Promise<void> => {
    for (const e of (await readdir(join(ctx.debTree, rel), { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name))) {
      const p = `${rel}/${e.name}`;
      const dest = to + p.slice(dir.length);
      if (e.isDirectory()) await walk(p);
      else if (!filter(p)) continue;
      else if (e.isSymbolicLink()) out.push({ path: dest, type: 'symlink', target: await readlink(join(ctx.debTree, p)) });
      else out.push({ path: dest, content: await readFile(join(ctx.debTree, p)), mode: (await lstat(join(ctx.debTree, p))).mode & 0o7777 });
    }
  };
  await walk(dir);
  return out;
}

function relocate(files: ApkFileSpec[], moves: Record<string, string>): ApkFileSpec[] {
  return files.map((f) => (moves[f.path] ? { ...f, path: moves[f.path]! } : f));
}

async function payloads(ctx: ReplicaPackContext): Promise<Record<string, { files: ApkFileSpec[]; what: string }>> {
  const t = ctx.triplet;
  const bins = (paths: string[]) => ctx.debBinaryFiles(paths);
  const glibBin = `usr/lib/${t}/glib-2.0`;
  // bookworm: libwlroots10=0.15.1-2; trixie: libwlroots-0.18=0.18.2-3.
  const wlroots = /^libwlroots[^=]*=(?:\d+:)?(\d+\.\d+)/.exec(ctx.debsUsed.find((d) => d.startsWith('libwlroots')) ?? '')?.[1] ?? '?';
  // Where that suite's libpam dlopens its modules from: trixie's /usr/lib (its base-files links /lib to usr/lib in
  // the extracted tree, so /usr/lib is asked first), bookworm's /lib (before the merged-/usr move).
  const pamDir = [`usr/lib/${t}/security`, `lib/${t}/security`].find((d) => existsSync(join(ctx.debTree, d, 'pam_unix.so')));
  if (!pamDir)
    throw new Error(`replica pack linbox: Debian's libpam-modules (${ctx.arch}) has no pam_unix.so under lib/${t}/security or usr/lib/${t}/security`);
  return {
    cage: {
      files: await bins(['usr/bin/cage']),
      what: `Debian's cage (on wlroots ${wlroots}) with the libraries it loads (wlroots, Mesa's EGL/GBM, libinput, xkbcommon, pixman, libseat)`,
    },
    // cage (wlroots) looks for /usr/bin/Xwayland when it starts, and stops without it.
    xwayland: { files: await bins(['usr/bin/Xwayland']), what: "Debian's Xwayland with the libraries it loads" },
    foot: {
      files: [...(await bins(['usr/bin/foot'])), ...(await treeUnder(ctx, 'etc/xdg/foot'))],
      what: "Debian's foot with the libraries it loads and its foot.ini",
    },
    greetd: {
      files: [
        ...(await bins(['usr/sbin/greetd'])),
        { path: 'etc/greetd/config.toml', content: GREETD_CONFIG, mode: 0o644 },
        { path: 'etc/pam.d/greetd', content: GREETD_PAM, mode: 0o644 },
        { path: 'var/lib/greetd', type: 'dir', mode: 0o750, uname: 'greetd', gname: 'greetd' },
      ],
      what: "Debian's greetd with the libraries it loads (libpam among them); Alpine's /etc/pam.d/greetd; a config.toml like Alpine's",
    },
    seatd: {
      files: relocate(await bins(['usr/sbin/seatd']), { 'usr/sbin/seatd': 'usr/bin/seatd' }),
      what: "Debian's seatd at Alpine's /usr/bin/seatd with the libraries it loads",
    },
    fontconfig: {
      files: [
        ...(await bins(['usr/bin/fc-cache', 'usr/bin/fc-list', 'usr/bin/fc-match'])),
        ...(await treeUnder(ctx, 'etc/fonts')),
        ...(await treeUnder(ctx, 'usr/share/fontconfig')),
        { path: 'var/cache/fontconfig', type: 'dir', mode: 0o755, uname: 'fontconfig', gname: 'fontconfig' },
      ],
      what: "Debian's fc-cache, fc-list and fc-match with the libraries they load, and Debian's /etc/fonts configuration",
    },
    'font-dejavu': {
      files: await treeUnder(ctx, 'usr/share/fonts/truetype/dejavu', 'usr/share/fonts/dejavu'),
      what: "Debian's DejaVu fonts (fonts-dejavu-core) at Alpine's /usr/share/fonts/dejavu",
    },
    'xkeyboard-config': { files: await treeUnder(ctx, 'usr/share/X11/xkb'), what: "Debian's xkb-data keyboard descriptions" },
    glib: {
      files: relocate(await bins([`${glibBin}/glib-compile-schemas`, `${glibBin}/gio-querymodules`]), {
        [`${glibBin}/glib-compile-schemas`]: 'usr/bin/glib-compile-schemas',
        [`${glibBin}/gio-querymodules`]: 'usr/bin/gio-querymodules',
      }),
      what: "Debian's glib-compile-schemas and gio-querymodules at Alpine's /usr/bin with the libraries they load",
    },
    'gsettings-desktop-schemas': {
      files: await treeUnder(ctx, 'usr/share/glib-2.0/schemas', 'usr/share/glib-2.0/schemas', (p) => !p.endsWith('gschemas.compiled')),
      what: "Debian's gsettings-desktop-schemas",
    },
    'shared-mime-info': {
      files: [...(await bins(['usr/bin/update-mime-database'])), ...(await treeUnder(ctx, 'usr/share/mime/packages'))],
      what: "Debian's update-mime-database with the libraries it loads and freedesktop.org.xml (no generated database: the trigger makes it)",
    },
    'linux-pam': {
      files: [
        ...(await bins(['pam_unix.so', 'pam_permit.so', 'pam_deny.so', 'pam_nologin.so'].map((m) => `${pamDir}/${m}`))),
        ...(await unixChkpwd(ctx, `${pamDir}/pam_unix.so`)),
        ...Object.entries(PAM_BASE).map(([n, text]): ApkFileSpec => ({ path: `etc/pam.d/${n}`, content: text, mode: 0o644 })),
      ],
      what: "Debian's pam_unix, pam_permit, pam_deny and pam_nologin (libpam dlopens them), pam_unix's unix_chkpwd helper, and base-* stacks like Alpine's",
    },
  };
}

/**
 * pam_unix's helper, at the path the module runs it from (bookworm /sbin, trixie /usr/sbin), setgid shadow as
 * Debian installs it: trixie's pam_unix (PAM 1.7) asks it for the account check even when greetd runs as root, and
 * without it greetd stops with "pam_acct_mgmt: AUTHINFO_UNAVAIL". Linux-PAM's own install puts unix_chkpwd beside
 * the modules' package (Alpine's linux-pam ships it; INFERRED from upstream's install rules).
 */
async function unixChkpwd(ctx: ReplicaPackContext, pamUnix: string): Promise<ApkFileSpec[]> {
  const path = /\/(?:usr\/)?sbin\/unix_chkpwd/.exec((await readFile(join(ctx.debTree, pamUnix))).toString('latin1'))?.[0];
  if (!path) throw new Error(`replica pack linbox: ${pamUnix} names no unix_chkpwd helper`);
  return (await ctx.debBinaryFiles([path.slice(1)])).map((f) => (f.path === path.slice(1) ? { ...f, mode: 0o2755, gname: 'shadow' } : f));
}

/** An x86_64 stanza's metadata for another arch: musl's so: name is the only arch-specific name in it. */
function forArch(sp: ApkPackageSpec, arch: string): ApkPackageSpec {
  if (arch === 'x86_64') return sp;
  const rename = (list?: string[]) => list?.map((d) => d.replace(/^so:libc\.musl-x86_64\.so\.1/, `so:libc.musl-${arch}.so.1`));
  return { ...sp, depends: rename(sp.depends), provides: rename(sp.provides), installIf: rename(sp.installIf) };
}

export const linboxPack: ReplicaPack = {
  id: 'linbox',
  // 3: aarch64/riscv64 (Debian trixie payloads); pam_unix's unix_chkpwd helper.
  version: 3,
  debs: () => DEBS,
  // The VM's display: virtio-gpu (DRM/KMS, with fbcon on it before the session starts).
  modules: () => ['virtio_gpu'],
  repositoryOf: (name) => (FROM_COMMUNITY_V3191.includes(name) ? 'community' : undefined),
  async specs(ctx) {
    const community = (await communityV3191Specs(FROM_COMMUNITY_V3191)).map((sp) => forArch(sp, ctx.arch));
    const specs: ApkPackageSpec[] = [...FROM_MAIN.map((n) => ctx.indexSpec(n)), ...community];
    const pay = await payloads(ctx);
    const from = `Debian ${ctx.debsUsed.filter((d) => DEBS.some((n) => d.startsWith(`${n}=`))).join(', ')}`;
    for (const sp of specs) {
      Object.assign(sp, SCRIPTS[sp.name] ?? {});
      const p = pay[sp.name];
      sp.files = p
        ? [...p.files, ctx.note(sp.name, `${p.what}; from ${from}.`)]
        : [ctx.note(sp.name, 'Metadata of the real Alpine package; its glibc counterpart (if any) travels with the binaries that load it.')];
      sp.description = `STAND-IN payload for ${sp.description ?? sp.name}`;
      delete sp.installedSize;
    }
    return specs;
  },
};
