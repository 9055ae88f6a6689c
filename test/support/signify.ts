/**
 * Test signify keys and signatures made with node:crypto in signify's own formats
 * (usr.bin/signify/signify.c): public key "Ed" ‖ keynum(8) ‖ pub(32), signature "Ed" ‖ keynum(8) ‖ sig(64),
 * embedded signature file = comment line, base64 line, message.
 */
import { createHash, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';

export interface TestSignifyKey {
  keynum: Buffer;
  publicRaw: Buffer;
  privateKey: KeyObject;
  /** Contents of a .pub file. */
  pubFile: string;
}

export function makeSignifyKey(comment = 'nexus test public key', keynum: Buffer = randomBytes(8)): TestSignifyKey {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const publicRaw = Buffer.from(publicKey.export({ format: 'jwk' }).x!, 'base64url');
  const blob = Buffer.concat([Buffer.from('Ed'), keynum, publicRaw]);
  return { keynum, publicRaw, privateKey, pubFile: `untrusted comment: ${comment}\n${blob.toString('base64')}\n` };
}

/** `signify -S -e`: the signature lines followed by the message. */
export function signEmbedded(key: TestSignifyKey, message: Buffer | string, comment = 'verify with openbsd-80-base.pub'): Buffer {
  const msg = Buffer.isBuffer(message) ? message : Buffer.from(message);
  const sig = sign(null, msg, key.privateKey);
  const blob = Buffer.concat([Buffer.from('Ed'), key.keynum, sig]);
  return Buffer.concat([Buffer.from(`untrusted comment: ${comment}\n${blob.toString('base64')}\n`), msg]);
}

/** A BSD-style checksum list for files given as name → bytes. */
export function sha256List(files: Record<string, Buffer>): string {
  return Object.entries(files)
    .map(([name, bytes]) => `SHA256 (${name}) = ${createHash('sha256').update(bytes).digest('hex')}\n`)
    .join('');
}

/** Deterministic pseudo-random bytes (an image-like payload without hitting the RNG for every test). */
export function fakeImage(size: number, seed = 1): Buffer {
  const out = Buffer.alloc(size);
  let block = createHash('sha256').update(`seed-${seed}`).digest();
  for (let off = 0; off < size; off += 32) {
    block.copy(out, off, 0, Math.min(32, size - off));
    block = createHash('sha256').update(block).digest();
  }
  return out;
}
