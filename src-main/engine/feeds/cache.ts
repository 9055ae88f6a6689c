/**
 * The feed cache under cacheDir(): content-addressed, written only by atomic renames of verified
 * files, so it is consistent after crashes, cancellations or failed verifications, and safe to
 * delete at any time (everything in it can be fetched again).
 *
 *   apk/packages/<hex of C:>.apk      verified packages, named by their index identity (sha1 of the control member)
 *   apk/partial/<hex of C:>.part      interrupted downloads (resumed with HTTP Range; verified before promotion)
 *   apk/indexes/<sha256>.tar.gz       signed APKINDEX files exactly as fetched
 *   apk/refs/<feed>/<branch>/<repo>/<arch>.json   which index is current for a repository (what --offline uses)
 *   blobs/sha256/<ab>/<sha256>        file contents extracted from packages (FsEntry content refs)
 *   tmp/run-<pid>-<random>-…          scratch files and folders of one process (named by its run id), on the same
 *                                     filesystem for atomic renames; whatever is left is removed when the process
 *                                     exits (whatever the reason), else swept by a later process once older than
 *                                     TEMP_SWEEP_AGE_MS and not held by a live pid. tmp/ is empty between builds.
 */
import { createHash, randomBytes } from 'node:crypto';
import { readdirSync, rmSync } from 'node:fs';
import { lstat, mkdir, mkdtemp, readdir, readFile, rename, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { NexusError } from '../../../src-shared/errors';
import { atExit } from '../exit-cleanup';
import { cacheDir } from '../paths';

export interface IndexRef {
  /** "feedname/v3.22/main/x86_64" */
  id: string;
  sha256: string;
  /** Where it was fetched from (URL or directory). */
  source: string;
  /** Repository base the packages are fetched from. */
  base: string;
  fetchedAt: string;
  signer: string;
  description: string;
}

/** "Q1<base64>" (or "X1<hex>") → lowercase hex, the cache key of a package. */
export function checksumHex(checksum: string): string {
  if (/^Q[12]/.test(checksum)) return Buffer.from(checksum.slice(2), 'base64').toString('hex');
  if (/^X[12][0-9a-f]+$/i.test(checksum)) return checksum.slice(2).toLowerCase();
  throw new NexusError('BAD_CHECKSUM', `Unsupported package checksum "${checksum}".`, 'The index uses a checksum format Nexus does not know.');
}

/** Per-run temp folders older than this, whose pid is not alive, are removed by the next process using the cache. */
export const TEMP_SWEEP_AGE_MS = 3 * 3600 * 1000;

/** Prefix of this process's scratch names under tmp/: the pid says who holds them, the random part survives pid reuse. */
const RUN_ID = `run-${process.pid}-${randomBytes(4).toString('hex')}`;
const tempRoots = new Set<string>();

/** This process's scratch names in a cache's tmp/ are removed at exit, whatever ends the process. */
function registerTempRoot(dir: string): void {
  if (tempRoots.has(dir)) return;
  tempRoots.add(dir);
  atExit(() => {
    for (const name of readdirSync(dir)) if (name.startsWith(`${RUN_ID}-`)) rmSync(join(dir, name), { recursive: true, force: true });
  });
}

function pidAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as { code?: string }).code === 'EPERM';
  }
}

/**
 * Removes what earlier processes left in a cache's tmp/ (per-run folders, or loose files of older versions, named
 * "<pid>-…"): entries older than `maxAgeMs` whose pid is not alive. This process's own folder is never touched.
 */
export async function sweepTemp(tmpRoot: string, maxAgeMs = TEMP_SWEEP_AGE_MS, now = Date.now()): Promise<string[]> {
  const removed: string[] = [];
  let names: string[];
  try {
    names = await readdir(tmpRoot);
  } catch {
    return removed;
  }
  for (const name of names) {
    if (name.startsWith(`${RUN_ID}-`)) continue;
    const pid = /^(?:run-)?(\d+)-/.exec(name)?.[1];
    if (pid !== undefined && pidAlive(Number(pid))) continue;
    const st = await lstat(join(tmpRoot, name)).catch(() => null);
    if (!st || now - st.mtimeMs < maxAgeMs) continue;
    await rm(join(tmpRoot, name), { recursive: true, force: true }).catch(() => {});
    removed.push(name);
  }
  return removed;
}

export class FeedCache {
  readonly root: string;
  /** Directories known to exist (saves a mkdir per extracted file). */
  private readonly made = new Set<string>();

  constructor(root: string = cacheDir()) {
    this.root = root;
  }

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

  blobPath(sha256: string): string {
    return join(this.root, 'blobs', 'sha256', sha256.slice(0, 2), sha256);
  }

  /** The cache's tmp/ (created, and what dead processes left there swept, on first use in this process). */
  private async tempRoot(): Promise<string> {
    const dir = join(this.root, 'tmp');
    if (this.made.has(dir)) return dir;
    if (!tempRoots.has(dir)) await sweepTemp(dir);
    await mkdir(dir, { recursive: true });
    registerTempRoot(dir);
    this.made.add(dir);
    return dir;
  }

  /** A fresh scratch path on the cache's filesystem (caller renames or deletes it; removed at exit otherwise). */
  async tempPath(suffix = ''): Promise<string> {
    return join(await this.tempRoot(), `${RUN_ID}-${randomBytes(6).toString('hex')}${suffix}`);
  }

  /** A fresh scratch folder on the cache's filesystem (caller removes it; removed at exit otherwise). */
  async tempDir(label = 'd'): Promise<string> {
    const prefix = `${RUN_ID}-${label}-`;
    try {
      return await mkdtemp(join(await this.tempRoot(), prefix));
    } catch (err) {
      // The cache may have been deleted while we ran: recreate once.
      if ((err as { code?: string }).code !== 'ENOENT') throw err;
      this.made.clear();
      return mkdtemp(join(await this.tempRoot(), prefix));
    }
  }

  async has(path: string): Promise<boolean> {
    try {
      return (await stat(path)).isFile();
    } catch {
      return false;
    }
  }

  private async ensureDir(dir: string): Promise<void> {
    if (this.made.has(dir)) return;
    await mkdir(dir, { recursive: true });
    this.made.add(dir);
  }

  /** Atomically moves a finished, verified file into place. */
  async promote(tmp: string, final: string): Promise<void> {
    await this.ensureDir(dirname(final));
    try {
      await rename(tmp, final);
    } catch (err) {
      // The cache may have been deleted while we ran ("safe to delete"): recreate and retry once.
      if ((err as { code?: string }).code !== 'ENOENT') throw err;
      this.made.clear();
      await mkdir(dirname(final), { recursive: true });
      await rename(tmp, final);
    }
  }

  async discard(path: string): Promise<void> {
    await unlink(path).catch(() => {});
  }

  /** Stores verified index bytes and points the repository's ref at them (blob first, then the ref). */
  async putIndex(ref: Omit<IndexRef, 'sha256'>, bytes: Buffer): Promise<IndexRef> {
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    const final = this.indexPath(sha256);
    if (!(await this.has(final))) {
      const tmp = await this.tempPath('.idx');
      await writeFile(tmp, bytes);
      await this.promote(tmp, final);
    }
    const full: IndexRef = { ...ref, sha256 };
    const tmp = await this.tempPath('.ref');
    await writeFile(tmp, JSON.stringify(full, null, 2) + '\n');
    await this.promote(tmp, this.refPath(ref.id));
    return full;
  }

  async getIndexRef(id: string): Promise<IndexRef | null> {
    try {
      const ref = JSON.parse(await readFile(this.refPath(id), 'utf8')) as IndexRef;
      return (await this.has(this.indexPath(ref.sha256))) ? ref : null;
    } catch {
      return null;
    }
  }

  private readonly knownBlobs = new Set<string>();

  /** Stores a small blob held in memory (no-op when the cache already has it). */
  async putBlob(sha256: string, data: Uint8Array): Promise<void> {
    if (this.knownBlobs.has(sha256)) return;
    const final = this.blobPath(sha256);
    if (!(await this.has(final))) {
      const tmp = await this.tempPath('.blob');
      try {
        await writeFile(tmp, data);
        await this.promote(tmp, final);
      } catch (err) {
        await this.discard(tmp);
        throw err;
      }
    }
    this.knownBlobs.add(sha256);
  }

  /**
   * Removes scratch files left by processes that are gone (interrupted downloads in partial/ are kept for resuming;
   * the temp folders of running processes are left alone).
   */
  async cleanTemp(): Promise<string[]> {
    return sweepTemp(join(this.root, 'tmp'), 0);
  }
}
