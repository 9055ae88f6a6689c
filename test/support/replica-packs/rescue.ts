/**
 * Replica pack "rescue": the packages of profiles/fragments/rescue.yaml and their Alpine closure that the base
 * test feed does not already carry (it has cryptsetup, f2fs-tools, device-mapper-libs, libblkid, libuuid, ...).
 *
 * Metadata: REAL. Alpine's v3.23.4 main x86_64 index (ctx.indexSpec: names, versions, depends, provides, installed
 * sizes; so: names renamed for aarch64/riscv64) for everything in main; exfatprogs and ddrescue (community) are
 * verbatim copies of their stanzas in Alpine's v3.24 community x86_64 APKINDEX (knqyf263/apkindex-archive, commit
 * 003105dcaab655b33c9385d228a2faee0ec4f2c5, read 2026-12-03), fields as alpine-real.ts's metaFromStanza maps them.
 *
 * Payload: only what the rescue VM test runs, the rest STAND-IN notes:
 * - e2fsprogs: /sbin/e2fsck and /sbin/mke2fs, ntfs-3g-progs: /bin/ntfsls and /sbin/mkntfs: glibc-linked binaries
 *   of that arch's Debian packages e2fsprogs and ntfs-3g (debs(), resolved at run time), with the ELF closure they
 *   load at Debian's paths (ctx.debBinaryFiles). The feed extracts one Debian tree for its tools and every pack, so
 *   the glibc files e2fsprogs shares with the feed's cryptsetup are the same bytes (two packages may own one path
 *   only with identical content).
 * - every other package: a usr/share/doc/<name>/STAND-IN note (its metadata is complete; its files are not).
 */
import type { ApkPackageSpec } from '../apk-repo';
import type { ReplicaArch } from '../alpine-real';
import type { ReplicaPack } from './index';

/** The closure of the rescue fragment on the v3.23.4 main index, minus what the base test feed has. */
const FROM_MAIN = [
  'acl-libs',
  'brotli-libs',
  'btrfs-progs',
  'c-ares',
  'ca-certificates-bundle',
  'curl',
  'device-mapper-event-libs',
  'dosfstools',
  'e2fsprogs',
  'e2fsprogs-libs',
  'eudev-libs',
  'gptfdisk',
  'hdparm',
  'inih',
  'libaio',
  'libcom_err',
  'libcurl',
  'libedit',
  'libidn2',
  'libjpeg-turbo',
  'libmount',
  'libncursesw',
  'libnvme',
  'libnvmemi',
  'libpsl',
  'libsmartcols',
  'libssl3',
  'libunistring',
  'libxxhash',
  'lsblk',
  'lvm2',
  'lvm2-libs',
  'lz4-libs',
  'lzo',
  'mdadm',
  'nano',
  'ncurses-terminfo-base',
  'nghttp2-libs',
  'ntfs-3g-libs',
  'ntfs-3g-progs',
  'nvme-cli',
  'openssh-client-common',
  'openssh-client-default',
  'openssh-keygen',
  'parted',
  'readline',
  'rsync',
  'sgdisk',
  'smartmontools',
  'testdisk',
  'userspace-rcu',
  'vim',
  'vim-common',
  'wipefs',
  'xfsprogs',
  'xxd',
  'zlib',
  'zstd-libs',
];

/** Alpine v3.24 community x86_64 stanzas (see the header), so: names renamed per arch like metaFromStanza does. */
function communitySpecs(arch: ReplicaArch): ApkPackageSpec[] {
  const libc = `so:libc.musl-${arch}.so.1`;
  return [
    {
      name: 'exfatprogs',
      version: '1.4.1-r0',
      description: 'exfat filesystem userspace tools, mkfs and fsck',
      url: 'https://github.com/exfatprogs/exfatprogs',
      license: 'GPL-2.0-or-later',
      origin: 'exfatprogs',
      maintainer: 'Milan P. Stanić <mps@arvanta.net>',
      providerPriority: 20,
      depends: ['so:libblkid.so.1', libc],
      provides: [
        'exfat-utils',
        'cmd:dump.exfat=1.4.1-r0',
        'cmd:exfat2img=1.4.1-r0',
        'cmd:exfatlabel=1.4.1-r0',
        'cmd:fsck.exfat=1.4.1-r0',
        'cmd:mkfs.exfat=1.4.1-r0',
        'cmd:tune.exfat=1.4.1-r0',
      ],
      installIf: [],
      indexFields: { t: '1779957853', c: '61eb33f51c126e0400889da052cbc8fa2f8eb7bf' },
    },
    {
      name: 'ddrescue',
      version: '1.30-r0',
      description: 'Data recovery tool for block devices with errors',
      url: 'https://www.gnu.org/s/ddrescue/ddrescue.html',
      license: 'GPL-3.0-or-later',
      origin: 'ddrescue',
      maintainer: 'Leonardo Arena <rnalrd@alpinelinux.org>',
      depends: [libc, 'so:libgcc_s.so.1', 'so:libstdc++.so.6'],
      provides: ['cmd:ddrescue=1.30-r0', 'cmd:ddrescuelog=1.30-r0'],
      installIf: [],
      indexFields: { t: '1768326340', c: '28db61cafe9354d9d66d3be789c312ff97d0e144' },
    },
  ];
}

/** Debian binaries (paths in their packages) standing in for the tools the VM test runs. */
const BINARIES: Record<string, string[]> = { e2fsprogs: ['sbin/e2fsck', 'sbin/mke2fs'], 'ntfs-3g-progs': ['bin/ntfsls', 'sbin/mkntfs'] };
const DEBS = ['e2fsprogs', 'ntfs-3g'];

export const rescuePack: ReplicaPack = {
  id: 'rescue',
  version: 1,
  debs: () => DEBS,
  repositoryOf: (name) => (name === 'exfatprogs' || name === 'ddrescue' ? 'community' : undefined),
  async specs(ctx) {
    const specs: ApkPackageSpec[] = [...FROM_MAIN.map((n) => ctx.indexSpec(n)), ...communitySpecs(ctx.arch)];
    for (const sp of specs) {
      const bins = BINARIES[sp.name];
      if (bins) {
        const from = `Debian ${ctx.debsUsed.filter((d) => DEBS.some((x) => d.startsWith(`${x}=`))).join(', ')}`;
        sp.files = [
          ...(await ctx.debBinaryFiles(bins)),
          ctx.note(
            sp.name,
            `${from} ${bins.map((b) => `/${b}`).join(', ')} with the glibc libraries they load; Alpine's other files of ${sp.name} are not here.`,
          ),
        ];
      } else {
        sp.files = [ctx.note(sp.name, 'Metadata of the real Alpine package; no payload.')];
      }
      sp.description = `STAND-IN payload for ${sp.description ?? sp.name}`;
      delete sp.installedSize;
    }
    return specs;
  },
};
