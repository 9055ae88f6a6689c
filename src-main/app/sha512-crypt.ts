/**
 * SHA-512 crypt ("$6$", Ulrich Drepper's SHA-crypt specification), as written to /etc/shadow.
 * Implemented with node:crypto only so it behaves the same in Node and in Electron's main process.
 * Checked against the specification's vectors and `openssl passwd -6` (test/unit/app/sha512-crypt.test.ts).
 */
import { createHash, randomBytes } from 'node:crypto';

const ITOA64 = './0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const DEFAULT_ROUNDS = 5000;
const MIN_ROUNDS = 1000;
const MAX_ROUNDS = 999_999_999;

const sha512 = (...parts: Buffer[]) => {
  const h = createHash('sha512');
  for (const p of parts) h.update(p);
  return h.digest();
};

/** `len` bytes made of repeated copies of `block` (the P and S sequences of the spec). */
function repeatTo(block: Buffer, len: number): Buffer {
  const out = Buffer.alloc(len);
  for (let i = 0; i < len; i += block.length) block.copy(out, i, 0, Math.min(block.length, len - i));
  return out;
}

function encode(b2: number, b1: number, b0: number, n: number): string {
  let w = (b2 << 16) | (b1 << 8) | b0;
  let s = '';
  for (let i = 0; i < n; i++) {
    s += ITOA64[w & 0x3f];
    w >>= 6;
  }
  return s;
}

/** Byte order of the final encoding for SHA-512 (spec step 22). */
const ORDER: ReadonlyArray<readonly [number, number, number]> = Array.from({ length: 21 }, (_, i) => {
  // Bytes i, i+21 and i+42, rotated left by i % 3.
  const at = (k: number) => i + 21 * ((i + k) % 3);
  return [at(0), at(1), at(2)];
});

export interface Sha512CryptOptions {
  /** Up to 16 characters from [./0-9A-Za-z]; random when absent. */
  salt?: string;
  /** Default 5000 (then omitted from the output, as glibc does). */
  rounds?: number;
}

export function sha512Crypt(password: string, options: Sha512CryptOptions = {}): string {
  const salt = (options.salt ?? randomSalt()).slice(0, 16);
  const explicitRounds = options.rounds !== undefined;
  const rounds = Math.min(MAX_ROUNDS, Math.max(MIN_ROUNDS, Math.floor(options.rounds ?? DEFAULT_ROUNDS)));
  const P = Buffer.from(password, 'utf8');
  const S = Buffer.from(salt, 'utf8');

  const B = sha512(P, S, P);
  const a = createHash('sha512').update(P).update(S);
  a.update(repeatTo(B, P.length));
  for (let i = P.length; i > 0; i >>= 1) a.update(i & 1 ? B : P);
  const A = a.digest();

  const pSeq = repeatTo(sha512(...Array<Buffer>(P.length).fill(P)), P.length);
  const sSeq = repeatTo(sha512(...Array<Buffer>(16 + A.readUInt8(0)).fill(S)), S.length);

  let C = A;
  for (let r = 0; r < rounds; r++) {
    const h = createHash('sha512');
    h.update(r & 1 ? pSeq : C);
    if (r % 3) h.update(sSeq);
    if (r % 7) h.update(pSeq);
    h.update(r & 1 ? C : pSeq);
    C = h.digest();
  }

  let out = '';
  // readUInt8: a checked read (the digest has 64 bytes).
  for (const [x, y, z] of ORDER) out += encode(C.readUInt8(x), C.readUInt8(y), C.readUInt8(z), 4);
  out += encode(0, 0, C.readUInt8(63), 2);
  return `$6$${explicitRounds ? `rounds=${rounds}$` : ''}${salt}$${out}`;
}

function randomSalt(): string {
  return [...randomBytes(16)].map((b) => ITOA64[b & 0x3f]).join('');
}
