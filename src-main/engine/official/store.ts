/**
 * Official release files in the shared content-addressed cache (cacheDir()):
 *
 *   blobs/sha256/<ab>/<sha256>                         file contents, named by their SHA-256 (same layout as the feed cache)
 *   official/refs/<os>/<version>/<arch>.json            the last verified checksum list for a release + arch (for --offline)
 *   official/partial/<sha256>.part                      an interrupted download, resumed with HTTP Range, hashed before use
 *   tmp/                                               scratch files on the same filesystem, for atomic renames
 *
 * Only verified files are promoted into blobs/ (a download that fails its hash is deleted), and every
 * reader re-checks the hash while streaming the blob out, so a damaged cache is caught, never shipped.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { copyFile, mkdir, readFile, rename, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { cacheDir } from '../paths';

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

export class OfficialStore {
  constructor(readonly root: string = cacheDir()) {}

  blobPath(sha256: string): string {
    if (!/^[0-9a-f]{64}$/.test(sha256)) throw new Error(`bad sha256 ${sha256}`);
    return join(this.root, 'blobs', 'sha256', sha256.slice(0, 2), sha256);
  }

  /** Interrupted downloads, named by the SHA-256 they must end up with (resumed, never trusted). */
  partialPath(sha256: string): string {
    if (!/^[0-9a-f]{64}$/.test(sha256)) throw new Error(`bad sha256 ${sha256}`);
    return join(this.root, 'official', 'partial', `${sha256}.part`);
  }

  refPath(os: string, version: string, arch: string): string {
    for (const p of [os, version, arch]) if (!SAFE.test(p) || p === '.' || p === '..') throw new Error(`bad ref part ${p}`);
    return join(this.root, 'official', 'refs', os, version, `${arch}.json`);
  }

  async tempPath(suffix = ''): Promise<string> {
    const dir = join(this.root, 'tmp');
    await mkdir(dir, { recursive: true });
    return join(dir, `${process.pid}-${randomBytes(6).toString('hex')}${suffix}`);
  }

  async has(sha256: string): Promise<boolean> {
    try {
      return (await stat(this.blobPath(sha256))).isFile();
    } catch {
      return false;
    }
  }

  /** Moves a file whose hash was just checked into the store (atomic rename). */
  async promote(tmp: string, sha256: string): Promise<string> {
    const final = this.blobPath(sha256);
    await mkdir(dirname(final), { recursive: true });
    try {
      await rename(tmp, final);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EXDEV') throw err;
      // Staged on another filesystem: copy next to the final name, then rename atomically.
      const near = await this.tempPath('.xdev');
      await copyFile(tmp, near);
      await rename(near, final);
      await unlink(tmp).catch(() => {});
    }
    return final;
  }

  async putBytes(bytes: Buffer): Promise<string> {
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    if (!(await this.has(sha256))) {
      const tmp = await this.tempPath('.blob');
      await writeFile(tmp, bytes);
      await this.promote(tmp, sha256);
    }
    return sha256;
  }

  async getBytes(sha256: string): Promise<Buffer | null> {
    try {
      const bytes = await readFile(this.blobPath(sha256));
      return createHash('sha256').update(bytes).digest('hex') === sha256 ? bytes : null;
    } catch {
      return null;
    }
  }

  /** Hashes a stored blob; returns false (and deletes it) when its content no longer matches its name. */
  async check(sha256: string, signal?: AbortSignal): Promise<boolean> {
    const path = this.blobPath(sha256);
    const h = createHash('sha256');
    try {
      for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20, ...(signal ? { signal } : {}) })) h.update(chunk as Buffer);
    } catch (err) {
      if (signal?.aborted) throw err;
      return false;
    }
    if (h.digest('hex') === sha256) return true;
    await unlink(path).catch(() => {});
    return false;
  }

  async putRef(ref: ReleaseRef): Promise<void> {
    const tmp = await this.tempPath('.ref');
    await writeFile(tmp, JSON.stringify(ref, null, 2) + '\n');
    const final = this.refPath(ref.os, ref.version, ref.arch);
    await mkdir(dirname(final), { recursive: true });
    await rename(tmp, final);
  }

  async getRef(os: string, version: string, arch: string): Promise<ReleaseRef | null> {
    try {
      return JSON.parse(await readFile(this.refPath(os, version, arch), 'utf8')) as ReleaseRef;
    } catch {
      return null;
    }
  }

  async discard(path: string): Promise<void> {
    await rm(path, { force: true });
  }
}
