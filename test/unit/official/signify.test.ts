import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { NexusError } from '../../../src-shared/errors';
import { expectedSha256, parseChecksumList, parseEmbedded, parsePublicKey, parseSignature, verifyEmbedded } from '../../../src-main/engine/official/signify';
import { resourcesDir } from '../../../src-main/engine/paths';
import { makeSignifyKey, sha256List, signEmbedded } from '../../support/signify';

const code = (fn: () => unknown): string => {
  try {
    fn();
  } catch (err) {
    return err instanceof NexusError ? err.code : `not a NexusError: ${String(err)}`;
  }
  return 'no error';
};

describe('signify public keys', () => {
  it('parses the shipped OpenBSD keys (keynum as published in etc/signify)', () => {
    const k80 = parsePublicKey(readFileSync(join(resourcesDir(), 'keys/openbsd/openbsd-80-base.pub')));
    expect(k80.comment).toBe('openbsd 8.0 base public key');
    expect(k80.keynum).toBe('8c4add1eac74dcb5');
    expect(k80.key).toHaveLength(32);
    expect(k80.base64).toBe('RWSMSt0erHTctUxq2JDAgQRo64ztikp8JvQeiSPte3NZ0Geou0TkTEiE');
    // The 8.1 key's keynum is the one recorded in the format research (docs §4.1).
    expect(parsePublicKey(readFileSync(join(resourcesDir(), 'keys/openbsd/openbsd-81-base.pub'))).keynum).toBe('22aee7d20b2d741b');
  });

  it('refuses malformed keys', () => {
    const good = makeSignifyKey().pubFile;
    const [, b64] = good.split('\n');
    expect(code(() => parsePublicKey(`comment: x\n${b64}\n`))).toBe('SIGNIFY_KEY_INVALID');
    expect(code(() => parsePublicKey(`untrusted comment: x\n${b64}`))).toBe('SIGNIFY_KEY_INVALID');
    expect(code(() => parsePublicKey(`untrusted comment: x\n${b64!.slice(0, -4)}\n`))).toBe('SIGNIFY_KEY_INVALID');
    expect(code(() => parsePublicKey(`untrusted comment: x\n${b64}!\n`))).toBe('SIGNIFY_KEY_INVALID');
    const wrongAlg = Buffer.from(b64!, 'base64');
    wrongAlg.write('XX', 0, 'latin1');
    expect(code(() => parsePublicKey(`untrusted comment: x\n${wrongAlg.toString('base64')}\n`))).toBe('SIGNIFY_KEY_INVALID');
    expect(code(() => parsePublicKey(`${good}untrusted comment: another\n`))).toBe('SIGNIFY_KEY_INVALID');
  });
});

describe('embedded signatures (SHA256.sig)', () => {
  const key = makeSignifyKey();
  const list = 'SHA256 (miniroot80.img) = ' + 'ab'.repeat(32) + '\nSHA256 (BOOTAA64.EFI) = ' + 'cd'.repeat(32) + '\n';
  const sig = signEmbedded(key, list);

  it('verifies a good file and returns the signed message', () => {
    const pub = parsePublicKey(key.pubFile);
    expect(verifyEmbedded(pub, sig).toString()).toBe(list);
    expect(parseEmbedded(sig).signature.keynum).toBe(key.keynum.toString('hex'));
  });

  it('names a signature by another key as a key mismatch', () => {
    const other = parsePublicKey(makeSignifyKey().pubFile);
    expect(code(() => verifyEmbedded(other, sig))).toBe('SIGNIFY_KEY_MISMATCH');
  });

  it('refuses a key that copies the keynum but not the key', () => {
    const forged = parsePublicKey(makeSignifyKey('forged', key.keynum).pubFile);
    expect(code(() => verifyEmbedded(forged, sig))).toBe('SIGNIFY_BAD_SIGNATURE');
  });

  it('refuses a tampered list, a tampered signature and a truncated file', () => {
    const pub = parsePublicKey(key.pubFile);
    const tampered = Buffer.from(sig);
    tampered[tampered.length - 3] = tampered[tampered.length - 3]! ^ 1;
    expect(code(() => verifyEmbedded(pub, tampered))).toBe('SIGNIFY_BAD_SIGNATURE');
    const appended = Buffer.concat([sig, Buffer.from('SHA256 (evil) = ' + '00'.repeat(32) + '\n')]);
    expect(code(() => verifyEmbedded(pub, appended))).toBe('SIGNIFY_BAD_SIGNATURE');
    const lines = sig.toString('latin1').split('\n');
    const raw = Buffer.from(lines[1]!, 'base64');
    raw[20] = raw[20]! ^ 0x80;
    lines[1] = raw.toString('base64');
    expect(code(() => verifyEmbedded(pub, Buffer.from(lines.join('\n'), 'latin1')))).toBe('SIGNIFY_BAD_SIGNATURE');
    expect(code(() => verifyEmbedded(pub, sig.subarray(0, 40)))).toBe('SIGNIFY_SIG_INVALID');
    expect(code(() => parseSignature('untrusted comment: x\nRWQ=\n'))).toBe('SIGNIFY_SIG_INVALID');
  });
});

describe('checksum lists in the published format', () => {
  // Layout of OpenBSD's SHA256.sig as published: two header lines, then one "SHA256 (file) = hex" line per file.
  const published = [
    'untrusted comment: verify with openbsd-80-base.pub',
    'RWSMSt0erHTctbbTcGW9tIbX9lVwvGpdBuXYwdVTm8cS3Ks0iw2gQdGbmixGcU1K3MaPAb7EASsKkQVd+8kl5XV1eFJmm7XFgAU=',
    'SHA256 (BOOTAA64.EFI) = 1c1b33bcb74c6ec54d4e8c4d3bd6b3e4a31b5c2e0fd1c5ee1db44e56a7a8d2fd',
    'SHA256 (INSTALL.arm64) = 8e2e4f49b4a0c3d4e90af7c8a2d41f4df94c2a1e3d08bd3f3b24b2d1e7c0f6a1',
    'SHA256 (miniroot80.img) = 0fa2b8b9bd6c6b0e0d1e67d4a1d9d0b5e4b0ff6ac0c4b8e0a0c6e2b8c5d4e3f2',
    '',
  ].join('\n');

  it('reads the header and the list', () => {
    const { signature, message } = parseEmbedded(Buffer.from(published));
    expect(signature.comment).toBe('verify with openbsd-80-base.pub');
    expect(signature.keynum).toBe('8c4add1eac74dcb5');
    const entries = parseChecksumList(message);
    expect(entries.map((e) => e.file)).toEqual(['BOOTAA64.EFI', 'INSTALL.arm64', 'miniroot80.img']);
    expect(expectedSha256(entries, 'miniroot80.img')).toBe('0fa2b8b9bd6c6b0e0d1e67d4a1d9d0b5e4b0ff6ac0c4b8e0a0c6e2b8c5d4e3f2');
    // ...and refuses to verify it with a different key, since this is not a real signature.
    expect(code(() => verifyEmbedded(parsePublicKey(makeSignifyKey().pubFile), Buffer.from(published)))).toBe('SIGNIFY_KEY_MISMATCH');
  });

  it('names a missing entry', () => {
    expect(code(() => expectedSha256(parseChecksumList(sha256List({ 'bsd.rd': Buffer.from('x') })), 'miniroot80.img'))).toBe('CHECKSUM_ENTRY_MISSING');
  });

  it('refuses lines that are not SHA256 lines, short digests and duplicates', () => {
    const hex = 'ab'.repeat(32);
    expect(code(() => parseChecksumList(`MD5 (a) = ${'ab'.repeat(16)}\n`))).toBe('CHECKSUM_LIST_INVALID');
    expect(code(() => parseChecksumList(`SHA256 (a) = ${hex.slice(2)}\n`))).toBe('CHECKSUM_LIST_INVALID');
    expect(code(() => parseChecksumList(`SHA256 (a) = ${hex}\nSHA256 (a) = ${hex}\n`))).toBe('CHECKSUM_LIST_INVALID');
    expect(code(() => parseChecksumList(`SHA256 (a) = ${hex.toUpperCase()}\n`))).toBe('CHECKSUM_LIST_INVALID');
    expect(code(() => parseChecksumList(`SHA256 (a) = ${hex}\n\n`))).toBe('CHECKSUM_LIST_INVALID');
    expect(parseChecksumList(`SHA256 (a b.tgz) = ${hex}`)).toEqual([{ algorithm: 'SHA256', file: 'a b.tgz', hex }]);
  });
});
