/**
 * Alpine v2 signatures: `.SIGN.<ALG>.<keyfile>` entries in the first gzip member, RSA PKCS#1 v1.5
 * over the raw compressed bytes that follow (see the formats doc §1.1/§2). Keys are matched by
 * file name, as apk does; one valid signature from a trusted key is enough.
 */
import { createPublicKey, createVerify, verify, type KeyObject } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { NexusError } from '../../../src-shared/errors';
import { captures, errorMessage } from '../../../src-shared/narrow';
import type { TarEntry } from './tar-read';

export type SignatureAlg = 'RSA' | 'RSA256' | 'RSA512' | 'DSA';

export interface SignatureEntry {
  alg: SignatureAlg;
  /** Public key file name, e.g. "alpine-devel@lists.alpinelinux.org-6165ee59.rsa.pub". */
  keyName: string;
  signature: Buffer;
}

/** Trusted public keys by file name. */
export type TrustedKeys = Map<string, KeyObject>;

const HASH: Record<SignatureAlg, string> = { RSA: 'sha1', DSA: 'sha1', RSA256: 'sha256', RSA512: 'sha512' };
const isSignatureAlg = (name: string): name is SignatureAlg => Object.hasOwn(HASH, name);
/** A PEM public key (RSA 8192 is ~1.5 KB): larger files in a keys directory are refused unread. */
const MAX_KEY_FILE_BYTES = 64 * 1024;
/** apk ignores signature entries larger than this. */
const MAX_SIGNATURE_BYTES = 64 * 1024;

/** Loads every `*.pub` / `*.pem` key in the directories (later directories add keys, never replace trust). */
export async function loadTrustedKeys(dirs: string | string[]): Promise<TrustedKeys> {
  const keys: TrustedKeys = new Map();
  for (const dir of Array.isArray(dirs) ? dirs : [dirs]) {
    let names: string[];
    try {
      names = await readdir(dir);
    } catch (err) {
      throw new NexusError(
        'KEYS_MISSING',
        `Cannot read the trusted keys directory ${dir}: ${errorMessage(err)}.`,
        "Pass --keys DIR with the repository's *.rsa.pub files.",
      );
    }
    for (const name of names.sort()) {
      if (!/\.(pub|pem)$/.test(name)) continue;
      if (
        (await stat(join(dir, name)).then(
          (s) => s.size,
          () => 0,
        )) > MAX_KEY_FILE_BYTES
      ) {
        throw new NexusError(
          'BAD_KEY',
          `The key ${join(dir, name)} is larger than ${MAX_KEY_FILE_BYTES / 1024} KiB; a PEM public key is a few KiB.`,
          "Remove the file or replace it with the repository's .rsa.pub key.",
        );
      }
      try {
        keys.set(name, createPublicKey(await readFile(join(dir, name))));
      } catch (err) {
        throw new NexusError(
          'BAD_KEY',
          `The key ${join(dir, name)} is not a PEM public key (${errorMessage(err)}).`,
          "Remove the file or replace it with the repository's .rsa.pub key.",
        );
      }
    }
  }
  return keys;
}

/** Extracts the `.SIGN.*` entries of a signature member. */
export function parseSignatures(entries: TarEntry[]): SignatureEntry[] {
  const out: SignatureEntry[] = [];
  for (const { header, data } of entries) {
    const [alg, keyName] = captures(/^\.SIGN\.(RSA|RSA256|RSA512|DSA)\.(.+)$/.exec(header.name), 2) ?? [];
    if (!alg || !isSignatureAlg(alg) || keyName === undefined || data.length > MAX_SIGNATURE_BYTES) continue;
    out.push({ alg, keyName: basename(keyName), signature: data });
  }
  return out;
}

/** What was signed: one buffer, or chunks fed in order (streamed verification of large files). */
export type SignedData = Buffer | AsyncIterable<Buffer>;

async function verifyOne(sig: SignatureEntry, key: KeyObject, data: SignedData): Promise<boolean> {
  try {
    if (Buffer.isBuffer(data)) return verify(HASH[sig.alg], data, key, sig.signature);
    const v = createVerify(HASH[sig.alg]);
    for await (const chunk of data) v.update(chunk);
    return v.verify(key, sig.signature);
  } catch {
    return false;
  }
}

/**
 * Returns the name of the trusted key whose signature verifies, or throws:
 * UNSIGNED (no signature), UNTRUSTED_SIGNATURE (only unknown keys), BAD_SIGNATURE (a trusted key's signature fails).
 * `data` is called once per candidate so streamed inputs can be re-read.
 */
export async function verifyTrusted(what: string, sigs: SignatureEntry[], keys: TrustedKeys, data: () => SignedData): Promise<string> {
  if (sigs.length === 0) throw new NexusError('UNSIGNED', `${what} has no signature.`, 'Only signed APK v2 indexes and packages are accepted.');
  const trusted = sigs.flatMap((sig) => {
    const key = keys.get(sig.keyName);
    return key && sig.alg !== 'DSA' ? [{ sig, key }] : [];
  });
  for (const { sig, key } of trusted) {
    if (await verifyOne(sig, key, data())) return sig.keyName;
  }
  if (trusted.length > 0) {
    throw new NexusError(
      'BAD_SIGNATURE',
      `${what}: the signature by ${trusted.map(({ sig }) => sig.keyName).join(', ')} does not match the content (the file was modified or damaged).`,
      'Delete the file and download it again; if it persists the mirror is serving altered files.',
    );
  }
  throw new NexusError(
    'UNTRUSTED_SIGNATURE',
    `${what} is signed by ${sigs.map((s) => s.keyName).join(', ')}, which is not a trusted key.`,
    "Add the repository's public key with --keys DIR if you trust it, or use the official mirror.",
  );
}
