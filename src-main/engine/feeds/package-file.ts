/**
 * Verifying one .apk file on disk without loading it whole: the signature and control members are
 * read from a growing prefix; the data member (any size) is streamed for `datahash` and extraction.
 * Trust chain: index signature → C: (sha1 of the control member) → package signature over the
 * control member → datahash (sha256 of the data member) → per-file PAX sha1.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { NexusError } from '../../../src-shared/errors';
import { readGzipMembers, type GzipMember } from './gzip-members';
import { parseSignatures, verifyTrusted, type SignatureEntry, type TrustedKeys } from './signature';
import { readTar, type TarEntry } from './tar-read';

export interface PkgInfo {
  /** Every `key = value` line; repeatable keys (depend, provides, replaces...) keep all values. */
  fields: Map<string, string[]>;
  name: string;
  version: string;
  datahash?: string;
  replaces: string[];
  replacesPriority: number;
  origin: string;
  triggers: string[];
}

export interface ApkHeader {
  signatureMember: GzipMember | null;
  signatures: SignatureEntry[];
  control: GzipMember;
  controlEntries: TarEntry[];
  pkginfo: PkgInfo;
  /** Scripts by name without the dot: "post-install" → text. */
  scripts: Map<string, string>;
  /** Byte offset where the data member starts. */
  dataOffset: number;
  fileSize: number;
  /** "Q1" + base64(sha1(control member)), comparable with the index `C:`. */
  checksum: string;
}

export interface VerifiedApk extends ApkHeader {
  /** Trusted key that signed it. */
  signer: string;
}

export function parsePkgInfo(text: string, what: string): PkgInfo {
  const fields = new Map<string, string[]>();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const eq = line.indexOf(' = ');
    if (eq < 0) continue;
    const k = line.slice(0, eq);
    const v = line.slice(eq + 3);
    const list = fields.get(k);
    if (list) list.push(v);
    else fields.set(k, [v]);
  }
  const one = (k: string) => fields.get(k)?.[0];
  const name = one('pkgname');
  const version = one('pkgver');
  if (!name || !version) throw new NexusError('BAD_PACKAGE', `${what}: .PKGINFO lacks pkgname or pkgver.`, 'The file is not a valid Alpine package.');
  const words = (k: string) => (fields.get(k) ?? []).flatMap((v) => v.split(' ')).filter(Boolean);
  const info: PkgInfo = {
    fields, name, version, replaces: words('replaces'), replacesPriority: Number(one('replaces_priority') ?? 0) || 0,
    origin: one('origin') ?? name, triggers: words('triggers'),
  };
  const dh = one('datahash');
  if (dh) info.datahash = dh;
  return info;
}

const SCRIPT_NAMES = new Set(['pre-install', 'post-install', 'pre-deinstall', 'post-deinstall', 'pre-upgrade', 'post-upgrade', 'trigger']);

/** Reads the signature and control members from the start of the file (growing the read until both fit). */
export async function readApkHeader(path: string, what: string): Promise<ApkHeader> {
  const fh = await open(path, 'r');
  try {
    const { size } = await fh.stat();
    let want = Math.min(size, 64 * 1024);
    for (;;) {
      const buf = Buffer.alloc(want);
      await fh.read(buf, 0, want, 0);
      const members = readGzipMembers(buf, what, 2, want < size);
      if (!members) {
        want = Math.min(size, want * 4);
        continue;
      }
      if (members.length === 0) throw new NexusError('TRUNCATED_FILE', `${what} is empty.`, 'Delete the file and download it again.');
      // A package may be unsigned: then member 1 is already the control tar.
      const firstEntries = await readTar(members[0]!.data, what);
      const signed = firstEntries.length > 0 && firstEntries.every((e) => e.header.name.startsWith('.SIGN.'));
      const signatureMember = signed ? members[0]! : null;
      const control = signed ? members[1] : members[0];
      if (!control) throw new NexusError('TRUNCATED_FILE', `${what} ends after the signature; the control member is missing.`, 'Delete the file and download it again.');
      const controlEntries = signed ? await readTar(control.data, what) : firstEntries;
      const info = controlEntries.find((e) => e.header.name === '.PKGINFO');
      if (!info) throw new NexusError('BAD_PACKAGE', `${what} has no .PKGINFO.`, 'The file is not a valid Alpine package.');
      if (controlEntries.some((e) => e.header.name === '.INSTALL')) throw new NexusError('BAD_PACKAGE', `${what} has an obsolete .INSTALL script, which apk refuses too.`, 'Use a package built by a current abuild.');
      const scripts = new Map<string, string>();
      for (const e of controlEntries) {
        const n = e.header.name.replace(/^\./, '');
        if (SCRIPT_NAMES.has(n)) scripts.set(n, e.data.toString('utf8'));
      }
      const ctrlBytes = buf.subarray(control.start, control.end);
      return {
        signatureMember, signatures: signed ? parseSignatures(firstEntries) : [], control, controlEntries, scripts, pkginfo: parsePkgInfo(info.data.toString('utf8'), what),
        dataOffset: control.end, fileSize: size, checksum: 'Q1' + createHash('sha1').update(ctrlBytes).digest('base64'),
      };
    }
  } finally {
    await fh.close();
  }
}

async function* fileChunks(path: string, start: number, end?: number): AsyncGenerator<Buffer> {
  for await (const c of createReadStream(path, { start, ...(end !== undefined ? { end: end - 1 } : {}), highWaterMark: 256 * 1024 })) yield c as Buffer;
}

async function sha256Of(path: string, start: number): Promise<string> {
  const h = createHash('sha256');
  for await (const c of fileChunks(path, start)) h.update(c);
  return h.digest('hex');
}

export interface ExpectedPackage {
  /** Index C: */
  checksum?: string;
  /** Index S: */
  size?: number;
}

/**
 * Checks everything but the data member: size (S:), identity (C:) and the signature by a trusted key.
 * Throws SIZE_MISMATCH, CHECKSUM_MISMATCH, UNSIGNED/UNTRUSTED_SIGNATURE/BAD_SIGNATURE.
 */
export async function verifyApkHeader(path: string, keys: TrustedKeys, expected: ExpectedPackage = {}, what = path): Promise<VerifiedApk> {
  if (expected.size !== undefined) {
    const { size } = await stat(path);
    if (size !== expected.size) throw new NexusError('SIZE_MISMATCH', `${what} is ${size} bytes but the index says ${expected.size}.`, 'Delete it and download it again; the mirror may be out of sync.');
  }
  const header = await readApkHeader(path, what);
  if (expected.checksum !== undefined && header.checksum !== expected.checksum) {
    throw new NexusError('CHECKSUM_MISMATCH', `${what}: control checksum ${header.checksum} does not match the index (C:${expected.checksum}).`, 'The file was altered or the mirror is out of sync; delete it and download it again.');
  }
  const datahash = header.pkginfo.datahash;
  // With datahash the signature covers the control member only; old packages sign control..EOF.
  const signer = await verifyTrusted(what, header.signatures, keys, () =>
    datahash ? fileChunks(path, header.control.start, header.control.end) : fileChunks(path, header.control.start));
  return { ...header, signer };
}

/** Full verification of a package file: verifyApkHeader plus the datahash of the data member (DATAHASH_MISMATCH). */
export async function verifyApkFile(path: string, keys: TrustedKeys, expected: ExpectedPackage = {}, what = path): Promise<VerifiedApk> {
  const header = await verifyApkHeader(path, keys, expected, what);
  const datahash = header.pkginfo.datahash;
  if (datahash) {
    const actual = await sha256Of(path, header.dataOffset);
    if (actual !== datahash) throw new NexusError('DATAHASH_MISMATCH', `${what}: the data member does not match the signed datahash.`, 'The file was altered after signing; delete it and download it again.');
  }
  return header;
}
