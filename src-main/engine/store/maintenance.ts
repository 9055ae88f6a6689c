/**
 * `nexus cache info` and `nexus cache clean` over the whole store: package feeds, official releases, image stages,
 * shared blobs and scratch files. Clean deletes everything that can be fetched or built again, except what running
 * processes are using (their scratch entries, whose pid is their lease, and downloads in progress).
 */
import { readdir, readFile, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { FeedCache } from '../feeds/cache';
import type { ReleaseRef } from '../official/store';
import { ContentStore, leaseHolder, pidAlive, STORE_FOLDERS } from './content-store';

export interface Usage {
  count: number;
  bytes: number;
}

export interface CacheInfo {
  root: string;
  packages: Usage;
  indexes: Array<{ id: string; description: string; fetchedAt: string; signer: string }>;
  /** Extracted package files and official release files, by SHA-256. */
  blobs: Usage;
  /** Interrupted downloads (packages and release images), resumed by the next build. */
  partial: Usage;
  /** Official releases whose verified checksum list is cached (what an offline build can use). */
  releases: Array<{ os: string; version: string; arch: string; fetchedAt: string; source: string }>;
  /** Image stage outputs (kernel/initramfs, filesystems) reused by later builds. */
  imageStages: Usage;
  /** Scratch files; `runs` are the live processes holding some (builds in progress). */
  temp: Usage & { runs: number[] };
  total: Usage;
}

async function listFiles(dir: string): Promise<string[]> {
  try {
    const out: string[] = [];
    for (const e of await readdir(dir, { withFileTypes: true, recursive: true })) if (e.isFile()) out.push(join(e.parentPath, e.name));
    return out.sort();
  } catch {
    return [];
  }
}

async function usage(...dirs: string[]): Promise<Usage> {
  let count = 0;
  let bytes = 0;
  for (const dir of dirs) {
    for (const f of await listFiles(dir)) {
      const st = await stat(f).catch(() => null);
      if (!st) continue;
      count++;
      bytes += st.size;
    }
  }
  return { count, bytes };
}

const names = (dir: string): Promise<string[]> => readdir(dir).catch(() => []);

/** Live processes holding a lease on the store, or scratch files in its tmp/. */
async function liveRuns(root: string): Promise<number[]> {
  const all = [...(await names(join(root, 'leases'))), ...(await names(join(root, 'tmp')))];
  const pids = all.map(leaseHolder).filter((p): p is number => p !== undefined && pidAlive(p));
  return [...new Set(pids)].sort((a, b) => a - b);
}

export async function cacheInfo(root?: string): Promise<CacheInfo> {
  const feeds = new FeedCache(root);
  const store = new ContentStore(feeds.root);
  const refsDir = join(feeds.root, 'apk', 'refs');
  const indexes: CacheInfo['indexes'] = [];
  for (const f of await listFiles(refsDir)) {
    const ref = await feeds.getIndexRef(f.slice(refsDir.length + 1, -'.json'.length));
    if (ref) indexes.push({ id: ref.id, description: ref.description, fetchedAt: ref.fetchedAt, signer: ref.signer });
  }
  const releases: CacheInfo['releases'] = [];
  for (const f of await listFiles(join(feeds.root, 'official', 'refs'))) {
    const ref = await readFile(f, 'utf8').then(
      (t) => JSON.parse(t) as ReleaseRef,
      () => null,
    );
    // A ref whose checksum list is gone is of no use offline: not listed (and removed by clean with the rest).
    if (ref && (await store.hasBlob(ref.checksumFileSha256).catch(() => false)))
      releases.push({ os: ref.os, version: ref.version, arch: ref.arch, fetchedAt: ref.fetchedAt, source: ref.source });
  }
  const tmp = join(feeds.root, 'tmp');
  const info = {
    root: feeds.root,
    packages: await usage(join(feeds.root, 'apk', 'packages')),
    indexes,
    blobs: await usage(join(feeds.root, 'blobs')),
    partial: await usage(join(feeds.root, 'apk', 'partial'), join(feeds.root, 'official', 'partial')),
    releases,
    imageStages: await usage(store.stagesRoot()),
    temp: { ...(await usage(tmp)), runs: await liveRuns(feeds.root) },
  };
  return { ...info, total: await usage(feeds.root) };
}

export interface CleanResult {
  root: string;
  /** Bytes freed. */
  freed: number;
  /** Live processes whose scratch files were kept (builds in progress). */
  keptRuns: number[];
}

/** Interrupted downloads: named by content, not by run, so "in use" is read from their last write. */
const PARTIAL_DIRS = [join('apk', 'partial'), join('official', 'partial')];
/** A partial download written to this recently, while another Nexus process runs, is a download in progress. */
export const PARTIAL_IN_USE_MS = 60_000;

/**
 * Deletes everything in the store that can be fetched or built again. Running builds keep their scratch files
 * (tmp/ entries of live pids) and, while any other Nexus process runs, the partial downloads it wrote to in the last
 * minute (a download in progress; older ones are interrupted downloads and go).
 */
export async function cleanCache(root?: string, now = Date.now()): Promise<CleanResult> {
  const store = new ContentStore(root);
  const before = (await usage(store.root)).bytes;
  const keptRuns = (await liveRuns(store.root)).filter((p) => p !== process.pid);
  for (const d of STORE_FOLDERS) {
    const dir = join(store.root, d);
    const partial = PARTIAL_DIRS.find((p) => dirname(p) === d);
    if (!partial || keptRuns.length === 0) {
      await rm(dir, { recursive: true, force: true });
      continue;
    }
    for (const name of await names(dir)) if (join(d, name) !== partial) await rm(join(dir, name), { recursive: true, force: true });
    for (const f of await listFiles(join(store.root, partial))) {
      const st = await stat(f).catch(() => null);
      if (st && now - st.mtimeMs >= PARTIAL_IN_USE_MS) await rm(f, { force: true });
    }
  }
  await store.cleanTemp();
  return { root: store.root, freed: Math.max(0, before - (await usage(store.root)).bytes), keptRuns };
}
