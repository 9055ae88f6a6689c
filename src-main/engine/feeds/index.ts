/**
 * Package feeds: verified Alpine APK v2 repositories → resolved, cached, safely unpacked packages.
 *
 * For the build pipeline:
 *   Pipeline.start<ComposePlan>().then(resolveStage(o)).then(fetchStage(o)).then(unpackStage(o))
 *   → UnpackedFeed { manifest: FsManifest, lock: PackageLock, effects, skippedScripts, ... }
 *   then `writeLockFile(join(outDir, 'packages.lock.json'), result.lock)`.
 *
 * Lower level: loadIndexes/fetchPackages/unpackPackages (feed.ts), resolvePackages (resolver.ts),
 * readApkIndex / verifyApkFile for single files, compareVersions for Alpine versions,
 * exportCache/importCache for the offline bundle.
 *
 * The resolver agrees with apk-tools' own solver suite on every fresh-root `add` case, tagged repositories
 * (`name@testing`) included; where it deliberately differs (an unknown tag fails instead of being ignored) the
 * feeds README says why. What apk does that this does not (none of it matters for building fresh Box images):
 * - No upgrade/installed-database logic (fresh images only): no `replaces` for already-installed
 *   packages, no `.pre-upgrade`/`.post-upgrade`.
 * - Install scripts and triggers are never run on the host: their effects are read here and applied, emulated,
 *   deferred to first boot or refused by the image stage (image/script-effects.ts).
 * - No APK v3 (ADB) packages or indexes, no DSA signatures, no `X:`-style SHA-256 identities in indexes.
 */
export { readApkIndex, parseApkIndexText, type ApkIndex, type ApkPackage, type RepoRef } from './apkindex';
export { FeedCache, checksumHex } from './cache';
export { exportCache, importCache } from './bundle';
export { parseDep, parseDeps, formatDep, type Dep, type Provide } from './deps';
export { download, type DownloadOptions } from '../net/download';
export {
  describeFeed,
  feedConfig,
  feedKeys,
  fetchPackages,
  loadIndexes,
  repoBase,
  unpackPackages,
  type FeedConfig,
  type FeedOptions,
  type FetchProgress,
  type UnpackResult,
} from './feed';
export { makeLock, readLockFile, writeLockFile, serializeLock, type LockedPackage, type PackageLock } from './lock';
export { readApkHeader, verifyApkFile, verifyApkHeader, type VerifiedApk } from './package-file';
export { ProviderIndex, resolvePackages, type PackageRequest, type Resolution, type ResolvedPackage } from './resolver';
export { type ScriptEffect, type SkippedScript } from './scripts';
export { loadTrustedKeys, type TrustedKeys } from './signature';
export {
  fetchStage,
  planRequests,
  resolveFromLock,
  resolveStage,
  unpackStage,
  writeLockStage,
  type FeedStageOptions,
  type FetchedFeed,
  type ResolvedFeed,
  type UnpackedFeed,
} from './stages';
export { compareVersions, isValidVersion, satisfies } from './version';
