/**
 * A feed = one Alpine branch + architecture + repositories, reachable through mirrors (http(s) URLs,
 * file:// URLs or plain directories with the Alpine layout `<mirror>/<branch>/<repo>/<arch>/`),
 * trusted through a set of key directories. This module loads verified indexes (online or from the
 * cache), downloads packages into the cache, and unpacks a resolved set into an FsManifest.
 */
import { mkdir, readFile, stat } from 'node:fs/promises';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { CancelledError, NexusError } from '../../../src-shared/errors';
import { errorMessage } from '../../../src-shared/narrow';
import type { LogLevel } from '../../../src-shared/progress';
import type { FsManifest } from '../rootfs/entries';
import { resourcesDir } from '../paths';
import { readApkIndexOffThread, type ApkIndex, type ApkPackage, type RepoRef } from './apkindex';
import { FeedCache } from './cache';
import { download } from '../net/download';
import { newUnpackState, unpackApk } from './extract';
import { limits } from './limits';
import { dataLimitOf, scanDataMember, verifyApkFile, verifyApkHeader } from './package-file';
import { scriptEffects, type ScriptEffect, type SkippedScript } from './scripts';
import { isUnreachable, mirrorUnreachable } from './unreachable';
import { loadTrustedKeys, type TrustedKeys } from './signature';

export interface FeedConfig {
  /** Feed name from the catalog ("alpine"). */
  name: string;
  /** "v3.22" or "edge". */
  branch: string;
  /** Alpine architecture name. */
  arch: string;
  repositories: string[];
  /** Tagged repositories (`@testing` → testing of edge), loaded with their tag so only pinned packages come from them. */
  tagged?: TaggedRepository[];
  /** Tried in order. */
  mirrors: string[];
  /** Absolute directories holding the trusted *.rsa.pub keys. */
  keyDirs: string[];
}

export interface TaggedRepository {
  tag: string;
  branch: string;
  repository: string;
}

/** One repository to load: of the feed's branch, or a tagged one of another branch. */
interface RepoSpec {
  name: string;
  branch: string;
  tag?: string;
}

const repoSpecs = (feed: FeedConfig): RepoSpec[] => [
  ...feed.repositories.map((name) => ({ name, branch: feed.branch })),
  ...(feed.tagged ?? []).map((t) => ({ name: t.repository, branch: t.branch, tag: t.tag })),
];

export interface FeedOptions {
  cache?: FeedCache;
  /** Use only the cache; fail early listing what is missing. */
  offline?: boolean;
  signal?: AbortSignal;
  log?: (level: LogLevel, message: string) => void;
  /** Parallel package downloads (default 4). */
  concurrency?: number;
  retries?: number;
  backoffMs?: number;
}

/** The plan's `feed` (keys relative to resources/) plus CLI overrides → a FeedConfig. */
export function feedConfig(
  feed: { name: string; branch: string; arch: string; repositories: string[]; tagged?: TaggedRepository[]; mirrors: string[]; keys: string },
  overrides: { mirror?: string; keysDir?: string } = {},
): FeedConfig {
  const keysDir = overrides.keysDir ? resolve(overrides.keysDir) : isAbsolute(feed.keys) ? feed.keys : join(resourcesDir(), feed.keys);
  return {
    name: feed.name,
    branch: feed.branch,
    arch: feed.arch,
    repositories: [...feed.repositories],
    tagged: (feed.tagged ?? []).map((t) => ({ ...t })),
    mirrors: overrides.mirror ? [overrides.mirror] : [...feed.mirrors],
    keyDirs: [keysDir],
  };
}

/** `<mirror>/<branch>/<repo>/<arch>` for URLs and directories alike (branch: the feed's unless given). */
export function repoBase(mirror: string, feed: FeedConfig, repo: string, branch = feed.branch): string {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(mirror)) return `${mirror.replace(/\/+$/, '')}/${branch}/${repo}/${feed.arch}`;
  return join(resolve(mirror), branch, repo, feed.arch);
}

function joinBase(base: string, file: string): string {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(base) ? `${base}/${encodeURIComponent(file)}` : join(base, file);
}

export const indexId = (feed: FeedConfig, repo: string, branch = feed.branch) => `${feed.name}/${branch}/${repo}/${feed.arch}`;

/** "riscv64/main, riscv64/community of v3.24 (@testing: riscv64/testing of edge)" — used in resolver messages. */
export function describeFeed(feed: FeedConfig): string {
  const tagged = (feed.tagged ?? []).map((t) => `@${t.tag}: ${feed.arch}/${t.repository} of ${t.branch}`);
  return `${feed.repositories.map((r) => `${feed.arch}/${r}`).join(', ')} of ${feed.branch}${tagged.length ? ` (${tagged.join('; ')})` : ''}`;
}

export async function feedKeys(feed: FeedConfig): Promise<TrustedKeys> {
  const keys = await loadTrustedKeys(feed.keyDirs);
  if (keys.size === 0)
    throw new NexusError('KEYS_MISSING', `No trusted keys in ${feed.keyDirs.join(', ')}.`, "Pass --keys DIR with the repository's *.rsa.pub files.");
  return keys;
}

/** Loads and verifies every repository index of the feed: fetched fresh online (cached copy as fallback when the network fails), from the cache offline. */
export async function loadIndexes(feed: FeedConfig, keys: TrustedKeys, opts: FeedOptions = {}): Promise<ApkIndex[]> {
  const cache = opts.cache ?? new FeedCache();
  const out: ApkIndex[] = [];
  const missing: string[] = [];
  for (const spec of repoSpecs(feed)) {
    const repo = spec.name;
    const id = indexId(feed, repo, spec.branch);
    const what = `the index of ${feed.arch}/${repo} (${spec.branch}${spec.tag ? `, tagged @${spec.tag}` : ''})`;
    const refOf = (base: string): RepoRef => ({ name: repo, branch: spec.branch, arch: feed.arch, base, ...(spec.tag ? { tag: spec.tag } : {}) });
    const fromCache = async (): Promise<ApkIndex | null> => {
      const ref = await cache.getIndexRef(id);
      if (!ref) return null;
      const ref0 = refOf(ref.base);
      const path = cache.indexPath(ref.sha256);
      // Bounded read: an imported or damaged cache must not make us load a huge file.
      if ((await stat(path)).size > limits.indexCompressed) {
        throw new NexusError(
          'INDEX_TOO_LARGE',
          `${what}, cached, is larger than an APKINDEX.tar.gz may be (${limits.indexCompressed} bytes).`,
          'Delete it with `nexus cache clean` and fetch it again.',
        );
      }
      return readApkIndexOffThread(await readFile(path), ref0, keys, `${what}, cached`);
    };
    if (opts.offline) {
      const idx = await fromCache();
      if (idx) out.push(idx);
      else missing.push(id);
      continue;
    }
    const errors: string[] = [];
    let answered = false;
    let loaded: ApkIndex | null = null;
    for (const mirror of feed.mirrors) {
      const base = repoBase(mirror, feed, repo, spec.branch);
      const source = joinBase(base, 'APKINDEX.tar.gz');
      const tmp = await cache.tempPath('.apkindex');
      try {
        await download(source, tmp, {
          maxBytes: limits.indexCompressed,
          ...(opts.signal ? { signal: opts.signal } : {}),
          retries: opts.retries ?? 2,
          ...(opts.backoffMs !== undefined ? { backoffMs: opts.backoffMs } : {}),
        });
        const bytes = await readFile(tmp);
        loaded = await readApkIndexOffThread(bytes, refOf(base), keys, what);
        await cache.putIndex({ id, source, base, fetchedAt: new Date().toISOString(), signer: loaded.signer ?? '', description: loaded.description }, bytes);
        opts.log?.('info', `${what}: ${loaded.packages.length} packages, ${loaded.description || 'no description'}, signed by ${loaded.signer} (${source})`);
        break;
      } catch (err) {
        // A bad signature is a security signal, never papered over with another mirror or the cache.
        if (err instanceof NexusError && /SIGNATURE|UNSIGNED|APK_V3|TOO_LARGE|DECOMPRESSION/.test(err.code)) throw err;
        errors.push(`${source}: ${errorMessage(err)}`);
        answered ||= !isUnreachable(err);
      } finally {
        await cache.discard(tmp);
      }
    }
    if (!loaded) {
      loaded = await fromCache();
      if (!loaded && !answered) throw mirrorUnreachable(`Cannot fetch ${what}: no mirror answered (${errors.join('; ')}).`);
      if (!loaded)
        throw new NexusError(
          'INDEX_UNAVAILABLE',
          `Cannot fetch ${what}: ${errors.join('; ')}`,
          'Check the mirror (--mirror URL|DIR) and the network, or use --offline with a cache that has it (nexus cache import).',
        );
      opts.log?.('warn', `${what}: using the cached copy (${errors.join('; ')})`);
    }
    out.push(loaded);
  }
  if (missing.length) {
    throw new NexusError(
      'OFFLINE_MISSING',
      `Offline, and the cache lacks the indexes of ${missing.join(', ')}.`,
      'Run once online, or import a cache made elsewhere with `nexus cache import FILE`.',
    );
  }
  return out;
}

export interface FetchProgress {
  bytesDone: number;
  bytesTotal: number;
  packagesDone: number;
  packagesTotal: number;
}

/**
 * Makes sure every package is in the cache (downloading missing ones with bounded concurrency and
 * verifying them before they enter the cache). Returns cache paths by package name.
 */
export async function fetchPackages(
  pkgs: ApkPackage[],
  feed: FeedConfig,
  keys: TrustedKeys,
  opts: FeedOptions & { onProgress?: (p: FetchProgress) => void } = {},
): Promise<Map<string, string>> {
  const cache = opts.cache ?? new FeedCache();
  for (const p of pkgs) checkSizes(p);
  const paths = new Map<string, string>();
  await cache.lease(); // downloads in progress are kept by `nexus cache clean`
  const todo: ApkPackage[] = [];
  for (const p of pkgs) {
    const path = cache.packagePath(p.checksum);
    if ((await cache.has(path)) && (await cachedSignatureHolds(p, path, keys, cache, opts))) paths.set(p.name, path);
    else todo.push(p);
  }
  if (opts.offline && todo.length) {
    throw new NexusError(
      'OFFLINE_MISSING',
      `Offline, and ${todo.length} package(s) are not in the cache: ${todo.map((p) => `${p.name}-${p.version}`).join(', ')}.`,
      'Run once online, or import a cache that has them with `nexus cache import FILE`.',
    );
  }
  // Bytes already in interrupted downloads are resumed, not fetched again: leave them out of the total.
  let resumable = 0;
  for (const p of todo)
    resumable += await stat(cache.partialPath(p.checksum)).then(
      (s) => Math.min(s.size, p.size),
      () => 0,
    );
  const progress: FetchProgress = { bytesDone: 0, bytesTotal: todo.reduce((s, p) => s + p.size, 0) - resumable, packagesDone: 0, packagesTotal: todo.length };
  opts.onProgress?.({ ...progress });
  const inner = new AbortController();
  const onAbort = () => inner.abort();
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  let next = 0;
  const worker = async () => {
    while (!inner.signal.aborted) {
      const pkg = todo[next++];
      if (!pkg) break;
      paths.set(
        pkg.name,
        await fetchOne(pkg, feed, keys, cache, inner.signal, opts, (d) => {
          progress.bytesDone += d;
          opts.onProgress?.({ ...progress });
        }),
      );
      progress.packagesDone++;
      opts.onProgress?.({ ...progress });
    }
  };
  // The first failure is the one to report: the siblings it stopped reject with CancelledError afterwards.
  let firstError: unknown;
  try {
    const workers = Array.from({ length: Math.max(1, Math.min(opts.concurrency ?? 4, todo.length)) }, worker);
    await Promise.allSettled(
      workers.map((w) =>
        w.catch((err) => {
          firstError ??= err;
          inner.abort(); // fail fast: stop the other downloads (their partial files stay resumable)
          throw err;
        }),
      ),
    );
    if (firstError !== undefined) throw firstError;
  } finally {
    opts.signal?.removeEventListener('abort', onAbort);
  }
  return paths;
}

/**
 * A cached package is named by its control checksum, which a re-signing does not change: when the repository's key
 * was regenerated under the same name (or is no longer trusted), the cached copy's signature fails against today's
 * keys. Such a copy is dropped and downloaded again (signed by the current key) instead of failing the build; offline,
 * it is reported missing like any package the cache lacks.
 */
async function cachedSignatureHolds(p: ApkPackage, path: string, keys: TrustedKeys, cache: FeedCache, opts: FeedOptions): Promise<boolean> {
  try {
    await verifyApkHeader(path, keys, { checksum: p.checksum, size: p.size }, `${p.name}-${p.version}.apk (cached)`);
    return true;
  } catch (err) {
    // A damaged copy (truncated, altered) is downloaded again for the same reason.
    if (!(err instanceof NexusError) || !/SIGNATURE|UNSIGNED|MISMATCH|TRUNCATED|BAD_GZIP|BAD_TAR|BAD_PACKAGE/.test(err.code)) throw err;
    opts.log?.('warn', `${err.message} Dropping the cached copy (signed by an earlier key, or damaged) and downloading it again.`);
    await cache.discard(path);
    return false;
  }
}

/** S:/I: must be safe non-negative integers before they decide a download limit or a progress total (the index parser marks bad ones uninstallable; lock files and callers may still pass any). */
function checkSizes(p: ApkPackage): void {
  for (const [field, v] of [
    ['S:', p.size],
    ['I:', p.installedSize],
  ] as const) {
    if (!Number.isSafeInteger(v) || v < 0) {
      throw new NexusError(
        'BAD_INDEX_ENTRY',
        `${p.name}-${p.version}: the index gives an invalid size ${field}${String(v)} (not a non-negative integer); refusing to download it.`,
        'The index (or lock file) is damaged or hostile; use another mirror, or fetch the index again.',
      );
    }
  }
}

async function fetchOne(
  pkg: ApkPackage,
  feed: FeedConfig,
  keys: TrustedKeys,
  cache: FeedCache,
  signal: AbortSignal,
  opts: FeedOptions,
  onBytes: (d: number) => void,
): Promise<string> {
  const file = `${pkg.name}-${pkg.version}.apk`;
  const part = cache.partialPath(pkg.checksum);
  await mkdir(dirname(part), { recursive: true });
  const bases = [pkg.repo.base, ...feed.mirrors.map((m) => repoBase(m, feed, pkg.repo.name))].filter((b, i, all) => b && all.indexOf(b) === i);
  const errors: string[] = [];
  let answered = false;
  for (const base of bases) {
    const source = joinBase(base, file);
    // Two rounds: a resumed file that fails verification is downloaded once more from scratch.
    for (let round = 0; round < 2; round++) {
      try {
        await download(source, part, {
          expectedSize: pkg.size,
          signal,
          onBytes,
          retries: opts.retries ?? 4,
          ...(opts.backoffMs !== undefined ? { backoffMs: opts.backoffMs } : {}),
        });
        await verifyApkFile(part, keys, { checksum: pkg.checksum, size: pkg.size, installedSize: pkg.installedSize }, `${file} from ${base}`, { signal });
        const final = cache.packagePath(pkg.checksum);
        await cache.promote(part, final);
        return final;
      } catch (err) {
        // Cancelled or network failure: keep the partial file so the next run resumes it.
        if (signal.aborted) throw err;
        const code = err instanceof NexusError ? err.code : '';
        const bad = /MISMATCH|SIGNATURE|UNSIGNED|TRUNCATED|BAD_GZIP|BAD_TAR|BAD_PACKAGE|SIZE_LIMIT|APK_V3|DECOMPRESSION/.test(code);
        if (bad) await cache.discard(part);
        // Signed content that is itself bad (a bomb, a lying per-file checksum): downloading again cannot help.
        if (/DECOMPRESSION|FILE_CHECKSUM/.test(code)) throw err;
        if (bad && round === 0) {
          opts.log?.('warn', `${file}: ${errorMessage(err)} Downloading it again.`);
          continue;
        }
        if (/MISMATCH|SIGNATURE|UNSIGNED|SIZE_LIMIT/.test(code)) throw err;
        errors.push(`${source}: ${errorMessage(err)}`);
        answered ||= !isUnreachable(err);
        break;
      }
    }
  }
  if (!answered) throw mirrorUnreachable(`Cannot download ${file}: no mirror answered (${errors.join('; ')}).`);
  throw new NexusError(
    'DOWNLOAD_FAILED',
    `Cannot download ${file}: ${errors.join('; ')}`,
    'Check the network and the mirror, or use another mirror with --mirror.',
  );
}

export interface UnpackResult {
  manifest: FsManifest;
  effects: ScriptEffect[];
  skippedScripts: SkippedScript[];
  replaced: Array<{ path: string; winner: string; loser: string }>;
  /** Owner names of entries not owned by root (see UnpackState.ownerNames): re-map uid/gid after creating users. */
  ownerNames: Map<string, { user: string; group: string }>;
  /** Regular files and their total size. */
  fileCount: number;
  fileBytes: number;
}

/** Unpacks packages in order (dependencies first) into one manifest, re-checking C:, signature, datahash and PAX checksums. */
export async function unpackPackages(
  order: ApkPackage[],
  paths: Map<string, string>,
  keys: TrustedKeys,
  opts: FeedOptions & { manifest?: FsManifest; onPackage?: (done: number, total: number, name: string) => void } = {},
): Promise<UnpackResult> {
  const cache = opts.cache ?? new FeedCache();
  const state = newUnpackState(opts.manifest ?? new Map());
  const result: UnpackResult = {
    manifest: state.manifest,
    effects: [],
    skippedScripts: [],
    replaced: state.replaced,
    ownerNames: state.ownerNames,
    fileCount: 0,
    fileBytes: 0,
  };
  let done = 0;
  for (const pkg of order) {
    if (opts.signal?.aborted) break;
    const path = paths.get(pkg.name);
    if (!path) throw new NexusError('INTERNAL', `No file for package ${pkg.name}.`);
    const what = `${pkg.name}-${pkg.version}.apk (cached)`;
    const header = await verifyApkHeader(path, keys, { checksum: pkg.checksum, size: pkg.size }, what);
    // Bounded pass before anything is written: a package inflating beyond its declared installed size
    // (I:, signed .PKGINFO size) is refused here, so no blob of it reaches the cache.
    await scanDataMember(path, header, {
      maxInflated: dataLimitOf(header, { installedSize: pkg.installedSize }),
      what,
      ...(opts.signal ? { signal: opts.signal } : {}),
    });
    let r: Awaited<ReturnType<typeof unpackApk>>;
    try {
      r = await unpackApk(path, header, { name: pkg.name, origin: header.pkginfo.origin, replaces: header.pkginfo.replaces }, state, cache, opts.signal);
    } catch (err) {
      // A file that contradicts its own signed checksum: the package is bad as signed (fetch refuses such packages;
      // this one came from an older or imported cache). Drop the cached copy and say what can actually help.
      if (err instanceof NexusError && err.code === 'FILE_CHECKSUM_MISMATCH') {
        await cache.discard(path);
        throw new NexusError(
          err.code,
          `${err.message} The datahash and signature match, so the package is wrong as its repository signed it.`,
          'Downloading it again cannot help (the cached copy was removed): remove the package from the Box or use another branch or mirror, and report it to the repository.',
          { cause: err },
        );
      }
      throw err;
    }
    result.fileCount += r.files;
    result.fileBytes += r.bytes;
    const { effects, skipped } = scriptEffects(pkg.name, pkg.version, header.scripts, header.pkginfo.triggers);
    result.effects.push(...effects);
    result.skippedScripts.push(...skipped);
    // Nothing is applied here: the image stage applies, emulates, defers or refuses each script and logs what it did.
    for (const s of skipped)
      opts.log?.(
        'info',
        `${s.script} script of ${pkg.name}-${pkg.version} not run on the host: ${s.effects} declarative effect(s) recognised${s.ignoredCommands.length ? `; not recognised: ${s.ignoredCommands.slice(0, 3).join(' | ')}` : ''}`,
      );
    opts.onPackage?.(++done, order.length, pkg.name);
  }
  if (opts.signal?.aborted) throw new CancelledError();
  return result;
}
