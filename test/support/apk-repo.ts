/**
 * Builds real Alpine APK v2 repositories for tests: packages made of three gzip members
 * (cut signature tar, cut control tar with .PKGINFO and scripts, data tar with
 * `APK-TOOLS.checksum.SHA1` PAX records and the end-of-archive blocks), a correct `datahash`,
 * RSA signatures made with node:crypto, and a signed APKINDEX.tar.gz — the same bytes abuild
 * and `apk index` + abuild-sign would produce in structure (see
 * ../shared/docs/package-and-signature-formats.md §1).
 *
 * Typical use:
 * ```ts
 * const key = generateSigningKey();
 * const repo = await writeApkRepo(dir, {
 *   key, branch: 'v3.22', arch: 'x86_64',
 *   repositories: { main: [{ name: 'hello', version: '1.0-r0', depends: ['so:libc.musl-x86_64.so.1'],
 *     files: [{ path: 'usr/bin/hello', content: '#!/bin/sh\necho hi\n', mode: 0o755 }] }] },
 * });
 * // repo.mirror = dir (layout dir/v3.22/main/x86_64/{APKINDEX.tar.gz,hello-1.0-r0.apk}), repo.keysDir holds key.pubName
 * ```
 * Tests tamper with the result through `mutateIndex` (change C:/S:, drop entries) or by
 * rewriting bytes of the written files; `indexKey` signs the index with another key.
 */
import { createHash, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gunzipSync, gzipSync, inflateRawSync } from 'node:zlib';
import tar from 'tar-stream';

type TarHeader = Partial<tar.Header> & { name: string; pax?: Record<string, string> };

export interface TestSigningKey {
  /** Key file name as it appears in `.SIGN.RSA.<pubName>` and in the keys directory. */
  pubName: string;
  privateKey: KeyObject;
  /** SPKI PEM ("-----BEGIN PUBLIC KEY-----"), the format of Alpine's *.rsa.pub files. */
  publicPem: string;
}

/** A fresh RSA key (2048 bits: fast to generate, same format as Alpine's older keys). */
export function generateSigningKey(pubName = `nexus-test-${Math.random().toString(16).slice(2, 10)}.rsa.pub`, bits = 2048): TestSigningKey {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: bits });
  return { pubName, privateKey, publicPem: publicKey.export({ type: 'spki', format: 'pem' }).toString() };
}

export interface ApkFileSpec {
  /** Path inside the package, without a leading slash ("usr/bin/hello"); tests may pass hostile paths on purpose. */
  path: string;
  type?: 'file' | 'dir' | 'symlink' | 'hardlink' | 'char' | 'block' | 'fifo';
  content?: string | Uint8Array;
  /** Read the content from this host file instead (e.g. a binary taken out of a .deb). */
  source?: string;
  mode?: number;
  uid?: number;
  gid?: number;
  /** Owner names stored in the tar header (default root). */
  uname?: string;
  gname?: string;
  /** Symlink target (as stored) or hardlink target (a path inside the archive). */
  target?: string;
  /** Override the PAX checksum (to test per-file checksum verification). */
  checksumSha1?: string;
}

export type ApkScriptName = 'pre-install' | 'post-install' | 'pre-deinstall' | 'post-deinstall' | 'pre-upgrade' | 'post-upgrade' | 'trigger';

export interface ApkPackageSpec {
  name: string;
  version: string;
  arch?: string;
  description?: string;
  url?: string;
  license?: string;
  origin?: string;
  maintainer?: string;
  depends?: string[];
  provides?: string[];
  installIf?: string[];
  replaces?: string[];
  providerPriority?: number;
  replacesPriority?: number;
  triggers?: string[];
  files?: ApkFileSpec[];
  scripts?: Partial<Record<ApkScriptName, string>>;
  /** Installed size for the index/PKGINFO; defaults to the sum of file sizes. */
  installedSize?: number;
  /** Signature algorithm of the package signature (default RSA = SHA-1, like abuild). */
  signAlg?: 'RSA' | 'RSA256' | 'RSA512';
  /** Build without a signature member (unsigned package). */
  unsigned?: boolean;
  /** Only an index entry, no .apk file is written (resolver tests). */
  indexOnly?: boolean;
  /**
   * A finished .apk served byte for byte (e.g. a real package signed by Alpine): nothing is built, C:/S: are
   * computed from these bytes; the spec's other fields only describe it for the index stanza.
   */
  prebuilt?: Uint8Array;
  /** Index fields that replace the generated ones (C: and S: excepted), e.g. a real index's stanza. */
  indexFields?: Record<string, string>;
}

export interface BuiltApk {
  spec: ApkPackageSpec;
  bytes: Buffer;
  /** Index `C:` value: "Q1" + base64(sha1(control member)). */
  checksum: string;
  size: number;
  datahash: string;
  fileName: string;
  installedSize: number;
}

const FIXED_MTIME = new Date(1_700_000_000_000);

/** Packs entries into a tar; `cut` drops the two end-of-archive blocks (abuild-tar --cut). */
async function packTar(entries: Array<{ header: TarHeader; body?: Buffer }>, cut: boolean): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  const done = new Promise<void>((resolve, reject) => {
    pack.on('data', (c: unknown) => void chunks.push(c as Buffer));
    pack.on('end', () => resolve());
    pack.on('error', reject);
  });
  for (const { header, body } of entries) {
    await new Promise<void>((resolve, reject) => {
      const cb = (err?: Error | null) => (err ? reject(err) : resolve());
      if (body) pack.entry(header, body, cb);
      else pack.entry(header, cb);
    });
  }
  pack.finalize();
  await done;
  const all = Buffer.concat(chunks);
  return cut ? all.subarray(0, all.length - 1024) : all;
}

function gz(data: Buffer): Buffer {
  return gzipSync(data, { level: 9 });
}

const hashAlg = { RSA: 'sha1', RSA256: 'sha256', RSA512: 'sha512' } as const;

/** The signature member: a cut tar holding `.SIGN.<alg>.<keyname>`. */
export async function signatureMember(signed: Buffer, key: TestSigningKey, alg: 'RSA' | 'RSA256' | 'RSA512' = 'RSA'): Promise<Buffer> {
  const sig = sign(hashAlg[alg], signed, key.privateKey);
  const tarBytes = await packTar(
    [{ header: { name: `.SIGN.${alg}.${key.pubName}`, mode: 0o644, mtime: FIXED_MTIME, uid: 0, gid: 0, size: sig.length }, body: sig }],
    true,
  );
  return gz(tarBytes);
}

const typeMap = {
  file: 'file',
  dir: 'directory',
  symlink: 'symlink',
  hardlink: 'link',
  char: 'character-device',
  block: 'block-device',
  fifo: 'fifo',
} as const;

async function dataMember(files: ApkFileSpec[]): Promise<{ member: Buffer; installedSize: number }> {
  let installedSize = 0;
  const sources = new Map<ApkFileSpec, Buffer>();
  for (const f of files) if (f.source !== undefined) sources.set(f, await readFile(f.source));
  const entries = files.map((f) => {
    const type = f.type ?? (f.content === undefined && f.source === undefined && f.target === undefined ? 'dir' : f.target !== undefined ? 'symlink' : 'file');
    const body = type === 'file' ? (sources.get(f) ?? Buffer.from(f.content ?? '')) : undefined;
    if (body) installedSize += body.length;
    const header: TarHeader = {
      name: f.path,
      type: typeMap[type],
      mode: f.mode ?? (type === 'dir' ? 0o755 : type === 'symlink' ? 0o777 : 0o644),
      uid: f.uid ?? 0,
      gid: f.gid ?? 0,
      mtime: FIXED_MTIME,
      uname: f.uname ?? 'root',
      gname: f.gname ?? 'root',
      size: body?.length ?? 0,
    };
    if (f.target !== undefined) header.linkname = f.target;
    if (type === 'char' || type === 'block') Object.assign(header, { devmajor: 1, devminor: 3 });
    // abuild-tar adds the checksum to regular files (of the content) and symlinks (of the target).
    if (type === 'file' || type === 'symlink') {
      const sum =
        f.checksumSha1 ??
        createHash('sha1')
          .update(type === 'file' ? body! : Buffer.from(f.target ?? ''))
          .digest('hex');
      header.pax = { 'APK-TOOLS.checksum.SHA1': sum, path: f.path, ...(f.target !== undefined ? { linkpath: f.target } : {}) };
    }
    return { header, body };
  });
  return { member: gz(await packTar(entries, false)), installedSize };
}

function pkginfo(spec: ApkPackageSpec, installedSize: number, datahash: string): string {
  const lines = [
    '# Generated by nexus test/support/apk-repo.ts',
    `pkgname = ${spec.name}`,
    `pkgver = ${spec.version}`,
    `pkgdesc = ${spec.description ?? `${spec.name} test package`}`,
    `url = ${spec.url ?? 'https://nexus-imager.invalid'}`,
    `builddate = ${Math.floor(FIXED_MTIME.getTime() / 1000)}`,
    'packager = Nexus Tests <tests@nexus-imager.invalid>',
    `size = ${installedSize}`,
    `arch = ${spec.arch ?? 'x86_64'}`,
    `origin = ${spec.origin ?? spec.name}`,
    `license = ${spec.license ?? 'MIT'}`,
  ];
  if (spec.maintainer) lines.push(`maintainer = ${spec.maintainer}`);
  if (spec.providerPriority !== undefined) lines.push(`provider_priority = ${spec.providerPriority}`);
  if (spec.replacesPriority !== undefined) lines.push(`replaces_priority = ${spec.replacesPriority}`);
  for (const r of spec.replaces ?? []) lines.push(`replaces = ${r}`);
  for (const d of spec.depends ?? []) lines.push(`depend = ${d}`);
  for (const p of spec.provides ?? []) lines.push(`provides = ${p}`);
  if (spec.installIf?.length) lines.push(`install_if = ${spec.installIf.join(' ')}`);
  if (spec.triggers?.length) lines.push(`triggers = ${spec.triggers.join(' ')}`);
  lines.push(`datahash = ${datahash}`);
  return lines.join('\n') + '\n';
}

/** The compressed bytes of each gzip member of a concatenation (an .apk's signature / control / data). */
export function gzipMembers(buf: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let off = 0;
  while (off < buf.length) {
    if (buf[off] !== 0x1f || buf[off + 1] !== 0x8b) throw new Error(`no gzip member at byte ${off}`);
    const flg = buf[off + 3]!;
    let p = off + 10;
    if (flg & 4) p += 2 + buf.readUInt16LE(p);
    if (flg & 8) p = buf.indexOf(0, p) + 1;
    if (flg & 16) p = buf.indexOf(0, p) + 1;
    if (flg & 2) p += 2;
    const r = inflateRawSync(buf.subarray(p), { info: true }) as unknown as { engine: { bytesWritten: number } };
    const end = p + r.engine.bytesWritten + 8; // deflate data + CRC32 + ISIZE
    out.push(buf.subarray(off, end));
    off = end;
  }
  return out;
}

function prebuiltApk(spec: ApkPackageSpec): BuiltApk {
  const bytes = Buffer.from(spec.prebuilt!);
  const members = gzipMembers(bytes);
  if (members.length < 3) throw new Error(`${spec.name}: a prebuilt .apk needs signature, control and data members`);
  const size = /^size = (\d+)$/m.exec(gunzipSync(members[1]!).toString('latin1'));
  return {
    spec,
    bytes,
    size: bytes.length,
    datahash: createHash('sha256')
      .update(Buffer.concat(members.slice(2)))
      .digest('hex'),
    installedSize: spec.installedSize ?? Number(size?.[1] ?? 0),
    checksum: 'Q1' + createHash('sha1').update(members[1]!).digest('base64'),
    fileName: `${spec.name}-${spec.version}.apk`,
  };
}

/** Builds one signed .apk (signature member + control member + data member). */
export async function buildApk(spec: ApkPackageSpec, key: TestSigningKey | null): Promise<BuiltApk> {
  if (spec.prebuilt) return prebuiltApk(spec);
  const { member: data, installedSize: measured } = await dataMember(spec.files ?? []);
  const installedSize = spec.installedSize ?? measured;
  const datahash = createHash('sha256').update(data).digest('hex');
  const controlEntries: Array<{ header: TarHeader; body: Buffer }> = [];
  const info = Buffer.from(pkginfo(spec, installedSize, datahash));
  controlEntries.push({ header: { name: '.PKGINFO', mode: 0o644, mtime: FIXED_MTIME, uid: 0, gid: 0, size: info.length }, body: info });
  for (const [name, text] of Object.entries(spec.scripts ?? {})) {
    const body = Buffer.from(text);
    controlEntries.push({ header: { name: `.${name}`, mode: 0o755, mtime: FIXED_MTIME, uid: 0, gid: 0, size: body.length }, body });
  }
  const control = gz(await packTar(controlEntries, true));
  const sig = spec.unsigned || !key ? Buffer.alloc(0) : await signatureMember(control, key, spec.signAlg ?? 'RSA');
  const bytes = Buffer.concat([sig, control, data]);
  return {
    spec,
    bytes,
    datahash,
    installedSize,
    size: bytes.length,
    checksum: 'Q1' + createHash('sha1').update(control).digest('base64'),
    fileName: `${spec.name}-${spec.version}.apk`,
  };
}

/** One APKINDEX stanza for a built package. */
export function indexStanza(pkg: BuiltApk): Record<string, string> {
  const s = pkg.spec;
  const st: Record<string, string> = {
    C: pkg.checksum,
    P: s.name,
    V: s.version,
    A: s.arch ?? 'x86_64',
    S: String(pkg.size),
    I: String(pkg.installedSize),
    T: s.description ?? `${s.name} test package`,
    U: s.url ?? 'https://nexus-imager.invalid',
    L: s.license ?? 'MIT',
    o: s.origin ?? s.name,
    t: String(Math.floor(FIXED_MTIME.getTime() / 1000)),
    c: '0000000000000000000000000000000000000000',
  };
  if (s.maintainer) st.m = s.maintainer;
  if (s.providerPriority !== undefined) st.k = String(s.providerPriority);
  if (s.depends?.length) st.D = s.depends.join(' ');
  if (s.provides?.length) st.p = s.provides.join(' ');
  if (s.installIf?.length) st.i = s.installIf.join(' ');
  if (s.indexFields) Object.assign(st, s.indexFields, { C: pkg.checksum, S: String(pkg.size) });
  return st;
}

export function formatIndex(stanzas: Array<Record<string, string>>): string {
  return (
    stanzas
      .map((st) =>
        Object.entries(st)
          .map(([k, v]) => `${k}:${v}\n`)
          .join(''),
      )
      .join('\n') + '\n'
  );
}

/** A signed APKINDEX.tar.gz: signature member + one gzip member with DESCRIPTION and APKINDEX. */
export async function buildApkIndex(
  stanzas: Array<Record<string, string>>,
  key: TestSigningKey | null,
  description = 'nexus-test',
  alg: 'RSA' | 'RSA256' | 'RSA512' = 'RSA',
): Promise<Buffer> {
  const desc = Buffer.from(description);
  const text = Buffer.from(formatIndex(stanzas));
  const body = gz(
    await packTar(
      [
        { header: { name: 'DESCRIPTION', mode: 0o644, mtime: FIXED_MTIME, size: desc.length }, body: desc },
        { header: { name: 'APKINDEX', mode: 0o644, mtime: FIXED_MTIME, size: text.length }, body: text },
      ],
      false,
    ),
  );
  return key ? Buffer.concat([await signatureMember(body, key, alg), body]) : body;
}

export interface ApkRepoSpec {
  key: TestSigningKey;
  /** Key used to sign the indexes (default: `key`); pass another key to test untrusted indexes. */
  indexKey?: TestSigningKey | null;
  branch?: string;
  arch?: string;
  /** Repository name → packages ("main", "community"...). */
  repositories: Record<string, ApkPackageSpec[]>;
  /** Change stanzas before the index is signed (tamper with C:, S:, add unknown fields...). */
  mutateIndex?: (repo: string, stanzas: Array<Record<string, string>>) => void;
}

export interface WrittenApkRepo {
  /** Mirror root: feeds use `${mirror}/${branch}/${repo}/${arch}/`. */
  mirror: string;
  /** Directory holding the trusted public key (`key.pubName`). */
  keysDir: string;
  branch: string;
  arch: string;
  /** Built packages by repository and file name. */
  packages: Record<string, BuiltApk[]>;
  /** Absolute path of a repository's directory for this arch. */
  repoDir(repo: string): string;
  /** Absolute path of a package file. */
  packagePath(repo: string, name: string): string;
}

/** Writes a whole mirror tree: `<dir>/<branch>/<repo>/<arch>/{APKINDEX.tar.gz,*.apk}` and `<dir>/keys/`. */
export async function writeApkRepo(dir: string, spec: ApkRepoSpec): Promise<WrittenApkRepo> {
  const branch = spec.branch ?? 'v3.22';
  const arch = spec.arch ?? 'x86_64';
  const keysDir = join(dir, 'keys');
  await mkdir(keysDir, { recursive: true });
  await writeFile(join(keysDir, spec.key.pubName), spec.key.publicPem);
  const packages: Record<string, BuiltApk[]> = {};
  const repoDir = (repo: string) => join(dir, branch, repo, arch);
  for (const [repo, specs] of Object.entries(spec.repositories)) {
    await mkdir(repoDir(repo), { recursive: true });
    const built: BuiltApk[] = [];
    for (const p of specs) {
      const apk = await buildApk({ arch, ...p }, spec.key);
      built.push(apk);
      if (!p.indexOnly) await writeFile(join(repoDir(repo), apk.fileName), apk.bytes);
    }
    packages[repo] = built;
    const stanzas = built.map(indexStanza);
    spec.mutateIndex?.(repo, stanzas);
    const indexKey = spec.indexKey === undefined ? spec.key : spec.indexKey;
    await writeFile(join(repoDir(repo), 'APKINDEX.tar.gz'), await buildApkIndex(stanzas, indexKey, `${branch}-${repo}-test`));
  }
  return {
    mirror: dir,
    keysDir,
    branch,
    arch,
    packages,
    repoDir,
    packagePath(repo, name) {
      const p = packages[repo]?.find((b) => b.spec.name === name);
      if (!p) throw new Error(`no package ${name} in ${repo}`);
      return join(repoDir(repo), p.fileName);
    },
  };
}
