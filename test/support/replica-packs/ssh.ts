/**
 * Replica pack "ssh": what the `ssh` fragment (Dropbear) and the `base` fragment it requires (dhcpcd,
 * ca-certificates-bundle) install, so a Box can be reached over QEMU's user network.
 *
 * Metadata: the real v3.23.4 main x86_64 index stanzas (name, version, depends, provides, origin; so: names renamed
 * for other arches) of dropbear 2025.88-r1 and its closure (utmps-libs, skalibs-libs, zlib), dhcpcd 10.3.0-r0 and
 * ca-certificates-bundle. Paths as Alpine's APKBUILDs install them (aports main/dropbear: prefix /usr, so
 * /usr/sbin/dropbear and /usr/bin/dropbearkey, and an empty /etc/dropbear for the host keys; main/dhcpcd: /sbin/dhcpcd,
 * the hooks in /usr/lib/dhcpcd, /etc/dhcpcd.conf, /var/lib/dhcpcd), with dhcpcd's real pre-install script (its
 * privilege-separation user).
 * Payload: STAND-IN, Debian's glibc-linked dropbear-bin and dhcpcd-base binaries (resolved at run time) with the ELF
 * closure they load at Debian's paths, Debian's dhcpcd hooks and configuration; the libraries and the certificate
 * bundle are STAND-IN notes (the Debian binaries load Debian's libraries, not Alpine's).
 */
import type { ApkFileSpec, ApkPackageSpec } from '../apk-repo';
import type { ReplicaPack, ReplicaPackContext } from './index';

/** aports main/dhcpcd/dhcpcd.pre-install, verbatim. */
const DHCPCD_PRE_INSTALL = `#!/bin/sh

user=dhcpcd
group=dhcpcd

addgroup -S $group 2>/dev/null
adduser -S -D -h /var/lib/$user -s /sbin/nologin -G $group -g $user $user 2>/dev/null

exit 0
`;

/** See dhcpcd() below: Debian's dhcpcd per interface, the pid file the base fragment's service reads. */
const DHCPCD_WRAPPER = `#!/bin/sh
# NEXUS TEST FIXTURE STAND-IN for Alpine's /sbin/dhcpcd: Debian's dhcpcd 9.4.1 (/usr/sbin/dhcpcd) once per interface
# (its manager mode crashes); see test/support/replica-packs/ssh.ts.
first=
for i in /sys/class/net/*; do
  n=\${i##*/}
  [ "$n" = lo ] && continue
  /usr/sbin/dhcpcd "$@" "$n" && { [ -n "$first" ] || first=$n; }
done
[ -n "$first" ] || exit 1
mkdir -p /run/dhcpcd
i=0
until [ -s /run/dhcpcd/$first.pid ] || [ $i -ge 50 ]; do sleep 0.1; i=$((i+1)); done
cp /run/dhcpcd/$first.pid /run/dhcpcd/pid
`;

/** Debian ships these under /usr/lib/dhcpcd like Alpine (--libexecdir=/usr/lib/dhcpcd). */
const DHCPCD_HOOKS = [
  'usr/lib/dhcpcd/dhcpcd-run-hooks',
  'usr/lib/dhcpcd/dhcpcd-hooks/01-test',
  'usr/lib/dhcpcd/dhcpcd-hooks/20-resolv.conf',
  'usr/lib/dhcpcd/dhcpcd-hooks/30-hostname',
];

async function dropbear(ctx: ReplicaPackContext): Promise<ApkPackageSpec> {
  const sp = ctx.indexSpec('dropbear');
  const files: ApkFileSpec[] = [
    { path: 'etc', type: 'dir' },
    { path: 'etc/dropbear', type: 'dir', mode: 0o755 },
    ...(await ctx.debBinaryFiles(['usr/sbin/dropbear', 'usr/bin/dropbearkey'])),
    ctx.note(
      'dropbear',
      `Debian's dropbear and dropbearkey (${ctx.debsUsed.filter((d) => d.startsWith('dropbear')).join(', ')}) with the glibc libraries they load.`,
    ),
  ];
  return { ...sp, description: `STAND-IN payload for ${sp.description ?? 'dropbear'}`, files, installedSize: undefined };
}

async function dhcpcd(ctx: ReplicaPackContext): Promise<ApkPackageSpec> {
  const sp = ctx.indexSpec('dhcpcd');
  const { readFile } = await import('node:fs/promises');
  const { join } = await import('node:path');
  // Debian's binary at Debian's path with its libraries. Alpine's /sbin/dhcpcd (no --prefix) is a STAND-IN wrapper:
  // Debian bookworm's dhcpcd 9.4.1 segfaults in manager mode (all interfaces, as the base fragment runs it) right
  // after "waiting for carrier" (reproduced outside any VM; upstream NetworkConfiguration/dhcpcd #232/#235/#484),
  // while per-interface mode works, so the wrapper runs it once per interface and points the pid file the service
  // manager reads at the first one.
  const bins = await ctx.debBinaryFiles(['usr/sbin/dhcpcd']);
  const hooks: ApkFileSpec[] = [];
  for (const h of DHCPCD_HOOKS) hooks.push({ path: h, content: await readFile(join(ctx.debTree, h)), mode: h.endsWith('run-hooks') ? 0o755 : 0o644 });
  const files: ApkFileSpec[] = [
    { path: 'sbin', type: 'dir' },
    { path: 'sbin/dhcpcd', content: DHCPCD_WRAPPER, mode: 0o755 },
    ...bins,
    ...hooks,
    { path: 'etc/dhcpcd.conf', content: await readFile(join(ctx.debTree, 'etc/dhcpcd.conf')), mode: 0o644 },
    { path: 'var/lib/dhcpcd', type: 'dir', mode: 0o755 },
    ctx.note(
      'dhcpcd',
      `Debian's dhcpcd (${ctx.debsUsed.filter((d) => d.startsWith('dhcpcd')).join(', ')}) run per interface by the STAND-IN wrapper /sbin/dhcpcd (its manager mode crashes), Debian's hooks.`,
    ),
  ];
  return {
    ...sp,
    description: `STAND-IN payload for ${sp.description ?? 'dhcpcd'}`,
    files,
    scripts: { 'pre-install': DHCPCD_PRE_INSTALL },
    installedSize: undefined,
  };
}

function noteOnly(ctx: ReplicaPackContext, name: string, what: string): ApkPackageSpec {
  const sp = ctx.indexSpec(name);
  return { ...sp, description: `STAND-IN payload for ${sp.description ?? name}`, files: [ctx.note(name, what)], installedSize: undefined };
}

export const sshPack: ReplicaPack = {
  id: 'ssh',
  version: 2,
  debs: () => ['dropbear-bin', 'dhcpcd-base'],
  async specs(ctx) {
    return [
      await dropbear(ctx),
      await dhcpcd(ctx),
      noteOnly(ctx, 'utmps-libs', 'Metadata of the real package; the Debian dropbear does not load libutmps.'),
      noteOnly(ctx, 'skalibs-libs', 'Metadata of the real package; no payload.'),
      noteOnly(ctx, 'zlib', "Metadata of the real package; the Debian dropbear loads Debian's libz (at Debian's path)."),
      noteOnly(ctx, 'ca-certificates-bundle', 'Metadata of the real package; no certificates (nothing in the tests uses TLS).'),
    ];
  },
};
