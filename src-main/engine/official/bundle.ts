/**
 * Official images in `nexus cache export/import`. The feed bundle (src-main/engine/feeds/bundle.ts) owns
 * the tar file; these two functions say what to put in it and how to take it back:
 *
 *   official/refs/<os>/<version>/<arch>.json   the release ref (which SHA256.sig was verified, with which keynum)
 *   official/blobs/<sha256>                    the SHA256.sig bytes and every cached file that list names
 *
 * Import trusts nothing in the bundle: each SHA256.sig is verified again with a locally trusted key
 * (found by key number in the keys directory), each blob must hash to its name AND be listed in a
 * verified list; anything else is refused, and nothing is moved into the cache before it passes.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { NexusError } from '../../../src-shared/errors';
import { resourcesDir } from '../paths';
import { parseChecksumList, parseEmbedded, parsePublicKey, verifySignature, type SignifyPublicKey } from './signify';
import { OfficialStore, type ReleaseRef } from './store';

export interface BundleEntry {
  /** Name inside the export file. */
  name: string;
  /** Where the bytes are now. */
  path: string;
}

export const isOfficialEntryName = (name: string) =>
  /^official\/(refs\/[A-Za-z0-9._-]+\/[A-Za-z0-9._-]+\/[A-Za-z0-9._-]+\.json|blobs\/[0-9a-f]{64})$/.test(name);

async function refFiles(store: OfficialStore): Promise<string[]> {
  const base = join(store.root, 'official', 'refs');
  try {
    return (await readdir(base, { recursive: true }))
      .filter((f) => f.endsWith('.json'))
      .map((f) => join(base, f))
      .sort();
  } catch {
    return [];
  }
}

/** What to add to a cache export: every release ref with its verified list and the cached files the list names. */
export async function officialExportEntries(store: OfficialStore = new OfficialStore()): Promise<BundleEntry[]> {
  const out: BundleEntry[] = [];
  const seen = new Set<string>();
  for (const file of await refFiles(store)) {
    const ref = JSON.parse(await readFile(file, 'utf8')) as ReleaseRef;
    const list = await store.getBytes(ref.checksumFileSha256);
    if (!list) continue;
    out.push({ name: `official/refs/${ref.os}/${ref.version}/${ref.arch}.json`, path: file });
    const add = (sha: string) => {
      if (seen.has(sha)) return;
      seen.add(sha);
      out.push({ name: `official/blobs/${sha}`, path: store.blobPath(sha) });
    };
    add(ref.checksumFileSha256);
    for (const e of parseChecksumList(parseEmbedded(list).message)) if (await store.hasBlob(e.hex)) add(e.hex);
  }
  return out;
}

async function trustedKeys(keysDir: string): Promise<SignifyPublicKey[]> {
  const keys: SignifyPublicKey[] = [];
  let names: string[] = [];
  try {
    names = (await readdir(keysDir)).filter((n) => n.endsWith('.pub'));
  } catch {
    /* no keys */
  }
  for (const n of names) {
    try {
      keys.push(parsePublicKey(await readFile(join(keysDir, n))));
    } catch {
      /* not a signify key */
    }
  }
  return keys;
}

async function sha256File(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const c of createReadStream(path, { highWaterMark: 1 << 20 })) h.update(c as Buffer);
  return h.digest('hex');
}

/**
 * Verifies staged bundle entries (entry name → temporary file) and moves them into the store.
 * `keysDir` holds the trusted signify keys (default: the shipped resources/keys/openbsd).
 */
export async function importOfficialEntries(
  staged: Map<string, string>,
  opts: { store?: OfficialStore; keysDir?: string; what?: string } = {},
): Promise<{ releases: number; files: number }> {
  const store = opts.store ?? new OfficialStore();
  const what = opts.what ?? 'the cache export';
  const keys = await trustedKeys(opts.keysDir ?? join(resourcesDir(), 'keys', 'openbsd'));
  const listed = new Set<string>();
  const verifiedLists: Array<{ ref: ReleaseRef; bytes: Buffer }> = [];
  for (const [name, tmp] of staged) {
    if (!name.startsWith('official/refs/')) continue;
    const ref = JSON.parse(await readFile(tmp, 'utf8')) as ReleaseRef;
    const listTmp = staged.get(`official/blobs/${ref.checksumFileSha256}`);
    if (!listTmp) throw new NexusError('BAD_EXPORT', `${what} lacks the checksum list of ${ref.os} ${ref.version} ${ref.arch}.`, 'Export the cache again.');
    const bytes = await readFile(listTmp);
    if (createHash('sha256').update(bytes).digest('hex') !== ref.checksumFileSha256)
      throw new NexusError(
        'CHECKSUM_MISMATCH',
        `The checksum list of ${ref.os} ${ref.version} ${ref.arch} in ${what} does not match its name.`,
        'The export is damaged; create it again.',
      );
    const { signature, message } = parseEmbedded(bytes);
    const key = keys.find((k) => k.keynum === signature.keynum);
    if (!key)
      throw new NexusError(
        'SIGNIFY_KEY_MISMATCH',
        `The ${ref.os} ${ref.version} ${ref.arch} checksum list in ${what} is signed by key ${signature.keynum}, which is not trusted here.`,
        'Import on a Nexus with the same release keys, or pass the keys directory that has this key.',
      );
    verifySignature(key, signature, message, `the ${ref.os} ${ref.version} ${ref.arch} checksum list in ${what}`);
    for (const e of parseChecksumList(message)) listed.add(e.hex);
    listed.add(ref.checksumFileSha256);
    verifiedLists.push({ ref: { ...ref, keynum: key.keynum }, bytes });
  }
  // Check every blob before moving any of them.
  const blobs: Array<[string, string]> = [];
  for (const [name, tmp] of staged) {
    const m = /^official\/blobs\/([0-9a-f]{64})$/.exec(name);
    if (!m) continue;
    const sha = m[1]!;
    if (!listed.has(sha))
      throw new NexusError(
        'BAD_EXPORT',
        `${what} carries ${name}, which no verified checksum list names.`,
        'Nexus only imports files it can verify; create the export again with "nexus cache export".',
      );
    if ((await sha256File(tmp)) !== sha)
      throw new NexusError('CHECKSUM_MISMATCH', `${name} in ${what} does not match its SHA-256.`, 'The export is damaged; create it again.');
    blobs.push([sha, tmp]);
  }
  let files = 0;
  for (const [sha, tmp] of blobs) {
    if (await store.hasBlob(sha)) continue;
    await store.promoteBlob(tmp, sha);
    staged.delete(`official/blobs/${sha}`);
    files++;
  }
  for (const { ref } of verifiedLists) await store.putRef(ref);
  return { releases: verifiedLists.length, files };
}
