/**
 * APKINDEX.tar.gz: verify the signature over everything after the signature member, then parse the
 * `X:value` stanzas. Unknown lower-case letters are ignored; unknown upper-case letters make the
 * package uninstallable, as apk does (they announce a feature this reader does not understand).
 */
import { NexusError } from '../../../src-shared/errors';
import { parseDeps, parseProvides, type Dep, type Provide } from './deps';
import { createInflateRaw } from 'node:zlib';
import { formatBytes } from '../../../src-shared/format';
import { assertNotApkV3, inflateLimitError, readGzipMember, type GzipMember } from './gzip-members';
import { limits, parseSize } from './limits';
import { offThread } from '../workers/pool';
import { parseSignatures, verifyTrusted, type TrustedKeys } from './signature';
import { readTar } from './tar-read';

/** Which repository a package came from. */
export interface RepoRef {
  /** "main", "community", or a label for a custom feed. */
  name: string;
  /** Alpine branch, "v3.22" or "edge". */
  branch: string;
  /** Alpine architecture name: x86_64, aarch64, riscv64. */
  arch: string;
  /** Base URL or directory of the repository ("…/v3.22/main/x86_64"). */
  base: string;
  /** apk's repository tag (`@testing`): its packages are only taken when asked for as `name@tag`. */
  tag?: string;
}

export interface ApkPackage {
  name: string;
  version: string;
  arch: string;
  /** `C:` identity: "Q1" + base64(sha1(control member)). */
  checksum: string;
  /** `S:` .apk file size in bytes. */
  size: number;
  /** `I:` installed size in bytes. */
  installedSize: number;
  description: string;
  url: string;
  license: string;
  origin: string;
  maintainer: string;
  buildTime: number;
  commit: string;
  depends: Dep[];
  provides: Provide[];
  installIf: Dep[];
  providerPriority: number;
  /** Set when the stanza used an unknown upper-case field. */
  uninstallable?: string;
  repo: RepoRef;
}

export interface ApkIndex {
  repo: RepoRef;
  description: string;
  /** Key file name that signed it, or null when it was read without verification. */
  signer: string | null;
  packages: ApkPackage[];
}

const KNOWN_UPPER = new Set(['C', 'P', 'V', 'A', 'S', 'I', 'T', 'U', 'L', 'D']);

const NON_ASCII = /[\u0080-\uffff]/;
const utf8 = (latin1: string) => (NON_ASCII.test(latin1) ? Buffer.from(latin1, 'latin1').toString('utf8') : latin1);

/** Where a field's value sits in the index text: [start, end) offsets, sliced when first read. */
type Span = number;

/**
 * One index stanza. Dependency and free-text fields are decoded on first use: an index has ~20k
 * stanzas and a resolution touches a few hundred, so loading stays fast and allocates little.
 */
class IndexPackage implements ApkPackage {
  name = '';
  version = '';
  arch: string;
  checksum = '';
  size = 0;
  installedSize = 0;
  buildTime = 0;
  providerPriority = 0;
  origin = '';
  uninstallable?: string;
  // [start, end) offsets of lazily decoded fields in `src`.
  tS: Span = 0;
  tE: Span = 0;
  uS: Span = 0;
  uE: Span = 0;
  lS: Span = 0;
  lE: Span = 0;
  mS: Span = 0;
  mE: Span = 0;
  cS: Span = 0;
  cE: Span = 0;
  dS: Span = 0;
  dE: Span = 0;
  pS: Span = 0;
  pE: Span = 0;
  iS: Span = 0;
  iE: Span = 0;
  /** Text of repeated `D:`/`p:`/`i:` lines (apk appends them to the first; rare, so kept off the fast path). */
  more?: { D?: string; p?: string; i?: string };
  private d?: Dep[];
  private p?: Provide[];
  private i?: Dep[];

  constructor(
    readonly repo: RepoRef,
    private readonly src: string,
    private readonly latin1: boolean,
  ) {
    this.arch = repo.arch;
  }

  private text(start: number, end: number): string {
    if (end <= start) return '';
    const v = this.src.slice(start, end);
    return this.latin1 ? utf8(v) : v;
  }

  get description(): string {
    return this.text(this.tS, this.tE);
  }
  get url(): string {
    return this.text(this.uS, this.uE);
  }
  get license(): string {
    return this.text(this.lS, this.lE);
  }
  get maintainer(): string {
    return this.text(this.mS, this.mE);
  }
  get commit(): string {
    return this.text(this.cS, this.cE);
  }

  private field(start: number, end: number, more: string | undefined): string {
    const first = this.text(start, end);
    return more === undefined ? first : `${first} ${more}`;
  }

  get depends(): Dep[] {
    return (this.d ??= parseDeps(this.field(this.dS, this.dE, this.more?.D)));
  }

  get provides(): Provide[] {
    return (this.p ??= parseProvides(this.field(this.pS, this.pE, this.more?.p)));
  }

  get installIf(): Dep[] {
    return (this.i ??= parseDeps(this.field(this.iS, this.iE, this.more?.i)));
  }

  /** Records a repeated `D:`/`p:`/`i:` line. */
  append(letter: 'D' | 'p' | 'i', value: string): void {
    const more = (this.more ??= {});
    more[letter] = more[letter] === undefined ? value : `${more[letter]} ${value}`;
  }

  /** Plain-data copy (JSON, structured clone). */
  toJSON(): ApkPackage {
    const {
      name,
      version,
      arch,
      checksum,
      size,
      installedSize,
      description,
      url,
      license,
      origin,
      maintainer,
      buildTime,
      commit,
      depends,
      provides,
      installIf,
      providerPriority,
      repo,
    } = this;
    return {
      name,
      version,
      arch,
      checksum,
      size,
      installedSize,
      description,
      url,
      license,
      origin,
      maintainer,
      buildTime,
      commit,
      depends,
      provides,
      installIf,
      providerPriority,
      repo,
      ...(this.uninstallable ? { uninstallable: this.uninstallable } : {}),
    };
  }
}

/** `S:`/`I:` must be safe non-negative integers; anything else makes the package uninstallable (size 0). */
function sizeField(pkg: IndexPackage, letter: 'S' | 'I', value: string): number {
  const n = parseSize(value);
  if (n !== undefined) return n;
  pkg.uninstallable ??= `invalid ${letter}: size "${value.slice(0, 40)}" (not a non-negative integer)`;
  return 0;
}

/** Parses raw APKINDEX bytes: decoded as latin1 (2-3× faster than UTF-8), free-text fields re-decoded as UTF-8. */
export function parseApkIndexBuffer(buf: Buffer, repo: RepoRef): ApkPackage[] {
  return parseApkIndexText(buf.toString('latin1'), repo, true);
}

/** Parses APKINDEX text. Stanzas without P: or V: are dropped. */
export function parseApkIndexText(text: string, repo: RepoRef, latin1 = false): ApkPackage[] {
  const out: ApkPackage[] = [];
  let pkg = new IndexPackage(repo, text, latin1);
  const flush = () => {
    if (pkg.name && pkg.version) {
      if (!pkg.origin) pkg.origin = pkg.name;
      out.push(pkg);
    }
    pkg = new IndexPackage(repo, text, latin1);
  };
  let start = 0;
  const len = text.length;
  while (start <= len) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = len;
    if (end === start) {
      flush();
    } else if (text.charCodeAt(start + 1) === 58 /* ':' */) {
      const v = start + 2;
      switch (text.charCodeAt(start)) {
        case 67 /* C */:
          pkg.checksum = text.slice(v, end);
          break;
        case 80 /* P */:
          pkg.name = text.slice(v, end);
          break;
        case 86 /* V */:
          pkg.version = text.slice(v, end);
          break;
        case 65 /* A */:
          pkg.arch = text.slice(v, end);
          break;
        case 83 /* S */:
          pkg.size = sizeField(pkg, 'S', text.slice(v, end));
          break;
        case 73 /* I */:
          pkg.installedSize = sizeField(pkg, 'I', text.slice(v, end));
          break;
        case 84 /* T */:
          pkg.tS = v;
          pkg.tE = end;
          break;
        case 85 /* U */:
          pkg.uS = v;
          pkg.uE = end;
          break;
        case 76 /* L */:
          pkg.lS = v;
          pkg.lE = end;
          break;
        case 68 /* D */:
          if (pkg.dE) pkg.append('D', text.slice(v, end));
          else {
            pkg.dS = v;
            pkg.dE = end;
          }
          break;
        case 111 /* o */:
          pkg.origin = text.slice(v, end);
          break;
        case 109 /* m */:
          pkg.mS = v;
          pkg.mE = end;
          break;
        // t: and k: are non-negative integers; anything else reads as 0 (was NaN / Infinity, and null in JSON).
        case 116 /* t */:
          pkg.buildTime = parseSize(text.slice(v, end)) ?? 0;
          break;
        case 99 /* c */:
          pkg.cS = v;
          pkg.cE = end;
          break;
        case 112 /* p */:
          if (pkg.pE) pkg.append('p', text.slice(v, end));
          else {
            pkg.pS = v;
            pkg.pE = end;
          }
          break;
        case 105 /* i */:
          if (pkg.iE) pkg.append('i', text.slice(v, end));
          else {
            pkg.iS = v;
            pkg.iE = end;
          }
          break;
        case 107 /* k */:
          pkg.providerPriority = parseSize(text.slice(v, end)) ?? 0;
          break;
        default: {
          const letter = text.charAt(start);
          if (letter >= 'A' && letter <= 'Z' && !KNOWN_UPPER.has(letter)) pkg.uninstallable = `unknown index field "${letter}:"`;
        }
      }
    }
    start = end + 1;
  }
  flush();
  return out;
}

/** How far a member whose signature failed is inflated to tell a truncated download apart (real indexes inflate to ~6 MiB). */
const PROBE_BYTES = 32 * 1024 * 1024;

/** Whether the gzip member at `off` inflates cleanly: streamed, output discarded, stopped after `max` bytes (for error messages only). */
function probeMember(buf: Buffer, off: number, max: number): Promise<'ok' | 'truncated' | 'corrupt' | 'too-large'> {
  return new Promise((resolve) => {
    if (buf.length < off + 10 || buf[off] !== 0x1f || buf[off + 1] !== 0x8b) return resolve('corrupt');
    // The gzip header is skipped by readGzipMember's rules; here only the common 10-byte header is needed for a hint.
    const flags = buf.readUInt8(off + 3);
    if (flags & ~0x1f) return resolve('corrupt');
    if (flags & 0x1e) return resolve('ok'); // unusual header: no probe, the signature error stands
    const inf = createInflateRaw();
    let n = 0;
    inf.on('data', (c: Buffer) => {
      n += c.length;
      if (n > max) {
        inf.destroy();
        resolve('too-large');
      }
    });
    inf.on('error', (e: { code?: string }) => resolve(e.code === 'Z_BUF_ERROR' ? 'truncated' : 'corrupt'));
    inf.on('end', () => resolve('ok'));
    inf.end(buf.subarray(off + 10));
  });
}

/**
 * Verifies and parses an APKINDEX.tar.gz. With `keys` null the signature is not checked (only for
 * tools that just list contents). Nothing signed is inflated before its signature is checked: the
 * signature member (small, bounded) is read, the signature verified over the compressed bytes of the
 * rest, and only then the APKINDEX member inflated, within `limits.indexInflated`.
 * Throws APK_V3_UNSUPPORTED, UNSIGNED, UNTRUSTED_SIGNATURE, BAD_SIGNATURE, TRUNCATED_FILE, BAD_INDEX,
 * INDEX_TOO_LARGE, DECOMPRESSION_LIMIT.
 */
export async function readApkIndex(bytes: Buffer, repo: RepoRef, keys: TrustedKeys | null, what = `the index of ${repo.arch}/${repo.name}`): Promise<ApkIndex> {
  const { description, signer, data } = await readApkIndexMember(bytes, repo, keys, what);
  return { repo, description, signer, packages: parseApkIndexBuffer(data, repo) };
}

/** readApkIndex up to the parse: the verified, inflated APKINDEX file and what the archive says about it. */
export async function readApkIndexMember(
  bytes: Buffer,
  repo: RepoRef,
  keys: TrustedKeys | null,
  what = `the index of ${repo.arch}/${repo.name}`,
): Promise<{ description: string; signer: string | null; data: Buffer }> {
  assertNotApkV3(bytes, what);
  if (bytes.length > limits.indexCompressed) {
    throw new NexusError(
      'INDEX_TOO_LARGE',
      `${what} is ${formatBytes(bytes.length)}, more than the ${formatBytes(limits.indexCompressed)} an APKINDEX.tar.gz may be.`,
      'The mirror is serving something else than an Alpine index; check the mirror URL or use another mirror.',
    );
  }
  if (bytes.length === 0) throw new NexusError('TRUNCATED_FILE', `${what} is empty.`, 'Delete the cached index and fetch it again.');
  // Index: member 1 = signatures (cut tar), member 2 = DESCRIPTION + APKINDEX. An unsigned index has only the latter.
  let first: GzipMember | null = null;
  try {
    first = readGzipMember(bytes, 0, what, limits.signatureInflated);
  } catch (err) {
    // Too large for a signature member: an unsigned index (or a bomb), whose body is the first member.
    if (!(err instanceof NexusError && err.code === 'DECOMPRESSION_LIMIT')) throw err;
  }
  const sigEntries = first && first.end < bytes.length ? await readTar(first.data, what) : [];
  const sigs = parseSignatures(sigEntries);
  const bodyStart = first && first.end < bytes.length ? first.end : 0;
  if (bodyStart >= bytes.length) throw new NexusError('BAD_INDEX', `${what} has no APKINDEX member.`, 'Delete the cached index and fetch it again.');
  let signer: string | null = null;
  if (keys) {
    try {
      signer = await verifyTrusted(what, sigs, keys, () => bytes.subarray(bodyStart));
    } catch (err) {
      // A damaged download is more useful to report as such; the probe is bounded and keeps nothing.
      if (err instanceof NexusError && err.code === 'BAD_SIGNATURE') {
        const state = await probeMember(bytes, bodyStart, Math.min(limits.indexInflated, PROBE_BYTES));
        if (state === 'truncated')
          throw new NexusError(
            'TRUNCATED_FILE',
            `${what} is truncated inside gzip member ${bodyStart ? 2 : 1} (and so does not match its signature).`,
            'Delete the file and download it again.',
          );
      }
      throw err;
    }
  }
  let body: GzipMember;
  try {
    body = readGzipMember(bytes, bodyStart, what, limits.indexInflated, false, bodyStart ? 2 : 1);
  } catch (err) {
    if (err instanceof NexusError && err.code === 'DECOMPRESSION_LIMIT') {
      const e = inflateLimitError(what, 'the APKINDEX member', limits.indexInflated);
      throw new NexusError('INDEX_TOO_LARGE', e.message, 'An Alpine index inflates to a few MiB; this one is malformed or hostile. Use another mirror.');
    }
    throw err;
  }
  const entries = await readTar(body.data, what);
  const index = entries.find((e) => e.header.name === 'APKINDEX');
  if (!index)
    throw new NexusError('BAD_INDEX', `${what} contains no APKINDEX file.`, 'Check the repository URL; it must point at an Alpine APK v2 repository.');
  const desc =
    entries
      .find((e) => e.header.name === 'DESCRIPTION')
      ?.data.toString('utf8')
      .slice(0, 160)
      .trim() ?? '';
  return { description: desc, signer, data: index.data };
}

/**
 * A parsed index as transferable data (worker → main thread): the five identity strings of every package joined
 * by NUL, its numbers and field spans in one Float64Array, and the rare extras. The lazily decoded fields stay
 * spans into the index text, so rebuilding the packages on the main thread is cheap (no field is decoded there).
 */
export interface IndexScan {
  count: number;
  strings: string;
  numbers: Float64Array;
  extras: Array<{ at: number; more?: { D?: string; p?: string; i?: string }; uninstallable?: string }>;
}

const SCAN_FIELDS = [
  'size',
  'installedSize',
  'buildTime',
  'providerPriority',
  'tS',
  'tE',
  'uS',
  'uE',
  'lS',
  'lE',
  'mS',
  'mE',
  'cS',
  'cE',
  'dS',
  'dE',
  'pS',
  'pE',
  'iS',
  'iE',
] as const;

/** Packs parsed packages for the trip to another thread; null when a field holds a NUL (a hostile index: parse it where it is used). */
export function scanOf(packages: ApkPackage[]): IndexScan | null {
  const numbers = new Float64Array(packages.length * SCAN_FIELDS.length);
  const strings: string[] = [];
  const extras: IndexScan['extras'] = [];
  for (let at = 0; at < packages.length; at++) {
    const p = packages[at];
    if (!(p instanceof IndexPackage)) return null;
    for (const v of [p.name, p.version, p.arch, p.checksum, p.origin]) {
      if (v.includes('\0')) return null;
      strings.push(v);
    }
    SCAN_FIELDS.forEach((f, k) => (numbers[at * SCAN_FIELDS.length + k] = p[f]));
    if (p.more || p.uninstallable) extras.push({ at, ...(p.more ? { more: p.more } : {}), ...(p.uninstallable ? { uninstallable: p.uninstallable } : {}) });
  }
  return { count: packages.length, strings: strings.join('\0'), numbers, extras };
}

/** Rebuilds the packages of an IndexScan over the same index text (decoded as latin1, as parseApkIndexBuffer does). */
export function packagesOfScan(scan: IndexScan, text: string, repo: RepoRef): ApkPackage[] {
  const strings = scan.count ? scan.strings.split('\0') : [];
  const out: IndexPackage[] = new Array(scan.count);
  for (let at = 0; at < scan.count; at++) {
    const p = new IndexPackage(repo, text, true);
    const s = at * 5;
    p.name = strings[s] ?? '';
    p.version = strings[s + 1] ?? '';
    p.arch = strings[s + 2] ?? '';
    p.checksum = strings[s + 3] ?? '';
    p.origin = strings[s + 4] ?? '';
    // Unrolled (SCAN_FIELDS order): a loop over property names is several times slower for ~20k packages.
    const n = scan.numbers;
    let k = at * SCAN_FIELDS.length;
    p.size = n[k++] ?? 0;
    p.installedSize = n[k++] ?? 0;
    p.buildTime = n[k++] ?? 0;
    p.providerPriority = n[k++] ?? 0;
    p.tS = n[k++] ?? 0;
    p.tE = n[k++] ?? 0;
    p.uS = n[k++] ?? 0;
    p.uE = n[k++] ?? 0;
    p.lS = n[k++] ?? 0;
    p.lE = n[k++] ?? 0;
    p.mS = n[k++] ?? 0;
    p.mE = n[k++] ?? 0;
    p.cS = n[k++] ?? 0;
    p.cE = n[k++] ?? 0;
    p.dS = n[k++] ?? 0;
    p.dE = n[k++] ?? 0;
    p.pS = n[k++] ?? 0;
    p.pE = n[k++] ?? 0;
    p.iS = n[k++] ?? 0;
    p.iE = n[k++] ?? 0;
    out[at] = p;
  }
  for (const e of scan.extras) {
    const p = out[e.at];
    if (p && e.more) p.more = e.more;
    if (p && e.uninstallable) p.uninstallable = e.uninstallable;
  }
  return out;
}

/**
 * readApkIndex on the engine worker thread (workers/pool.ts): verifying, inflating and scanning a large index takes
 * hundreds of milliseconds of CPU that would otherwise freeze the app's window. Same results and errors.
 */
export async function readApkIndexOffThread(
  bytes: Buffer,
  repo: RepoRef,
  keys: TrustedKeys | null,
  what = `the index of ${repo.arch}/${repo.name}`,
): Promise<ApkIndex> {
  const r = await offThread('scanApkIndex', [bytes, repo, keys, what, { ...limits }]);
  const packages = r.scan ? packagesOfScan(r.scan, r.text, repo) : parseApkIndexText(r.text, repo, true);
  return { repo, description: r.description, signer: r.signer, packages };
}
