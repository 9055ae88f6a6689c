/**
 * Verifying one .apk file on disk without loading it whole: the signature and control members are
 * read from a growing prefix; the data member (any size) is streamed for `datahash` and extraction.
 * Trust chain: index signature → C: (sha1 of the control member) → package signature over the
 * control member → datahash (sha256 of the data member) → per-file PAX sha1.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import tar from 'tar-stream';
import { CancelledError, isCancelled, NexusError } from '../../../src-shared/errors';
import { formatBytes } from '../../../src-shared/format';
import { errnoCode, errorMessage } from '../../../src-shared/narrow';
import { asBuffer } from '../byte-chunks';
import { readGzipMembers, type GzipMember } from './gzip-members';
import { dataInflateLimit, limits, parseSize } from './limits';
import { parseSignatures, verifyTrusted, type SignatureEntry, type TrustedKeys } from './signature';
import { paxOf, readTar, type TarEntry } from './tar-read';

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
  /** Signed installed size (`size = `), when present and a valid number. */
  installedSize?: number;
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
    fields,
    name,
    version,
    replaces: words('replaces'),
    replacesPriority: parseSize(one('replaces_priority') ?? '0') ?? 0, // non-negative integer; 1e400 was Infinity
    origin: one('origin') ?? name,
    triggers: words('triggers'),
  };
  const dh = one('datahash');
  if (dh) info.datahash = dh;
  const size = one('size');
  if (size !== undefined) {
    const n = parseSize(size);
    if (n === undefined)
      throw new NexusError(
        'BAD_PACKAGE',
        `${what}: .PKGINFO has an invalid size "${size.slice(0, 40)}" (not a non-negative integer).`,
        'The file is not a valid Alpine package.',
      );
    info.installedSize = n;
  }
  return info;
}

const SCRIPT_NAMES = new Set(['pre-install', 'post-install', 'pre-deinstall', 'post-deinstall', 'pre-upgrade', 'post-upgrade', 'trigger']);

/** Reads the signature and control members from the start of the file (growing the read until both fit). */
export async function readApkHeader(path: string, what: string): Promise<ApkHeader> {
  const fh = await open(path, 'r');
  try {
    const { size } = await fh.stat();
    // The signature and control members are small: read a growing prefix, never more than the bound.
    const maxPrefix = limits.controlInflated + limits.signatureInflated;
    let want = Math.min(size, 64 * 1024, maxPrefix);
    for (;;) {
      const buf = Buffer.alloc(want);
      await fh.read(buf, 0, want, 0);
      const members = readGzipMembers(buf, what, 2, want < size, limits.controlInflated);
      if (!members) {
        if (want >= maxPrefix) {
          throw new NexusError(
            'DECOMPRESSION_LIMIT',
            `${what}: the signature and control members take more than ${formatBytes(maxPrefix)}; a package's control member holds only .PKGINFO and scripts.`,
            'The file is malformed or hostile; use another mirror or remove the package.',
          );
        }
        want = Math.min(size, want * 4, maxPrefix);
        continue;
      }
      const [first, second] = members;
      if (!first) throw new NexusError('TRUNCATED_FILE', `${what} is empty.`, 'Delete the file and download it again.');
      // A package may be unsigned: then member 1 is already the control tar.
      const firstEntries = await readTar(first.data, what);
      const signed = firstEntries.length > 0 && firstEntries.every((e) => e.header.name.startsWith('.SIGN.'));
      const signatureMember = signed ? first : null;
      const control = signed ? second : first;
      if (!control)
        throw new NexusError('TRUNCATED_FILE', `${what} ends after the signature; the control member is missing.`, 'Delete the file and download it again.');
      const controlEntries = signed ? await readTar(control.data, what) : firstEntries;
      const info = controlEntries.find((e) => e.header.name === '.PKGINFO');
      if (!info) throw new NexusError('BAD_PACKAGE', `${what} has no .PKGINFO.`, 'The file is not a valid Alpine package.');
      if (controlEntries.some((e) => e.header.name === '.INSTALL'))
        throw new NexusError('BAD_PACKAGE', `${what} has an obsolete .INSTALL script, which apk refuses too.`, 'Use a package built by a current abuild.');
      const scripts = new Map<string, string>();
      for (const e of controlEntries) {
        const n = e.header.name.replace(/^\./, '');
        if (SCRIPT_NAMES.has(n)) scripts.set(n, e.data.toString('utf8'));
      }
      const ctrlBytes = buf.subarray(control.start, control.end);
      return {
        signatureMember,
        signatures: signed ? parseSignatures(firstEntries) : [],
        control,
        controlEntries,
        scripts,
        pkginfo: parsePkgInfo(info.data.toString('utf8'), what),
        dataOffset: control.end,
        fileSize: size,
        checksum: 'Q1' + createHash('sha1').update(ctrlBytes).digest('base64'),
      };
    }
  } finally {
    await fh.close();
  }
}

async function* fileChunks(path: string, start: number, end?: number): AsyncGenerator<Buffer> {
  for await (const c of createReadStream(path, { start, ...(end !== undefined ? { end: end - 1 } : {}), highWaterMark: 256 * 1024 })) yield asBuffer(c);
}

export interface ExpectedPackage {
  /** Index C: */
  checksum?: string;
  /** Index S: */
  size?: number;
  /** Index I: (bounds what the data member may inflate to, with the signed .PKGINFO size). */
  installedSize?: number;
}

/** What the data member of a verified package may inflate to: from the smaller declared installed size. */
export function dataLimitOf(header: ApkHeader, expected: ExpectedPackage = {}): number {
  const declared = [header.pkginfo.installedSize, expected.installedSize].filter((n): n is number => n !== undefined && Number.isSafeInteger(n) && n >= 0);
  return dataInflateLimit(declared.length ? Math.min(...declared) : undefined);
}

export interface DataScan {
  /** sha256 of the compressed data member (compare with datahash). */
  datahash: string;
  /** Bytes the data member inflated to. */
  inflatedBytes: number;
  /** Entries whose PAX APK-TOOLS.checksum.SHA1 was checked (with `checkFiles`). */
  checkedFiles: number;
}

/**
 * Streams the data member once: sha256 of its compressed bytes, inflation bounded by `maxInflated`
 * (DECOMPRESSION_LIMIT, stopping at once), and with `checkFiles` every regular file's and symlink's
 * PAX `APK-TOOLS.checksum.SHA1` (FILE_CHECKSUM_MISMATCH), as unpacking does. Memory stays bounded: nothing is kept.
 */
export async function scanDataMember(
  path: string,
  header: ApkHeader,
  opts: { maxInflated: number; checkFiles?: boolean; what?: string; signal?: AbortSignal },
): Promise<DataScan> {
  const what = opts.what ?? path;
  const hash = createHash('sha256');
  let inflatedBytes = 0;
  let checkedFiles = 0;
  const max = opts.maxInflated;
  const declared = header.pkginfo.installedSize;
  const tooBig = () =>
    new NexusError(
      'DECOMPRESSION_LIMIT',
      `${what}: the data member inflates to more than ${formatBytes(max)} (${max} bytes)${declared !== undefined ? `, but the package declares an installed size of ${formatBytes(declared)}` : ''}; refusing it (a decompression bomb or a damaged package).`,
      'Nothing from it was kept. Use another mirror or remove the package from the Box; if it is an official package, report it.',
    );
  const compressed = async function* (src: AsyncIterable<Buffer>) {
    for await (const c of src) {
      hash.update(c);
      yield c;
    }
  };
  const counted = async function* (src: AsyncIterable<Buffer>) {
    for await (const c of src) {
      inflatedBytes += c.length;
      if (inflatedBytes > max) throw tooBig();
      yield c;
    }
  };
  const signal = opts.signal ? { signal: opts.signal } : {};
  if (!opts.checkFiles) {
    // Plain listeners rather than async generators: this pass runs before every unpack, so it should cost little.
    await new Promise<void>((resolve, reject) => {
      const raw = createReadStream(path, { start: header.dataOffset, highWaterMark: 256 * 1024 });
      const gunzip = createGunzip({ chunkSize: 256 * 1024 });
      let settled = false;
      const fail = (err: unknown, mapped = false) => {
        if (settled) return;
        settled = true;
        opts.signal?.removeEventListener('abort', onAbort);
        raw.destroy();
        gunzip.destroy();
        reject(mapped ? err : dataError(err, what));
      };
      const onAbort = () => fail(new CancelledError(), true);
      if (opts.signal?.aborted) return onAbort();
      opts.signal?.addEventListener('abort', onAbort, { once: true });
      raw.on('data', (c) => hash.update(asBuffer(c)));
      raw.on('error', fail);
      gunzip.on('data', (c: Buffer) => {
        inflatedBytes += c.length;
        if (inflatedBytes > max) fail(tooBig());
      });
      gunzip.on('error', fail);
      gunzip.on('end', () => {
        if (settled) return;
        settled = true;
        opts.signal?.removeEventListener('abort', onAbort);
        resolve();
      });
      raw.pipe(gunzip);
    });
    return { datahash: hash.digest('hex'), inflatedBytes, checkedFiles };
  }
  const extract = tar.extract();
  const raw = createReadStream(path, { start: header.dataOffset, highWaterMark: 256 * 1024 });
  const feeding = pipeline(raw, compressed, createGunzip(), counted, extract, signal);
  try {
    for await (const entry of extract) {
      const h = entry.header;
      const expected = paxOf(h)?.['APK-TOOLS.checksum.SHA1']?.toLowerCase();
      const sha1 = createHash('sha1');
      if (h.type === 'symlink') sha1.update(h.linkname ?? '');
      for await (const c of entry) sha1.update(asBuffer(c));
      if (expected && (h.type === 'file' || h.type === 'contiguous-file' || h.type === 'symlink')) {
        checkedFiles++;
        if (sha1.digest('hex') !== expected) {
          throw new NexusError(
            'FILE_CHECKSUM_MISMATCH',
            `${what}: ${h.name} does not match its APK-TOOLS.checksum.SHA1 (the per-file checksum in the signed data).`,
            "The package is damaged or was built wrongly; Nexus refuses to unpack it. Use another mirror, or report it to the package's maintainers.",
          );
        }
      }
    }
    await feeding;
  } catch (err) {
    raw.destroy();
    extract.destroy();
    await feeding.catch(() => {});
    throw dataError(err, what);
  }
  return { datahash: hash.digest('hex'), inflatedBytes, checkedFiles };
}

function dataError(err: unknown, what: string): unknown {
  if (err instanceof NexusError) return err;
  const code = errnoCode(err) ?? '';
  if (isCancelled(err)) return new CancelledError();
  if (code.startsWith('Z_'))
    return new NexusError(
      code === 'Z_BUF_ERROR' ? 'TRUNCATED_FILE' : 'BAD_GZIP',
      `${what}: the data member is ${code === 'Z_BUF_ERROR' ? 'truncated' : 'corrupt'} (${errorMessage(err)}).`,
      'Delete the file and download it again.',
    );
  return new NexusError('BAD_TAR', `${what}: the data member is not a valid tar (${errorMessage(err)}).`, 'Delete the file and download it again.', {
    cause: err,
  });
}

/**
 * Checks everything but the data member: size (S:), identity (C:) and the signature by a trusted key.
 * Throws SIZE_MISMATCH, CHECKSUM_MISMATCH, UNSIGNED/UNTRUSTED_SIGNATURE/BAD_SIGNATURE.
 */
export async function verifyApkHeader(path: string, keys: TrustedKeys, expected: ExpectedPackage = {}, what = path): Promise<VerifiedApk> {
  if (expected.size !== undefined) {
    const { size } = await stat(path);
    if (size !== expected.size)
      throw new NexusError(
        'SIZE_MISMATCH',
        `${what} is ${size} bytes but the index says ${expected.size}.`,
        'Delete it and download it again; the mirror may be out of sync.',
      );
  }
  const header = await readApkHeader(path, what);
  if (expected.checksum !== undefined && header.checksum !== expected.checksum) {
    throw new NexusError(
      'CHECKSUM_MISMATCH',
      `${what}: control checksum ${header.checksum} does not match the index (C:${expected.checksum}).`,
      'The file was altered or the mirror is out of sync; delete it and download it again.',
    );
  }
  const datahash = header.pkginfo.datahash;
  // With datahash the signature covers the control member only; old packages sign control..EOF.
  const signer = await verifyTrusted(what, header.signatures, keys, () =>
    datahash ? fileChunks(path, header.control.start, header.control.end) : fileChunks(path, header.control.start),
  );
  return { ...header, signer };
}

export interface VerifyFileOptions {
  /** Also check every file's PAX sha1 (what unpacking checks); default true. */
  checkFiles?: boolean;
  signal?: AbortSignal;
}

/**
 * Full verification of a package file: verifyApkHeader, then one bounded pass over the data member: the
 * datahash (DATAHASH_MISMATCH, checked first: the signature's word on the compressed bytes), inflation
 * within the declared installed size (DECOMPRESSION_LIMIT) and every file's PAX sha1 (FILE_CHECKSUM_MISMATCH).
 */
export async function verifyApkFile(
  path: string,
  keys: TrustedKeys,
  expected: ExpectedPackage = {},
  what = path,
  opts: VerifyFileOptions = {},
): Promise<VerifiedApk & { data: DataScan }> {
  const header = await verifyApkHeader(path, keys, expected, what);
  const datahash = header.pkginfo.datahash;
  if (datahash) {
    // Hash the compressed bytes before inflating anything: an altered member is refused without unpacking it.
    const h = createHash('sha256');
    for await (const c of fileChunks(path, header.dataOffset)) h.update(c);
    if (h.digest('hex') !== datahash)
      throw new NexusError(
        'DATAHASH_MISMATCH',
        `${what}: the data member does not match the signed datahash.`,
        'The file was altered after signing; delete it and download it again.',
      );
  }
  const data = await scanDataMember(path, header, {
    maxInflated: dataLimitOf(header, expected),
    checkFiles: opts.checkFiles ?? true,
    what,
    ...(opts.signal ? { signal: opts.signal } : {}),
  });
  return { ...header, data };
}
