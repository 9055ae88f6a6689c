/**
 * Property-based fuzzing of the signify reader (official/signify.ts), which decides whether an OpenBSD release image
 * is trusted: keys, embedded signatures (SHA256.sig) and checksum lists. Round trip with real Ed25519 keys in signify's
 * byte layout; every edit of a signed file is refused (never verified, never a TypeError); every parse of hostile text
 * is a value or the module's typed error.
 */
import { createPrivateKey, createPublicKey, sign } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { expectedSha256, parseChecksumList, parseEmbedded, parsePublicKey, parseSignature, verifyEmbedded } from '../../../src-main/engine/official/signify';
import { resourcesDir } from '../../../src-main/engine/paths';
import { mutated, outcome, params, timeout } from './fuzz';

const PARSE_CODES = ['SIGNIFY_KEY_INVALID', 'SIGNIFY_SIG_INVALID'];
const VERIFY_CODES = ['SIGNIFY_SIG_INVALID', 'SIGNIFY_KEY_MISMATCH', 'SIGNIFY_BAD_SIGNATURE'];

/** An Ed25519 key from a 32-byte seed (PKCS#8 DER), so the fuzz runs are deterministic; signify's .pub layout. */
function keyFromSeed(seed: Uint8Array, keynum: Uint8Array) {
  const privateKey = createPrivateKey({ key: Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), seed]), format: 'der', type: 'pkcs8' });
  const raw = Buffer.from(createPublicKey(privateKey).export({ format: 'jwk' }).x!, 'base64url');
  const pub = `untrusted comment: fuzz public key\n${Buffer.concat([Buffer.from('Ed'), keynum, raw]).toString('base64')}\n`;
  const signEmbedded = (msg: Buffer) =>
    Buffer.concat([
      Buffer.from(`untrusted comment: verify with fuzz.pub\n${Buffer.concat([Buffer.from('Ed'), keynum, sign(null, msg, privateKey)]).toString('base64')}\n`),
      msg,
    ]);
  return { pub: parsePublicKey(pub), pubText: pub, signEmbedded };
}

const bytes32 = fc.uint8Array({ minLength: 32, maxLength: 32 });
const bytes8 = fc.uint8Array({ minLength: 8, maxLength: 8 });
const fileName = fc.stringMatching(/^[A-Za-z0-9._+-]{1,24}$/);
const checksumList = fc
  .uniqueArray(fc.tuple(fileName, fc.stringMatching(/^[0-9a-f]{64}$/)), { selector: ([n]) => n, minLength: 1, maxLength: 12 })
  .map((entries) => ({ entries, text: entries.map(([n, h]) => `SHA256 (${n}) = ${h}\n`).join('') }));

describe('fuzz: signify reader', () => {
  it(
    'round trip: a list signed with a key verifies with that key and yields every entry',
    () => {
      fc.assert(
        fc.property(bytes32, bytes8, checksumList, (seed, keynum, list) => {
          const k = keyFromSeed(seed, keynum);
          const message = verifyEmbedded(k.pub, k.signEmbedded(Buffer.from(list.text)));
          const parsed = parseChecksumList(message);
          expect(parsed.map((e) => [e.file, e.hex])).toEqual(list.entries);
          for (const [name, hex] of list.entries) expect(expectedSha256(parsed, name)).toBe(hex);
        }),
        params(150),
      );
    },
    timeout,
  );

  it(
    'any edit of a signed file is refused with a typed error, never verified',
    () => {
      const k = keyFromSeed(new Uint8Array(32).fill(7), new Uint8Array(8).fill(1));
      const signed = k.signEmbedded(Buffer.from('SHA256 (install78.img) = ' + 'ab'.repeat(32) + '\nSHA256 (miniroot78.img) = ' + 'cd'.repeat(32) + '\n'));
      fc.assert(
        fc.property(mutated(signed, 3), (edited) => {
          const message = outcome(() => verifyEmbedded(k.pub, edited), VERIFY_CODES);
          // Only edits that leave the signature line and the message intact may verify (e.g. a changed comment).
          if (message) expect(message.equals(signed.subarray(signed.indexOf(0x0a, signed.indexOf(0x0a) + 1) + 1))).toBe(true);
        }),
        params(400),
      );
    },
    timeout,
  );

  it(
    'a signature by another key is SIGNIFY_KEY_MISMATCH; one by the same key number but another key is SIGNIFY_BAD_SIGNATURE',
    () => {
      fc.assert(
        fc.property(bytes32, bytes32, bytes8, bytes8, (s1, s2, n1, n2) => {
          fc.pre(Buffer.compare(Buffer.from(s1), Buffer.from(s2)) !== 0);
          const a = keyFromSeed(s1, n1);
          const b = keyFromSeed(s2, n2);
          const sameNum = keyFromSeed(s2, n1);
          const signed = b.signEmbedded(Buffer.from('SHA256 (x.img) = ' + '0'.repeat(64) + '\n'));
          if (Buffer.compare(Buffer.from(n1), Buffer.from(n2)) !== 0)
            expect(() => verifyEmbedded(a.pub, signed)).toThrow(expect.objectContaining({ code: 'SIGNIFY_KEY_MISMATCH' }));
          expect(() => verifyEmbedded(a.pub, sameNum.signEmbedded(Buffer.from('x')))).toThrow(expect.objectContaining({ code: 'SIGNIFY_BAD_SIGNATURE' }));
        }),
        params(100),
      );
    },
    timeout,
  );

  it(
    'hostile edits of the shipped OpenBSD public keys: a key or SIGNIFY_KEY_INVALID',
    () => {
      const real = readFileSync(join(resourcesDir(), 'keys/openbsd/openbsd-80-base.pub'));
      fc.assert(
        fc.property(mutated(real, 4), (edited) => {
          const k = outcome(() => parsePublicKey(edited), PARSE_CODES);
          if (k) {
            expect(k.key).toHaveLength(32);
            expect(k.keynum).toMatch(/^[0-9a-f]{16}$/);
            // A parsed key (even one whose 32 bytes are not a curve point) verifies nothing, and never crashes.
            outcome(() => verifyEmbedded(k, keyFromSeed(new Uint8Array(32), Buffer.from(k.keynum, 'hex')).signEmbedded(Buffer.from('x'))), VERIFY_CODES);
          }
        }),
        params(400),
      );
    },
    timeout,
  );

  it(
    'random text as a key, a signature, an embedded file or a checksum list: a value or a typed error',
    () => {
      const text = fc.oneof(
        fc.string({ maxLength: 200 }),
        fc
          .tuple(fc.string({ maxLength: 40 }), fc.base64String({ maxLength: 120 }), fc.string({ maxLength: 80 }))
          .map(([c, b, rest]) => `untrusted comment: ${c}\n${b}\n${rest}`),
        fc
          .array(fc.tuple(fc.string({ maxLength: 30 }), fc.stringMatching(/^[0-9a-f]{0,70}$/)), { maxLength: 6 })
          .map((l) => l.map(([n, h]) => `SHA256 (${n}) = ${h}`).join('\n')),
      );
      fc.assert(
        fc.property(text, (t) => {
          outcome(() => parsePublicKey(t), PARSE_CODES);
          outcome(() => parseSignature(t), PARSE_CODES);
          outcome(() => parseEmbedded(Buffer.from(t)), PARSE_CODES);
          const list = outcome(() => parseChecksumList(t), ['CHECKSUM_LIST_INVALID']);
          if (list) for (const e of list) expect(e.hex).toMatch(/^[0-9a-f]{64}$/);
          outcome(() => expectedSha256(list ?? [], 'install78.img'), ['CHECKSUM_ENTRY_MISSING']);
        }),
        params(500),
      );
    },
    timeout,
  );
});
