/**
 * Readers for the real Alpine data in ../shared/testdata/alpine (see its README.md and PROVENANCE-2.md): the
 * v3.23.4 main x86_64 index, the minirootfs' installed database and scripts.tar, and real signed .apk files.
 * The test feed (debian-test-feed.ts) takes its metadata from here, and test-feed-replica.test.ts compares the
 * feed against the same data.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { gunzipSync } from 'node:zlib';
import { alpineTestdata } from './alpine-testdata';
import { gzipMembers } from './apk-repo';

export { gzipMembers };

export type ReplicaArch = 'x86_64' | 'aarch64' | 'riscv64';

export interface TarItem {
  path: string;
  type: 'file' | 'dir' | 'symlink' | 'hardlink' | 'other';
  mode: number;
  uid: number;
  gid: number;
  target?: string;
  body?: Buffer;
}

/** A plain (uncompressed) tar: ustar/GNU headers, PAX `x` records for path/linkpath, GNU `L`/`K` long names. */
export function parseTar(buf: Buffer): TarItem[] {
  const out: TarItem[] = [];
  let off = 0;
  let pax: Record<string, string> = {};
  let longName: string | undefined;
  let longLink: string | undefined;
  const str = (b: Buffer) => b.toString('utf8').replace(/\0.*$/s, '');
  const oct = (b: Buffer) => parseInt(str(b).trim() || '0', 8);
  while (off + 512 <= buf.length) {
    const h = buf.subarray(off, off + 512);
    if (h.every((x) => x === 0)) break;
    const size = oct(h.subarray(124, 136));
    const flag = String.fromCharCode(h[156]!);
    const body = buf.subarray(off + 512, off + 512 + size);
    off += 512 + Math.ceil(size / 512) * 512;
    if (flag === 'x') {
      for (const rec of body.toString('utf8').split('\n')) {
        const m = /^\d+ ([^=]+)=(.*)$/s.exec(rec);
        if (m) pax[m[1]!] = m[2]!;
      }
      continue;
    }
    if (flag === 'g') continue;
    if (flag === 'L') {
      longName = str(body);
      continue;
    }
    if (flag === 'K') {
      longLink = str(body);
      continue;
    }
    const prefix = str(h.subarray(345, 500));
    const name = pax.path ?? longName ?? (prefix ? `${prefix}/${str(h.subarray(0, 100))}` : str(h.subarray(0, 100)));
    const link = pax.linkpath ?? longLink ?? str(h.subarray(157, 257));
    const type = flag === '5' ? 'dir' : flag === '2' ? 'symlink' : flag === '1' ? 'hardlink' : flag === '0' || flag === '\0' || flag === '7' ? 'file' : 'other';
    out.push({
      path: name.replace(/^\.\//, '').replace(/\/$/, ''),
      type,
      mode: oct(h.subarray(100, 108)) & 0o7777,
      uid: oct(h.subarray(108, 116)),
      gid: oct(h.subarray(116, 124)),
      ...(type === 'symlink' || type === 'hardlink' ? { target: link } : {}),
      ...(type === 'file' ? { body: Buffer.from(body) } : {}),
    });
    pax = {};
    longName = longLink = undefined;
  }
  return out;
}

export interface RealApk {
  file: string;
  bytes: Buffer;
  /** Index C: of this file ("Q1" + base64(sha1(control member))). */
  checksum: string;
  /** .PKGINFO fields, repeated keys kept in order. */
  pkginfo: Map<string, string[]>;
  /** Scripts in the control tar (".post-install" → text). */
  scripts: Map<string, string>;
  /** Data tar entries. */
  items: TarItem[];
}

export async function readRealApk(file: string): Promise<RealApk> {
  const bytes = await readFile(file);
  const members = gzipMembers(bytes);
  const hasSig = parseTar(gunzipSync(members[0]!)).some((e) => e.path.startsWith('.SIGN.'));
  const control = members[hasSig ? 1 : 0]!;
  const ctl = parseTar(gunzipSync(control));
  const pkginfo = new Map<string, string[]>();
  for (const line of ctl
    .find((e) => e.path === '.PKGINFO')!
    .body!.toString('utf8')
    .split('\n')) {
    const m = /^(\w+) = (.*)$/.exec(line);
    if (m) pkginfo.set(m[1]!, [...(pkginfo.get(m[1]!) ?? []), m[2]!]);
  }
  const scripts = new Map(ctl.filter((e) => e.path.startsWith('.') && e.path !== '.PKGINFO').map((e) => [e.path, e.body!.toString('utf8')] as const));
  const items = parseTar(gunzipSync(Buffer.concat(members.slice(hasSig ? 2 : 1))));
  return { file, bytes, checksum: 'Q1' + createHash('sha1').update(control).digest('base64'), pkginfo, scripts, items };
}

/** Index stanzas by field letter; several records per name are kept (the last one wins in `byName`). */
export function parseIndexText(text: string): Array<Record<string, string>> {
  return text
    .split(/\n\n+/)
    .filter((b) => b.trim())
    .map((b) => {
      const st: Record<string, string> = {};
      for (const l of b.split('\n')) if (l[1] === ':') st[l[0]!] = l.slice(2);
      return st;
    });
}

let v3234: Map<string, Record<string, string>> | undefined;
/** The real v3.23.4 main x86_64 index (signed by Alpine, 5868 records), by package name. */
export async function realIndexV3234(): Promise<Map<string, Record<string, string>>> {
  if (!v3234) {
    const members = gzipMembers(await readFile(alpineTestdata('official', 'v3.23.4-main-x86_64-APKINDEX.tar.gz')));
    const tar = parseTar(gunzipSync(members[1]!));
    v3234 = new Map(parseIndexText(tar.find((e) => e.path === 'APKINDEX')!.body!.toString('utf8')).map((s) => [s.P!, s]));
  }
  return v3234;
}

export const MINIROOTFS = '20240923';

export interface InstalledPackage {
  stanza: Record<string, string>;
  /** Regular files and symlinks (R:) with their a: owner/mode when given. */
  files: Array<{ path: string; acl?: string }>;
  /** Directories (F:) with their M: owner/mode when given. */
  dirs: Array<{ path: string; acl?: string }>;
}

export interface Minirootfs {
  arch: ReplicaArch;
  installed: Map<string, InstalledPackage>;
  /** Scripts from lib/apk/db/scripts.tar: package name → (".post-install" → text). */
  scripts: Map<string, Map<string, string>>;
  /** lib/apk/db/triggers: package name → trigger paths. */
  triggers: Map<string, string[]>;
  /** Every entry of the rootfs tarball by path. */
  entries: Map<string, TarItem>;
}

const mrCache = new Map<ReplicaArch, Promise<Minirootfs>>();
/** Alpine's official minirootfs (20240923, edge at the time: busybox 1.36.1-r32, musl 1.2.5-r3) for one arch. */
export function minirootfs(arch: ReplicaArch): Promise<Minirootfs> {
  let p = mrCache.get(arch);
  if (!p) mrCache.set(arch, (p = loadMinirootfs(arch)));
  return p;
}

async function loadMinirootfs(arch: ReplicaArch): Promise<Minirootfs> {
  const items = parseTar(gunzipSync(await readFile(alpineTestdata('minirootfs', `alpine-minirootfs-${MINIROOTFS}-${arch}.tar.gz`))));
  const entries = new Map(items.map((e) => [e.path, e]));
  const installed = new Map<string, InstalledPackage>();
  for (const block of entries.get('lib/apk/db/installed')!.body!.toString('utf8').split(/\n\n+/)) {
    if (!block.trim()) continue;
    const pkg: InstalledPackage = { stanza: {}, files: [], dirs: [] };
    let dir = '';
    for (const l of block.split('\n')) {
      const k = l[0]!;
      const v = l.slice(2);
      if (k === 'F') {
        dir = v;
        pkg.dirs.push({ path: v });
      } else if (k === 'M') pkg.dirs.at(-1)!.acl = v;
      else if (k === 'R') pkg.files.push({ path: dir ? `${dir}/${v}` : v });
      else if (k === 'a') pkg.files.at(-1)!.acl = v;
      else if (k !== 'Z' && !(k in pkg.stanza)) pkg.stanza[k] = v;
    }
    installed.set(pkg.stanza.P!, pkg);
  }
  const byChecksum = new Map([...installed.values()].map((p) => [p.stanza.C!, p.stanza.P!]));
  const scripts = new Map<string, Map<string, string>>();
  for (const e of parseTar(entries.get('lib/apk/db/scripts.tar')!.body!)) {
    const m = /^(.+)-([^-]+-r\d+)\.(Q1[^.]+=?)\.(.+)$/.exec(e.path);
    if (!m) continue;
    const name = byChecksum.get(m[3]!) ?? m[1]!;
    if (!scripts.has(name)) scripts.set(name, new Map());
    scripts.get(name)!.set(`.${m[4]}`, e.body!.toString('utf8'));
  }
  const triggers = new Map<string, string[]>();
  for (const line of (entries.get('lib/apk/db/triggers')?.body?.toString('utf8') ?? '').split('\n')) {
    const [sum, ...paths] = line.trim().split(/\s+/);
    const name = sum ? byChecksum.get(sum) : undefined;
    if (name) triggers.set(name, paths);
  }
  return { arch, installed, scripts, triggers, entries };
}

/** Metadata fields an index stanza gives an ApkPackageSpec (D/p/i split, so:libc.musl renamed for `arch`). */
export function metaFromStanza(st: Record<string, string>, arch?: ReplicaArch) {
  const musl = (t: string) => (arch ? t.replace(/musl-x86_64\.so/g, `musl-${arch}.so`) : t);
  const list = (v?: string) => (v ? v.split(' ').filter(Boolean).map(musl) : []);
  return {
    name: st.P!,
    version: st.V!,
    description: st.T,
    url: st.U,
    license: st.L,
    origin: st.o,
    maintainer: st.m,
    depends: list(st.D),
    provides: list(st.p),
    installIf: list(st.i),
    ...(st.k !== undefined ? { providerPriority: Number(st.k) } : {}),
    ...(st.I !== undefined ? { installedSize: Number(st.I) } : {}),
  };
}
