/**
 * The one on-disk store under cacheDir() (or NEXUS_CACHE_DIR): content-addressed, written only by atomic renames of
 * verified files, so it is consistent after crashes, cancellations or failed verifications, and safe to delete
 * (everything in it can be fetched or built again). Its users add their own folders beside the shared ones:
 *
 *   blobs/sha256/<ab>/<sha256>          file contents by SHA-256: extracted package files, official release files
 *   leases/run-<pid>-<random>           one per process using the store (its lease; see takeLease)
 *   tmp/run-<pid>-<random>-…            scratch files and folders of one process (its run id), on the same filesystem for
 *                                       atomic renames. The pid is the run's lease: `nexus cache clean` and the sweep
 *                                       leave the names of live processes alone; what a process leaves is removed when
 *                                       it exits (whatever the reason), else swept by a later process once older than
 *                                       TEMP_SWEEP_AGE_MS and not held by a live pid.
 *   apk/…                               the package feeds (feeds/cache.ts: packages, partial downloads, indexes, refs)
 *   official/…                          official releases (official/store.ts: refs, partial downloads)
 *   image-stages/<stage>/<key>/         image stage outputs (image/cache.ts)
 *   imported-keys/                      public keys carried in a `nexus cache import` file (reference only)
 */
import { errnoCode } from '../../../src-shared/narrow';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, readdirSync, rmSync } from 'node:fs';
import { copyFile, lstat, mkdir, mkdtemp, readdir, readFile, rename, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { NexusError } from '../../../src-shared/errors';
import { atExit } from '../exit-cleanup';
import { cacheDir } from '../paths';

/** The store's folders, by owner (what `nexus cache info` reports and `nexus cache clean` deletes). */
export const STORE_FOLDERS = ['apk', 'blobs', 'official', 'image-stages', 'imported-keys'] as const;

/** Per-run temp entries older than this, whose pid is not alive, are removed by the next process using the store. */
export const TEMP_SWEEP_AGE_MS = 3 * 3600 * 1000;

/** Prefix of this process's scratch names under tmp/: the pid says who holds them, the random part survives pid reuse. */
export const RUN_ID = `run-${process.pid}-${randomBytes(4).toString('hex')}`;
const tempRoots = new Set<string>();

/**
 * The run's lease on a store: `leases/<run id>` while this process lives (removed at exit; a dead pid's is swept).
 * `nexus cache clean` keeps the scratch files and the downloads in progress of every live lease holder.
 */
async function takeLease(root: string): Promise<void> {
  const dir = join(root, 'leases');
  await mkdir(dir, { recursive: true });
  await sweepTemp(dir, 0);
  const file = join(dir, RUN_ID);
  await writeFile(file, `${process.pid}\n`);
  atExit(() => rmSync(file, { force: true }));
}

/** This process's scratch names in a store's tmp/ are removed at exit, whatever ends the process. */
function registerTempRoot(dir: string): void {
  if (tempRoots.has(dir)) return;
  tempRoots.add(dir);
  atExit(() => {
    for (const name of readdirSync(dir)) if (name.startsWith(`${RUN_ID}-`)) rmSync(join(dir, name), { recursive: true, force: true });
  });
}

/** An error's errno code ("ENOENT", "ENOSPC"…), if it has one (re-exported: its users import it from here). */
export { errnoCode };

export function pidAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return errnoCode(err) === 'EPERM';
  }
}

/** The pid holding a tmp/ entry ("run-<pid>-…", or "<pid>-…" from older versions), if the name carries one. */
export function leaseHolder(name: string): number | undefined {
  const pid = /^(?:run-)?(\d+)-/.exec(name)?.[1];
  return pid === undefined ? undefined : Number(pid);
}

/**
 * Removes what earlier processes left in a store's tmp/: entries older than `maxAgeMs` whose pid is not alive.
 * This process's own entries, and those of every live process (a running build's lease), are never touched.
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
    const pid = leaseHolder(name);
    if (pid !== undefined && pidAlive(pid)) continue;
    const st = await lstat(join(tmpRoot, name)).catch(() => null);
    if (!st || now - st.mtimeMs < maxAgeMs) continue;
    await rm(join(tmpRoot, name), { recursive: true, force: true }).catch(() => {});
    removed.push(name);
  }
  return removed;
}

/** ENOSPC while writing into the store becomes an error that says what to do; anything else passes through. */
export function storeWriteError(err: unknown, root: string, what: string): unknown {
  if (errnoCode(err) !== 'ENOSPC') return err;
  return new NexusError(
    'DISK_FULL',
    `The disk holding the cache (${root}) is full: cannot store ${what}.`,
    'Free some space there (`nexus cache clean` deletes everything that can be downloaded again), or put the cache on a disk with room: NEXUS_CACHE_DIR=/path/with/space.',
    { cause: err },
  );
}

const SHA256 = /^[0-9a-f]{64}$/;

export class ContentStore {
  readonly root: string;
  /** Directories known to exist (saves a mkdir per stored file). */
  private readonly made = new Set<string>();
  private readonly knownBlobs = new Set<string>();

  constructor(root: string = cacheDir()) {
    this.root = root;
  }

  blobPath(sha256: string): string {
    if (!SHA256.test(sha256)) throw new Error(`bad sha256 ${sha256}`);
    return join(this.root, 'blobs', 'sha256', sha256.slice(0, 2), sha256);
  }

  /** Where image stages keep their outputs (image/cache.ts). */
  stagesRoot(): string {
    return join(this.root, 'image-stages');
  }

  /** The store's tmp/ (created, and what dead processes left there swept, on first use in this process). */
  private async tempRoot(): Promise<string> {
    const dir = join(this.root, 'tmp');
    if (this.made.has(dir)) return dir;
    const first = !tempRoots.has(dir);
    if (first) await sweepTemp(dir);
    await mkdir(dir, { recursive: true });
    registerTempRoot(dir);
    if (first) await takeLease(this.root);
    this.made.add(dir);
    return dir;
  }

  /** Takes this run's lease on the store (done by any scratch use too): call before long writes outside tmp/. */
  async lease(): Promise<void> {
    await this.tempRoot();
  }

  /** A fresh scratch path on the store's filesystem (caller renames or deletes it; removed at exit otherwise). */
  async tempPath(suffix = ''): Promise<string> {
    return join(await this.tempRoot(), `${RUN_ID}-${randomBytes(6).toString('hex')}${suffix}`);
  }

  /** A fresh scratch folder on the store's filesystem (caller removes it; removed at exit otherwise). */
  async tempDir(label = 'd'): Promise<string> {
    const prefix = `${RUN_ID}-${label}-`;
    try {
      return await mkdtemp(join(await this.tempRoot(), prefix));
    } catch (err) {
      // The store may have been deleted while we ran: recreate once.
      if (errnoCode(err) !== 'ENOENT') throw err;
      this.made.clear();
      return mkdtemp(join(await this.tempRoot(), prefix));
    }
  }

  /** Whether `path` is a regular file. */
  async has(path: string): Promise<boolean> {
    try {
      return (await stat(path)).isFile();
    } catch {
      return false;
    }
  }

  async hasBlob(sha256: string): Promise<boolean> {
    return this.has(this.blobPath(sha256));
  }

  private async ensureDir(dir: string): Promise<void> {
    if (this.made.has(dir)) return;
    await mkdir(dir, { recursive: true });
    this.made.add(dir);
  }

  /** Atomically moves a finished, verified file (or folder) into place. */
  async promote(tmp: string, final: string): Promise<void> {
    try {
      await this.ensureDir(dirname(final));
      try {
        await rename(tmp, final);
      } catch (err) {
        const code = errnoCode(err);
        if (code === 'ENOENT') {
          // The store may have been deleted while we ran ("safe to delete"): recreate and retry once.
          this.made.clear();
          await mkdir(dirname(final), { recursive: true });
          await rename(tmp, final);
        } else if (code === 'EXDEV') {
          // Staged on another filesystem: copy next to the final name, then rename atomically.
          const near = await this.tempPath('.xdev');
          await copyFile(tmp, near);
          await rename(near, final);
          await unlink(tmp).catch(() => {});
        } else throw err;
      }
    } catch (err) {
      throw storeWriteError(err, this.root, final);
    }
  }

  /** Moves a file whose SHA-256 was just checked into blobs/; returns its path. */
  async promoteBlob(tmp: string, sha256: string): Promise<string> {
    const final = this.blobPath(sha256);
    await this.promote(tmp, final);
    return final;
  }

  async discard(path: string): Promise<void> {
    await rm(path, { force: true }).catch(() => {});
  }

  /** Writes `data` to a temp file and promotes it to `final` (the temp file never survives a failure). */
  async writeAtomic(final: string, data: string | Uint8Array, suffix = '.w'): Promise<void> {
    const tmp = await this.tempPath(suffix);
    try {
      await writeFile(tmp, data);
      await this.promote(tmp, final);
    } catch (err) {
      await this.discard(tmp);
      throw storeWriteError(err, this.root, final);
    }
  }

  /** Stores a small blob held in memory under its (already known) SHA-256; no-op when the store has it. */
  async putBlob(sha256: string, data: Uint8Array): Promise<void> {
    if (this.knownBlobs.has(sha256)) return;
    const final = this.blobPath(sha256);
    if (!(await this.has(final))) await this.writeAtomic(final, data, '.blob');
    this.knownBlobs.add(sha256);
  }

  /** Stores bytes under their SHA-256 and returns it. */
  async putBytes(bytes: Uint8Array): Promise<string> {
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    await this.putBlob(sha256, bytes);
    return sha256;
  }

  /** A blob's bytes, or null when it is missing or no longer matches its name. */
  async getBytes(sha256: string): Promise<Buffer | null> {
    try {
      const bytes = await readFile(this.blobPath(sha256));
      return createHash('sha256').update(bytes).digest('hex') === sha256 ? bytes : null;
    } catch {
      return null;
    }
  }

  /** Hashes a stored blob; returns false (and deletes it) when its content no longer matches its name. */
  async checkBlob(sha256: string, signal?: AbortSignal): Promise<boolean> {
    const path = this.blobPath(sha256);
    const h = createHash('sha256');
    try {
      for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20, ...(signal ? { signal } : {}) })) h.update(chunk);
    } catch (err) {
      if (signal?.aborted) throw err;
      return false;
    }
    if (h.digest('hex') === sha256) return true;
    this.knownBlobs.delete(sha256);
    await unlink(path).catch(() => {});
    return false;
  }

  /**
   * Removes scratch entries left by processes that are gone (the temp files of running processes are left alone;
   * interrupted downloads are kept for resuming).
   */
  async cleanTemp(): Promise<string[]> {
    return sweepTemp(join(this.root, 'tmp'), 0);
  }
}
