/**
 * The package feeds' part of the store (store/content-store.ts has the shared layout: blobs/, tmp/, leases):
 *
 *   apk/packages/<hex of C:>.apk      verified packages, named by their index identity (sha1 of the control member)
 *   apk/partial/<hex of C:>.part      interrupted downloads (resumed with HTTP Range; verified before promotion)
 *   apk/indexes/<sha256>.tar.gz       signed APKINDEX files exactly as fetched
 *   apk/refs/<feed>/<branch>/<repo>/<arch>.json   which index is current for a repository (what --offline uses)
 *   blobs/sha256/<ab>/<sha256>        file contents extracted from packages (FsEntry content refs)
 */
import { z } from 'zod';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { NexusError } from '../../../src-shared/errors';
import { ContentStore } from '../store/content-store';

export { sweepTemp, TEMP_SWEEP_AGE_MS } from '../store/content-store';

export const IndexRefSchema = z.object({
  /** "feedname/v3.22/main/x86_64" */
  id: z.string(),
  sha256: z.string(),
  /** Where it was fetched from (URL or directory). */
  source: z.string(),
  /** Repository base the packages are fetched from. */
  base: z.string(),
  fetchedAt: z.string(),
  signer: z.string(),
  description: z.string(),
});
export type IndexRef = z.infer<typeof IndexRefSchema>;

/** "Q1<base64>" (or "X1<hex>") → lowercase hex, the cache key of a package. */
export function checksumHex(checksum: string): string {
  if (/^Q[12]/.test(checksum)) return Buffer.from(checksum.slice(2), 'base64').toString('hex');
  if (/^X[12][0-9a-f]+$/i.test(checksum)) return checksum.slice(2).toLowerCase();
  throw new NexusError('BAD_CHECKSUM', `Unsupported package checksum "${checksum}".`, 'The index uses a checksum format Nexus does not know.');
}

export class FeedCache extends ContentStore {
  packagePath(checksum: string): string {
    return join(this.root, 'apk', 'packages', `${checksumHex(checksum)}.apk`);
  }

  partialPath(checksum: string): string {
    return join(this.root, 'apk', 'partial', `${checksumHex(checksum)}.part`);
  }

  indexPath(sha256: string): string {
    return join(this.root, 'apk', 'indexes', `${sha256}.tar.gz`);
  }

  refPath(id: string): string {
    if (id.split('/').some((p) => p === '..' || p === '' || p === '.')) throw new Error(`bad index id ${id}`);
    return join(this.root, 'apk', 'refs', `${id}.json`);
  }

  /** Stores verified index bytes and points the repository's ref at them (blob first, then the ref). */
  async putIndex(ref: Omit<IndexRef, 'sha256'>, bytes: Buffer): Promise<IndexRef> {
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    const final = this.indexPath(sha256);
    if (!(await this.has(final))) await this.writeAtomic(final, bytes, '.idx');
    const full: IndexRef = { ...ref, sha256 };
    await this.writeAtomic(this.refPath(ref.id), JSON.stringify(full, null, 2) + '\n', '.ref');
    return full;
  }

  async getIndexRef(id: string): Promise<IndexRef | null> {
    try {
      // A ref that is not one (damaged, or from another version) counts as missing: the index is fetched again.
      const ref = IndexRefSchema.parse(JSON.parse(await readFile(this.refPath(id), 'utf8')));
      return (await this.has(this.indexPath(ref.sha256))) ? ref : null;
    } catch {
      return null;
    }
  }
}
