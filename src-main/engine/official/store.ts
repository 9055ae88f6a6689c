/**
 * Official releases' part of the store (store/content-store.ts has the shared layout):
 *
 *   blobs/sha256/<ab>/<sha256>                  release files by their SHA-256 (shared with the package feeds)
 *   official/refs/<os>/<version>/<arch>.json    the last verified checksum list for a release + arch (for --offline)
 *   official/partial/<sha256>.part              an interrupted download, resumed with HTTP Range, hashed before use
 *
 * Only verified files are promoted into blobs/ (a download that fails its hash is deleted), and every
 * reader re-checks the hash while streaming the blob out, so a damaged cache is caught, never shipped.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ContentStore } from '../store/content-store';

export interface ReleaseRef {
  os: string;
  version: string;
  arch: string;
  /** SHA-256 of the verified SHA256.sig blob. */
  checksumFileSha256: string;
  /** Key number of the key that verified it. */
  keynum: string | null;
  source: string;
  fetchedAt: string;
}

const SAFE = /^[A-Za-z0-9._-]+$/;

export class OfficialStore extends ContentStore {
  /** Interrupted downloads, named by the SHA-256 they must end up with (resumed, never trusted). */
  partialPath(sha256: string): string {
    if (!/^[0-9a-f]{64}$/.test(sha256)) throw new Error(`bad sha256 ${sha256}`);
    return join(this.root, 'official', 'partial', `${sha256}.part`);
  }

  refPath(os: string, version: string, arch: string): string {
    for (const p of [os, version, arch]) if (!SAFE.test(p) || p === '.' || p === '..') throw new Error(`bad ref part ${p}`);
    return join(this.root, 'official', 'refs', os, version, `${arch}.json`);
  }

  async putRef(ref: ReleaseRef): Promise<void> {
    await this.writeAtomic(this.refPath(ref.os, ref.version, ref.arch), JSON.stringify(ref, null, 2) + '\n', '.ref');
  }

  async getRef(os: string, version: string, arch: string): Promise<ReleaseRef | null> {
    try {
      return JSON.parse(await readFile(this.refPath(os, version, arch), 'utf8')) as ReleaseRef;
    } catch {
      return null;
    }
  }
}
