/**
 * dragonbox's container runtime as Alpine v3.24 ships it: containerd (+ its ctr client, a subpackage), runc and
 * cni-plugins from community, and iptables with its libraries from main.
 *
 * Metadata:
 * - containerd 2.3.5-r5, containerd-ctr 2.3.5-r5, runc 1.4.3-r1, cni-plugins 1.9.1-r3: the v3.24 community x86_64
 *   stanzas below, copied field for field from knqyf263/apkindex-archive `alpine/v3.24/community/x86_64/APKINDEX`
 *   (commit 003105dcaab655b33c9385d228a2faee0ec4f2c5, the one test/fixtures/alpine-real/PROVENANCE.md used), read
 *   on 2026-12-03; so: names renamed for aarch64 (inferred: same versions there).
 * - iptables, libxtables, libmnl, libnftnl, libseccomp: the real v3.23.4 main index (ctx.indexSpec) on x86_64 and
 *   aarch64.
 * - riscv64: all nine from Alpine's own v3.24 riscv64 stanzas (RISCV64_V324 below, copied the same way from
 *   `alpine/v3.24/community/riscv64/APKINDEX` and `alpine/v3.24/main/riscv64/APKINDEX` at the same commit on
 *   2026-12-03): the same community versions as x86_64, with their own checksums and sizes; main has iptables and
 *   libxtables 1.8.13-r0, libnftnl 1.3.1-r0, libmnl 1.0.5-r2, libseccomp 2.6.0-r2, and iptables depends on /bin/sh
 *   there. dragonbox-session.ts resolves the riscv64 Box on these stanzas plus the v3.24 riscv64 fixtures.
 * Paths (aports APKBUILDs): containerd installs /usr/bin/{containerd,containerd-shim-runc-v2} and
 * /etc/containerd/config.toml (`containerd config default` with /opt/cni/bin replaced by /usr/libexec/cni); ctr is
 * moved to containerd-ctr; runc is /usr/bin/runc; cni-plugins installs every plugin into /usr/libexec/cni.
 *
 * Payloads: STAND-IN, Debian's (containerd, runc, containernetworking-plugins, iptables; resolved at run time),
 * glibc-linked, each with the ELF closure it loads at Debian's paths (ctx.debBinaryFiles). Debian's containerd is
 * a 1.x release whose config format is version 2 (Alpine's 2.x writes version 3); its config.toml is Debian's with
 * Alpine's CNI path. iptables: Debian's xtables-nft-multi with the nft front ends linked to it as Alpine does
 * (iptables-nft is Alpine's default) and its extensions (dlopened from /usr/lib/<triplet>/xtables, so listed here).
 * The library packages carry a STAND-IN note only: the glibc libraries travel with the binaries that load them.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ApkFileSpec, ApkPackageSpec } from '../apk-repo';
import { metaFromStanza, parseIndexText } from '../alpine-real';
import type { ReplicaPack, ReplicaPackContext } from './index';

const COMMUNITY_V324 = `C:Q1fZCBmnnnfL3v3CZbbLrhhdGhY/M=
P:containerd
V:2.3.5-r5
A:x86_64
S:17981014
I:52683105
T:An open and reliable container runtime
U:https://containerd.io/
L:Apache-2.0
o:containerd
m:Jake Buchholz Göktürk <tomalok@gmail.com>
t:1788634410
c:50adfd922ea67abb2ca4b3217de6cabc3c3eddfa
D:runc so:libc.musl-x86_64.so.1
p:cmd:containerd-shim-runc-v2=2.3.5-r5 cmd:containerd=2.3.5-r5

C:Q1H5xYleWHl0iKA7oyB4wyAwZ/Idg=
P:containerd-ctr
V:2.3.5-r5
A:x86_64
S:8837535
I:25397664
T:unsupported debug/admin client for containerd
U:https://containerd.io/
L:Apache-2.0
o:containerd
m:Jake Buchholz Göktürk <tomalok@gmail.com>
t:1788634410
c:50adfd922ea67abb2ca4b3217de6cabc3c3eddfa
D:runc so:libc.musl-x86_64.so.1
p:cmd:ctr=2.3.5-r5

C:Q1aOdtpH/46ow3n7Dnln2+YgW4Oas=
P:cni-plugins
V:1.9.1-r3
A:x86_64
S:29896165
I:76957280
T:Some standard networking plugins, maintained by the CNI team
U:https://www.cni.dev/
L:Apache-2.0
o:cni-plugins
m:Francesco Colista <fcolista@alpinelinux.org>
t:1788541634
c:1e1aed58b7720fcb6b1859043d543b33019d8c4f
D:so:libc.musl-x86_64.so.1

C:Q1DFphe6N/LbkXmDv0TfciSHbvLaY=
P:runc
V:1.4.3-r1
A:x86_64
S:4097862
I:11363464
T:CLI tool for spawning and running containers according to the OCI specification
U:https://www.opencontainers.org
L:Apache-2.0
o:runc
m:Jake Buchholz Göktürk <tomalok@gmail.com>
t:1788541634
c:1e1aed58b7720fcb6b1859043d543b33019d8c4f
k:90
D:so:libc.musl-x86_64.so.1 so:libseccomp.so.2
p:oci-runtime cmd:runc=1.4.3-r1
`;

/** v3.24 riscv64 stanzas of the nine packages (community, then main), verbatim; see the header. */
export const RISCV64_V324 = `C:Q1mzcLpWz4KHJQGx/HSlEc6nb/Xss=
P:cni-plugins
V:1.9.1-r3
A:riscv64
S:27509199
I:68100848
T:Some standard networking plugins, maintained by the CNI team
U:https://www.cni.dev/
L:Apache-2.0
o:cni-plugins
m:Francesco Colista <fcolista@alpinelinux.org>
t:1788541634
c:1e1aed58b7720fcb6b1859043d543b33019d8c4f
D:so:libc.musl-riscv64.so.1

C:Q1uhKvimu1ZXp1xyVr7KDs/PZBQ1Q=
P:containerd
V:2.3.5-r5
A:riscv64
S:16414353
I:46283031
T:An open and reliable container runtime
U:https://containerd.io/
L:Apache-2.0
o:containerd
m:Jake Buchholz Göktürk <tomalok@gmail.com>
t:1788634410
c:50adfd922ea67abb2ca4b3217de6cabc3c3eddfa
D:runc so:libc.musl-riscv64.so.1
p:cmd:containerd-shim-runc-v2=2.3.5-r5 cmd:containerd=2.3.5-r5

C:Q1MpJ8Qz2szmF1kE+DB0sp32GPStk=
P:containerd-ctr
V:2.3.5-r5
A:riscv64
S:8240263
I:22833288
T:unsupported debug/admin client for containerd
U:https://containerd.io/
L:Apache-2.0
o:containerd
m:Jake Buchholz Göktürk <tomalok@gmail.com>
t:1788634410
c:50adfd922ea67abb2ca4b3217de6cabc3c3eddfa
D:runc so:libc.musl-riscv64.so.1
p:cmd:ctr=2.3.5-r5

C:Q1JXsBjSzdUIXmmUACHxr976VkO+o=
P:runc
V:1.4.3-r1
A:riscv64
S:3788946
I:10122440
T:CLI tool for spawning and running containers according to the OCI specification
U:https://www.opencontainers.org
L:Apache-2.0
o:runc
m:Jake Buchholz Göktürk <tomalok@gmail.com>
t:1788541634
c:1e1aed58b7720fcb6b1859043d543b33019d8c4f
k:90
D:so:libc.musl-riscv64.so.1 so:libseccomp.so.2
p:oci-runtime cmd:runc=1.4.3-r1

C:Q1+RmuSl8lOwEHKilShuLecxK6o0E=
P:iptables
V:1.8.13-r0
A:riscv64
S:337325
I:1381925
T:Linux kernel firewall, NAT and packet mangling tools
U:https://www.netfilter.org/projects/iptables/index.html
L:GPL-2.0-or-later
o:iptables
m:Natanael Copa <ncopa@alpinelinux.org>
t:1772734330
c:8848fb97f5ec1aa887b836cf412d88eaabe312b6
D:/bin/sh so:libc.musl-riscv64.so.1 so:libmnl.so.0 so:libnftnl.so.11 so:libxtables.so.12
p:ip6tables=1.8.13-r0 ebtables=1.8.13-r0 cmd:arptables-nft-restore=1.8.13-r0 cmd:arptables-nft-save=1.8.13-r0 cmd:arptables-nft=1.8.13-r0 cmd:arptables-restore=1.8.13-r0 cmd:arptables-save=1.8.13-r0 cmd:arptables-translate=1.8.13-r0 cmd:arptables=1.8.13-r0 cmd:ebtables-nft-restore=1.8.13-r0 cmd:ebtables-nft-save=1.8.13-r0 cmd:ebtables-nft=1.8.13-r0 cmd:ebtables-restore=1.8.13-r0 cmd:ebtables-save=1.8.13-r0 cmd:ebtables-translate=1.8.13-r0 cmd:ebtables=1.8.13-r0 cmd:ip6tables-apply=1.8.13-r0 cmd:ip6tables-nft-restore=1.8.13-r0 cmd:ip6tables-nft-save=1.8.13-r0 cmd:ip6tables-nft=1.8.13-r0 cmd:ip6tables-restore-translate=1.8.13-r0 cmd:ip6tables-restore=1.8.13-r0 cmd:ip6tables-save=1.8.13-r0 cmd:ip6tables-translate=1.8.13-r0 cmd:ip6tables=1.8.13-r0 cmd:iptables-apply=1.8.13-r0 cmd:iptables-nft-restore=1.8.13-r0 cmd:iptables-nft-save=1.8.13-r0 cmd:iptables-nft=1.8.13-r0 cmd:iptables-restore-translate=1.8.13-r0 cmd:iptables-restore=1.8.13-r0 cmd:iptables-save=1.8.13-r0 cmd:iptables-translate=1.8.13-r0 cmd:iptables=1.8.13-r0 cmd:xtables-monitor=1.8.13-r0 cmd:xtables-nft-multi=1.8.13-r0

C:Q1TNPcszr7iIjjHZd/0HdcbGJdDyA=
P:libmnl
V:1.0.5-r2
A:riscv64
S:8893
I:18304
T:Library for minimalistic netlink
U:https://www.netfilter.org/projects/libmnl/
L:LGPL-2.1-or-later
o:libmnl
m:Francesco Colista <fcolista@alpinelinux.org>
t:1710257622
c:fc95c59998285564fbcb0bfb2443898c62e10171
D:so:libc.musl-riscv64.so.1
p:so:libmnl.so.0=0.2.0

C:Q1RFe2QIKhNCAFE8M5Uo5Knk9am1k=
P:libnftnl
V:1.3.1-r0
A:riscv64
S:70903
I:183712
T:Netfilter library providing interface to the nf_tables subsystem
U:https://netfilter.org/projects/libnftnl
L:GPL-2.0-or-later
o:libnftnl
m:Jakub Jirutka <jakub@jirutka.cz>
t:1765055256
c:80fae26950fd406b1645cfa15aa6eba0b850ecef
D:so:libc.musl-riscv64.so.1 so:libmnl.so.0
p:libnftnl-libs=1.3.1-r0 so:libnftnl.so.11=11.7.0

C:Q1CknEhonIa5x4MtD0IOGgpSBUGYQ=
P:libseccomp
V:2.6.0-r2
A:riscv64
S:51153
I:155136
T:interface to the Linux Kernel's syscall filtering mechanism
U:https://github.com/seccomp/libseccomp
L:LGPL-2.1-or-later
o:libseccomp
m:Natanael Copa <ncopa@alpinelinux.org>
t:1774640351
c:5c5f3eb6cfaaa7596d548e4de2ec8dbe95d5b206
D:so:libc.musl-riscv64.so.1
p:cmd:scmp_sys_resolver=2.6.0-r2 so:libseccomp.so.2=2.6.0

C:Q1UKxoM0dxA4UPd2XK2fhy1st0cG0=
P:libxtables
V:1.8.13-r0
A:riscv64
S:25743
I:50920
T:Linux kernel firewall, NAT and packet mangling tools (xtables library)
U:https://www.netfilter.org/projects/iptables/index.html
L:GPL-2.0-or-later
o:iptables
m:Natanael Copa <ncopa@alpinelinux.org>
t:1772734330
c:8848fb97f5ec1aa887b836cf412d88eaabe312b6
D:so:libc.musl-riscv64.so.1
p:so:libxtables.so.12=12.7.0
`;

const COMMUNITY = new Set(['containerd', 'containerd-ctr', 'runc', 'cni-plugins']);
const MAIN = ['iptables', 'libxtables', 'libmnl', 'libnftnl', 'libseccomp'];
/** The nft front ends Alpine's iptables links to xtables-nft-multi (its cmd: provides). */
const NFT_LINKS = [
  'iptables',
  'iptables-save',
  'iptables-restore',
  'ip6tables',
  'ip6tables-save',
  'ip6tables-restore',
  'iptables-nft',
  'iptables-nft-save',
  'iptables-nft-restore',
  'ip6tables-nft',
  'ip6tables-nft-save',
  'ip6tables-nft-restore',
  'iptables-translate',
  'ip6tables-translate',
  'ebtables',
  'arptables',
];

/** Files of a Debian binary closure with the binary itself moved to Alpine's path (its libraries stay at Debian's). */
function relocate(files: ApkFileSpec[], moves: Record<string, string>): ApkFileSpec[] {
  return files.map((f) => (moves[f.path] ? { ...f, path: moves[f.path]! } : f));
}

/** A package's spec from a copied stanza (its so: names renamed when `rename` is given). */
function stanzaSpec(text: string, name: string, rename?: ReplicaPackContext['arch']): ApkPackageSpec {
  const st = parseIndexText(text).find((s) => s.P === name);
  if (!st) throw new Error(`no copied v3.24 stanza for ${name}`);
  const { installedSize: _real, ...meta } = metaFromStanza(st, rename);
  return { ...meta, indexFields: { t: st.t!, c: st.c! } };
}

/** Alpine's metadata of one of the pack's packages for this feed's arch (see the header for the sources). */
function metaSpec(ctx: ReplicaPackContext, name: string): ApkPackageSpec {
  if (ctx.arch === 'riscv64') return stanzaSpec(RISCV64_V324, name);
  if (COMMUNITY.has(name)) return stanzaSpec(COMMUNITY_V324, name, ctx.arch === 'x86_64' ? undefined : ctx.arch);
  return ctx.indexSpec(name);
}

async function specs(ctx: ReplicaPackContext): Promise<ApkPackageSpec[]> {
  const from = `Debian ${ctx.debsUsed.filter((d) => /^(containerd|runc|containernetworking-plugins|iptables)=/.test(d)).join(', ')}`;
  const stand = (sp: ApkPackageSpec, files: ApkFileSpec[], what: string): ApkPackageSpec => {
    const { installedSize: _i, ...rest } = sp;
    return { ...rest, description: `STAND-IN payload for ${sp.description}`, files: [...files, ctx.note(sp.name, `${what} (${from}).`)] };
  };
  const out: ApkPackageSpec[] = [];

  // containerd: the daemon, the runc v2 shim and the config Alpine generates (CNI plugins in /usr/libexec/cni).
  const debConfig = (await readFile(join(ctx.debTree, 'etc/containerd/config.toml'), 'utf8'))
    .replaceAll('/usr/lib/cni', '/usr/libexec/cni')
    .replaceAll('/opt/cni/bin', '/usr/libexec/cni');
  out.push(
    stand(
      metaSpec(ctx, 'containerd'),
      [
        ...(await ctx.debBinaryFiles(['usr/bin/containerd', 'usr/bin/containerd-shim-runc-v2'])),
        { path: 'etc/containerd', type: 'dir', mode: 0o755 },
        { path: 'etc/containerd/config.toml', content: debConfig, mode: 0o644 },
      ],
      "Debian's containerd and containerd-shim-runc-v2 with the glibc libraries they load; Debian's config.toml with Alpine's CNI plugin path",
    ),
  );
  out.push(stand(metaSpec(ctx, 'containerd-ctr'), await ctx.debBinaryFiles(['usr/bin/ctr']), "Debian's ctr with the glibc libraries it loads"));
  out.push(
    stand(
      metaSpec(ctx, 'runc'),
      relocate(await ctx.debBinaryFiles(['usr/sbin/runc']), { 'usr/sbin/runc': 'usr/bin/runc' }),
      "Debian's runc (at Alpine's /usr/bin/runc) with the glibc libraries it loads (libseccomp among them)",
    ),
  );

  // cni-plugins: every Debian plugin, at Alpine's /usr/libexec/cni.
  const plugins = (await readdir(join(ctx.debTree, 'usr/lib/cni'))).sort();
  const moves = Object.fromEntries(plugins.map((p) => [`usr/lib/cni/${p}`, `usr/libexec/cni/${p}`]));
  out.push(
    stand(
      metaSpec(ctx, 'cni-plugins'),
      [{ path: 'usr/libexec/cni', type: 'dir', mode: 0o755 }, ...relocate(await ctx.debBinaryFiles(Object.keys(moves)), moves)],
      `Debian's CNI plugins (${plugins.join(', ')}) at Alpine's /usr/libexec/cni, with the glibc libraries they load`,
    ),
  );

  // iptables: the nft multi-binary, its front-end links and extensions.
  const extDir = `usr/lib/${ctx.triplet}/xtables`;
  const exts = (await readdir(join(ctx.debTree, extDir)))
    .filter((f) => f.endsWith('.so'))
    .sort()
    .map((f) => `${extDir}/${f}`);
  const ipt = metaSpec(ctx, 'iptables');
  out.push(
    stand(
      ipt,
      [
        ...(await ctx.debBinaryFiles(['usr/sbin/xtables-nft-multi', ...exts])),
        ...NFT_LINKS.map((l): ApkFileSpec => ({ path: `usr/sbin/${l}`, type: 'symlink', target: 'xtables-nft-multi' })),
      ],
      `Debian's xtables-nft-multi (iptables ${ipt.version}'s nft back end, Alpine's default) and its ${exts.length} extensions, with the glibc libraries they load`,
    ),
  );
  for (const n of MAIN.filter((m) => m !== 'iptables')) {
    const sp = metaSpec(ctx, n);
    out.push(stand(sp, [], 'Metadata of the real package; its glibc counterpart travels with the binaries that load it'));
  }
  return out;
}

export const dragonboxPack: ReplicaPack = {
  id: 'dragonbox',
  // 2: riscv64 with Alpine's own riscv64 stanzas.
  version: 2,
  debs: () => ['containerd', 'runc', 'containernetworking-plugins', 'iptables'],
  specs,
  repositoryOf: (name) => (COMMUNITY.has(name) ? 'community' : MAIN.includes(name) ? 'main' : undefined),
};
