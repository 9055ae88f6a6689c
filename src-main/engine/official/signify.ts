/**
 * signify(1) in TypeScript, verify side only: public keys, signatures, embedded-signature files
 * (`signify -S -e`, e.g. OpenBSD's SHA256.sig) and the `SHA256 (file) = hex` checksum lists they carry.
 *
 * Format (usr.bin/signify/signify.c): every file is two lines, `untrusted comment: …` and base64 of
 *   public key  = "Ed" ‖ keynum(8) ‖ Ed25519 public key(32)   (42 bytes)
 *   signature   = "Ed" ‖ keynum(8) ‖ Ed25519 signature(64)    (74 bytes)
 * An embedded signature file continues after the second newline with the signed message itself.
 * The signature is plain Ed25519 over the message bytes, verified here with node:crypto.
 */
import { createPublicKey, verify as cryptoVerify, type KeyObject } from 'node:crypto';
import { NexusError } from '../../../src-shared/errors';

const COMMENT_PREFIX = 'untrusted comment: ';
const PKALG = 'Ed';

export interface SignifyPublicKey {
  comment: string;
  /** The key number (8 bytes) as lowercase hex: binds signatures to the key that made them. */
  keynum: string;
  /** The raw 32-byte Ed25519 public key. */
  key: Buffer;
  /** The base64 line as published (e.g. on openbsd.org release pages). */
  base64: string;
}

export interface SignifySignature {
  comment: string;
  keynum: string;
  sig: Buffer;
}

export interface EmbeddedSignature {
  signature: SignifySignature;
  /** The signed bytes: everything after the second line. */
  message: Buffer;
}

export interface ChecksumEntry {
  algorithm: 'SHA256';
  file: string;
  hex: string;
}

function strictBase64(text: string, expectLength: number, what: string, code: string, hint: string): Buffer {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(text) || text.length % 4 !== 0) {
    throw new NexusError(code, `The ${what} is not valid base64.`, hint);
  }
  const bytes = Buffer.from(text, 'base64');
  if (bytes.length !== expectLength) {
    throw new NexusError(code, `The ${what} has ${bytes.length} bytes; a signify ${what} has ${expectLength}.`, hint);
  }
  if (bytes.subarray(0, 2).toString('latin1') !== PKALG) {
    throw new NexusError(code, `The ${what} is not an Ed25519 signify ${what} (algorithm "${bytes.subarray(0, 2).toString('latin1')}", expected "Ed").`, hint);
  }
  return bytes;
}

/** Splits "untrusted comment: …\nBASE64\n" and returns [comment, base64, rest]. */
function splitHeader(data: Buffer, what: string, code: string, hint: string): [string, string, Buffer] {
  const nl1 = data.indexOf(0x0a);
  const nl2 = nl1 < 0 ? -1 : data.indexOf(0x0a, nl1 + 1);
  if (nl1 < 0 || nl2 < 0) throw new NexusError(code, `The ${what} is not in signify format: it needs a comment line and a base64 line.`, hint);
  const line1 = data.subarray(0, nl1).toString('utf8');
  const line2 = data.subarray(nl1 + 1, nl2).toString('latin1');
  if (!line1.startsWith(COMMENT_PREFIX)) throw new NexusError(code, `The ${what} does not start with "${COMMENT_PREFIX.trim()}".`, hint);
  return [line1.slice(COMMENT_PREFIX.length), line2, data.subarray(nl2 + 1)];
}

export function parsePublicKey(data: Buffer | string): SignifyPublicKey {
  const hint = 'Use the openbsd-NN-base.pub file exactly as published in the OpenBSD source tree (etc/signify/).';
  const buf = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  const [comment, b64, rest] = splitHeader(buf, 'public key', 'SIGNIFY_KEY_INVALID', hint);
  if (rest.toString('utf8').trim() !== '') throw new NexusError('SIGNIFY_KEY_INVALID', 'The public key file has extra content after the key line.', hint);
  const bytes = strictBase64(b64, 42, 'public key', 'SIGNIFY_KEY_INVALID', hint);
  return { comment, keynum: bytes.subarray(2, 10).toString('hex'), key: Buffer.from(bytes.subarray(10, 42)), base64: b64 };
}

function parseSigLine(comment: string, b64: string): SignifySignature {
  const bytes = strictBase64(b64, 74, 'signature', 'SIGNIFY_SIG_INVALID', 'The mirror served a damaged signature file; try another mirror.');
  return { comment, keynum: bytes.subarray(2, 10).toString('hex'), sig: Buffer.from(bytes.subarray(10, 74)) };
}

/** Parses a detached signature file (two lines). */
export function parseSignature(data: Buffer | string): SignifySignature {
  const buf = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  const [comment, b64] = splitHeader(buf, 'signature', 'SIGNIFY_SIG_INVALID', 'The mirror served a damaged signature file; try another mirror.');
  return parseSigLine(comment, b64);
}

/** Parses an embedded-signature file such as SHA256.sig: two header lines, then the signed message. */
export function parseEmbedded(data: Buffer): EmbeddedSignature {
  const [comment, b64, message] = splitHeader(data, 'signature', 'SIGNIFY_SIG_INVALID', 'The mirror served a damaged SHA256.sig; try another mirror.');
  return { signature: parseSigLine(comment, b64), message: Buffer.from(message) };
}

function keyObject(pub: SignifyPublicKey): KeyObject {
  return createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: pub.key.toString('base64url') }, format: 'jwk' });
}

/**
 * Verifies `message` against `sig` with `pub`, as `signify -V` does: the key numbers must match
 * (a different key is named as such), then the Ed25519 signature must verify. Throws on any failure.
 */
export function verifySignature(pub: SignifyPublicKey, sig: SignifySignature, message: Buffer, what = 'the checksum list'): void {
  if (sig.keynum !== pub.keynum) {
    throw new NexusError(
      'SIGNIFY_KEY_MISMATCH',
      `The signature on ${what} was made by key ${sig.keynum}, not by the trusted key ${pub.keynum} (${pub.comment}).`,
      `The signature says "${sig.comment}". Either the mirror serves a different release than planned, or the files were re-signed by someone else: do not use them.`,
    );
  }
  if (!cryptoVerify(null, message, keyObject(pub), sig.sig)) {
    throw new NexusError(
      'SIGNIFY_BAD_SIGNATURE',
      `The signature on ${what} does not verify with ${pub.comment} (key ${pub.keynum}): the file was altered after signing.`,
      'Nothing was written. Try another mirror; if it keeps failing, report the mirror to the OpenBSD project.',
    );
  }
}

/** Verifies an embedded-signature file and returns the verified message. */
export function verifyEmbedded(pub: SignifyPublicKey, data: Buffer, what = 'the checksum list'): Buffer {
  const { signature, message } = parseEmbedded(data);
  verifySignature(pub, signature, message, what);
  return message;
}

const LINE = /^(SHA256) \((.+)\) = ([0-9a-f]{64})$/;

/**
 * Parses a BSD-style checksum list (`SHA256 (file) = hex` per line), as signify -C reads it.
 * Any line that is not of that form, or a file listed twice, makes the whole list invalid.
 */
export function parseChecksumList(message: Buffer | string): ChecksumEntry[] {
  const text = typeof message === 'string' ? message : message.toString('utf8');
  const entries: ChecksumEntry[] = [];
  const seen = new Set<string>();
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  lines.forEach((line, i) => {
    const m = LINE.exec(line);
    if (!m) {
      throw new NexusError(
        'CHECKSUM_LIST_INVALID',
        `Line ${i + 1} of the checksum list is not "SHA256 (file) = <64 hex digits>": ${JSON.stringify(line.slice(0, 80))}.`,
        'The list is signed but not in the expected format; Nexus refuses to guess. Try another mirror or release.',
      );
    }
    const file = m[2]!;
    if (seen.has(file))
      throw new NexusError('CHECKSUM_LIST_INVALID', `The checksum list names "${file}" twice.`, 'Nexus refuses an ambiguous list. Try another mirror.');
    seen.add(file);
    entries.push({ algorithm: 'SHA256', file, hex: m[3]! });
  });
  return entries;
}

/** The expected SHA-256 of `file` from a verified list; throws CHECKSUM_ENTRY_MISSING if it is not listed. */
export function expectedSha256(entries: ChecksumEntry[], file: string): string {
  const e = entries.find((x) => x.file === file);
  if (!e) {
    throw new NexusError(
      'CHECKSUM_ENTRY_MISSING',
      `The signed checksum list does not list "${file}", so it cannot be verified.`,
      `Listed files include: ${entries
        .slice(0, 8)
        .map((x) => x.file)
        .join(', ')}${entries.length > 8 ? ', …' : ''}. Check the release's image names in profiles/releases/.`,
    );
  }
  return e.hex;
}
