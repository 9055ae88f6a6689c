/**
 * Runner stages for the build pipeline:
 *   resolveStage: ComposePlan → ResolvedFeed   (verified indexes, package closure, lock)
 *   fetchStage:   ResolvedFeed → FetchedFeed (packages in the cache, progress in bytes)
 *   unpackStage:  FetchedFeed → UnpackedFeed (FsManifest, script effects, skipped scripts)
 * Each output carries the plan and everything before it, so later stages can pick what they need.
 */
import { NexusError } from '../../../src-shared/errors';
import type { ComposePlan } from '../../../src-shared/plan';
import type { FsManifest } from '../rootfs/entries';
import type { Stage } from '../runner';
import type { ApkIndex, ApkPackage } from './apkindex';
import { FeedCache } from './cache';
import { describeFeed, feedConfig, feedKeys, fetchPackages, loadIndexes, unpackPackages, type FeedConfig, type UnpackResult } from './feed';
import { makeLock, readLockFile, writeLockFile, type PackageLock } from './lock';
import { ProviderIndex, resolvePackages, type PackageRequest, type Resolution } from './resolver';
import type { TrustedKeys } from './signature';

export interface FeedStageOptions {
  /** Replace the feed's mirrors with this URL or directory. */
  mirror?: string;
  /** Replace the feed's trusted keys directory. */
  keysDir?: string;
  offline?: boolean;
  /** Reproduce the exact package set of this packages.lock.json instead of resolving. */
  lockFile?: string;
  cache?: FeedCache;
  concurrency?: number;
}

export interface ResolvedFeed {
  plan: ComposePlan;
  feed: FeedConfig;
  keys: TrustedKeys;
  indexes: ApkIndex[];
  resolution: Resolution;
  lock: PackageLock;
}

export interface FetchedFeed extends ResolvedFeed {
  /** Cache path of each package file, by package name. */
  files: Map<string, string>;
}

export interface UnpackedFeed extends FetchedFeed, UnpackResult {
  /** The unpacked root filesystem (add configuration entries, then hand it to the image stage). */
  manifest: FsManifest;
}

/** "box:nexbox" → "nexbox" for error chains. */
function requesters(from: string[]): string[] {
  const first = from[0];
  return first ? [first.replace(/^[a-z]+:/, '')] : ['request'];
}

export function planRequests(plan: Pick<ComposePlan, 'packages'>): PackageRequest[] {
  return plan.packages.map((p) => ({ dep: p.name, from: requesters(p.from) }));
}

function checkLockFeed(lock: PackageLock, feed: FeedConfig): void {
  if (lock.feed.arch !== feed.arch || lock.feed.branch !== feed.branch) {
    throw new NexusError(
      'LOCK_MISMATCH',
      `The lock file is for ${lock.feed.arch} ${lock.feed.branch}, but this build uses ${feed.arch} ${feed.branch}.`,
      'Use the lock file written by a build of the same Box and architecture.',
    );
  }
}

/** The locked set, looked up in the indexes (exact version and C:), or rebuilt from the lock when the index moved on. */
export function resolveFromLock(lock: PackageLock, feed: FeedConfig, indexes: ApkIndex[], assumeProvided: readonly string[] = []): Resolution {
  checkLockFeed(lock, feed);
  const byKey = new Map<string, ApkPackage>();
  for (const idx of indexes) for (const p of idx.packages) byKey.set(`${p.name}\0${p.checksum}`, p);
  const pkgs = lock.packages.map((l): ApkPackage => {
    const hit = byKey.get(`${l.name}\0${l.checksum}`);
    if (hit) return hit;
    const repo = indexes.find((i) => i.repo.name === l.repository && i.repo.tag === l.tag)?.repo;
    if (!repo)
      throw new NexusError(
        'LOCK_MISMATCH',
        `The lock file needs repository "${l.tag ? `@${l.tag} ` : ''}${l.repository}", which the feed does not have.`,
        'Use the same Box and feed as the locked build.',
      );
    return {
      name: l.name,
      version: l.version,
      arch: l.arch,
      checksum: l.checksum,
      size: l.size,
      installedSize: l.installedSize,
      description: '',
      url: l.url,
      license: l.license,
      origin: l.origin,
      maintainer: '',
      buildTime: 0,
      commit: '',
      depends: [],
      provides: [],
      installIf: [],
      providerPriority: 0,
      repo,
    };
  });
  const index = new ProviderIndex([
    { repo: indexes[0]?.repo ?? { name: '', branch: feed.branch, arch: feed.arch, base: '' }, description: '', signer: null, packages: pkgs },
  ]);
  // Re-resolving the exact names against only the locked packages gives the dependency order.
  const res = resolvePackages(
    index,
    pkgs.map((p) => ({ dep: `${p.name}${p.repo.tag ? `@${p.repo.tag}` : ''}><${p.checksum}`, from: ['lock'] })),
    { assumeProvided },
  );
  return res;
}

export function resolveStage(opts: FeedStageOptions = {}): Stage<ComposePlan, ResolvedFeed> {
  return {
    id: 'packages-resolve',
    title: 'Resolve packages',
    async run(plan, ctx) {
      const feed = feedConfig(plan.feed, opts);
      const keys = await feedKeys(feed);
      const lockFile = opts.lockFile ? await readLockFile(opts.lockFile) : null;
      if (lockFile) checkLockFeed(lockFile, feed);
      const cache = opts.cache ?? new FeedCache();
      ctx.progress({ fraction: 0, message: `Loading indexes of ${describeFeed(feed)}` });
      const indexes = await loadIndexes(feed, keys, { cache, offline: !!opts.offline, signal: ctx.signal, log: (l, m) => ctx.log(l, m) });
      ctx.throwIfCancelled();
      ctx.progress({ fraction: 0.5, message: 'Resolving dependencies' });
      const resolution = lockFile
        ? resolveFromLock(lockFile, feed, indexes, plan.builderProvides)
        : resolvePackages(indexes, planRequests(plan), { describeRepos: describeFeed(feed), assumeProvided: plan.builderProvides });
      const lock = makeLock(
        { name: feed.name, branch: feed.branch, arch: feed.arch, repositories: feed.repositories, tagged: feed.tagged },
        Object.fromEntries(indexes.map((i) => [i.repo.tag ? `@${i.repo.tag}` : i.repo.name, i.description])),
        resolution.packages.map((r) => r.pkg),
      );
      ctx.log(
        'info',
        `${resolution.packages.length} packages, ${resolution.totalSize} bytes to download at most, ${resolution.totalInstalledSize} bytes installed`,
      );
      return { plan, feed, keys, indexes, resolution, lock };
    },
  };
}

export function fetchStage(opts: FeedStageOptions = {}): Stage<ResolvedFeed, FetchedFeed> {
  return {
    id: 'packages-fetch',
    title: 'Download packages',
    async run(input, ctx) {
      const files = await fetchPackages(
        input.resolution.packages.map((r) => r.pkg),
        input.feed,
        input.keys,
        {
          cache: opts.cache ?? new FeedCache(),
          offline: !!opts.offline,
          signal: ctx.signal,
          log: (l, m) => ctx.log(l, m),
          ...(opts.concurrency ? { concurrency: opts.concurrency } : {}),
          onProgress: (p) =>
            ctx.progress({ bytesDone: p.bytesDone, bytesTotal: p.bytesTotal, message: `${p.packagesDone}/${p.packagesTotal} packages downloaded` }),
        },
      );
      return { ...input, files };
    },
  };
}

export function unpackStage(opts: FeedStageOptions = {}): Stage<FetchedFeed, UnpackedFeed> {
  return {
    id: 'packages-unpack',
    title: 'Unpack packages',
    async run(input, ctx) {
      const r = await unpackPackages(input.resolution.installOrder, input.files, input.keys, {
        cache: opts.cache ?? new FeedCache(),
        signal: ctx.signal,
        log: (l, m) => ctx.log(l, m),
        onPackage: (done, total, name) => ctx.progress({ fraction: done / total, message: `Unpacked ${name}` }),
      });
      return { ...input, ...r };
    },
  };
}

/**
 * Writes packages.lock.json (default: the plan's `outputs.lock`). The build pipeline may instead call
 * writeLockFile itself when it stages outputs under temporary names.
 */
export function writeLockStage(path?: string): Stage<UnpackedFeed, UnpackedFeed> {
  return {
    id: 'packages-lock',
    title: 'Write packages.lock.json',
    async run(input, ctx) {
      const target = path ?? input.plan.outputs.lock;
      await writeLockFile(target, input.lock);
      ctx.log('info', `wrote ${target} (${input.lock.packages.length} packages)`);
      return input;
    },
  };
}
