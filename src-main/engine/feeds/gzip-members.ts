/**
 * Splits concatenated gzip members. APK v2 files are several gzip members glued together and the
 * signatures cover the *compressed* bytes of some members, so we need the exact byte boundaries:
 * zlib's gunzip streams through members transparently and never reports where one ends, hence
 * this small hand-written splitter (header parsing per RFC 1952 + raw inflate that tells how
 * many input bytes it consumed).
 */
import { inflateRawSync } from 'node:zlib';
import { NexusError } from '../../../src-shared/errors';
import { errnoCode, errorMessage, isRecord } from '../../../src-shared/narrow';
import { formatBytes } from '../../../src-shared/format';
import { limits } from './limits';

export interface GzipMember {
  /** Offset of the member's first byte (the 1f 8b magic). */
  start: number;
  /** Offset just past the member's 8-byte trailer. */
  end: number;
  /** Decompressed content. */
  data: Buffer;
}

const FHCRC = 2;
const FEXTRA = 4;
const FNAME = 8;
const FCOMMENT = 16;

/** Throws a clear error for APK v3 (ADB) files, which look nothing like gzip. */
export function assertNotApkV3(buf: Uint8Array, what: string): void {
  if (buf.length >= 3 && buf[0] === 0x41 && buf[1] === 0x44 && buf[2] === 0x42) {
    throw new NexusError(
      'APK_V3_UNSUPPORTED',
      `${what} is an APK v3 (ADB) file; only APK v2 (gzip + tar) packages and indexes are supported for now.`,
      'Use an Alpine repository that publishes APK v2 files (Alpine ≤ 3.23 does), not an apk-tools 3 / Chimera-style Packages.adb.',
    );
  }
}

/** Length of the gzip header at `off`, or -1 when the buffer ends inside it. */
function headerLength(buf: Buffer, off: number, what: string): number {
  if (buf.length < off + 10) return -1;
  if (buf[off] !== 0x1f || buf[off + 1] !== 0x8b || buf[off + 2] !== 8) {
    throw new NexusError('BAD_GZIP', `${what}: no gzip member at byte ${off}.`, 'The file is damaged or not an APK v2 file; delete it and download it again.');
  }
  const flags = buf.readUInt8(off + 3);
  let p = off + 10;
  if (flags & FEXTRA) {
    if (buf.length < p + 2) return -1;
    p += 2 + buf.readUInt16LE(p);
  }
  for (const flag of [FNAME, FCOMMENT]) {
    if (flags & flag) {
      const z = buf.indexOf(0, p);
      if (z < 0) return -1;
      p = z + 1;
    }
  }
  if (flags & FHCRC) p += 2;
  return p > buf.length ? -1 : p - off;
}

/** The error for a member that inflates beyond its bound (a decompression bomb, or a damaged file). */
export function inflateLimitError(what: string, member: string, max: number): NexusError {
  return new NexusError(
    'DECOMPRESSION_LIMIT',
    `${what}: ${member} inflates to more than ${formatBytes(max)} (${max} bytes), more than it may; refusing to unpack it further.`,
    'The file is malformed or hostile (a decompression bomb); use another mirror or remove the package. Nothing from it was kept.',
  );
}

/**
 * Reads the gzip member starting at `off`, inflating at most `maxOutput` bytes (DECOMPRESSION_LIMIT beyond).
 * Returns null when `buf` ends inside it and `partial` is set (the caller reads more), else throws TRUNCATED_FILE.
 * `ordinal` (1-based) names the member in messages.
 */
/** What `inflateRawSync(…, { info: true })` returns. */
function isInflateInfo(v: unknown): v is { buffer: Buffer; engine: { bytesWritten: number } } {
  return isRecord(v) && Buffer.isBuffer(v.buffer) && isRecord(v.engine) && typeof v.engine.bytesWritten === 'number';
}

export function readGzipMember(buf: Buffer, off: number, what: string, maxOutput: number, partial?: false, ordinal?: number): GzipMember;
export function readGzipMember(buf: Buffer, off: number, what: string, maxOutput: number, partial: boolean, ordinal?: number): GzipMember | null;
export function readGzipMember(buf: Buffer, off: number, what: string, maxOutput: number, partial = false, ordinal = 1): GzipMember | null {
  const hl = headerLength(buf, off, what);
  let inflated: { buffer: Buffer; engine: { bytesWritten: number } } | null = null;
  if (hl >= 0) {
    try {
      // With `info`, zlib returns the output and its engine (whose bytesWritten is the input consumed); Node's types omit it.
      const out: unknown = inflateRawSync(buf.subarray(off + hl), { info: true, maxOutputLength: Math.max(1, maxOutput) });
      if (!isInflateInfo(out)) throw new NexusError('INTERNAL', `${what}: zlib returned no inflate info (an unsupported Node version?).`);
      inflated = out;
    } catch (err) {
      if (err instanceof NexusError) throw err;
      const code = errnoCode(err);
      if (code === 'ERR_BUFFER_TOO_LARGE') throw inflateLimitError(what, `gzip member ${ordinal}`, maxOutput);
      if (code !== 'Z_BUF_ERROR') {
        throw new NexusError('BAD_GZIP', `${what}: gzip member ${ordinal} is corrupt (${errorMessage(err)}).`, 'Delete the file and download it again.');
      }
    }
  }
  const end = inflated ? off + hl + inflated.engine.bytesWritten + 8 : Infinity;
  if (!inflated || end > buf.length) {
    if (partial) return null;
    throw new NexusError('TRUNCATED_FILE', `${what} is truncated inside gzip member ${ordinal}.`, 'Delete the file and download it again.');
  }
  return { start: off, end, data: inflated.buffer };
}

/**
 * Reads up to `limit` gzip members from the start of `buf`, each inflated to at most `maxOutput` bytes
 * (default `limits.indexInflated`; DECOMPRESSION_LIMIT beyond). When `buf` is only a prefix of a file and
 * it ends inside a wanted member, returns `null` so the caller can read more (with `partial`), or
 * throws TRUNCATED_FILE otherwise.
 */
export function readGzipMembers(buf: Buffer, what: string, limit = Infinity, partial = false, maxOutput: number = limits.indexInflated): GzipMember[] | null {
  assertNotApkV3(buf, what);
  const members: GzipMember[] = [];
  let off = 0;
  while (off < buf.length && members.length < limit) {
    const m = readGzipMember(buf, off, what, maxOutput, partial, members.length + 1);
    if (!m) return null;
    members.push(m);
    off = m.end;
  }
  return members;
}
