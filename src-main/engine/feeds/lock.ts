/**
 * packages.lock.json: the exact package set of a build (the SBOM's input, and `--lock FILE` to
 * reproduce a build). Stable key order and sorting, so the same set gives byte-identical files.
 */
import { readFile, rename, writeFile } from 'node:fs/promises';
import { z } from 'zod';
import { NexusError } from '../../../src-shared/errors';
import { errorMessage } from '../../../src-shared/narrow';
import type { ApkPackage } from './apkindex';

export const LOCK_VERSION = 1;

export const LockedPackageSchema = z.object({
  name: z.string(),
  version: z.string(),
  arch: z.string(),
  /** "main", "community"... */
  repository: z.string(),
  /** Set when the package came from a tagged repository (`name@testing`). */
  tag: z.string().optional(),
  /** Index C: (Q1 + base64 sha1 of the control member). */
  checksum: z.string(),
  /** .apk size in bytes (S:). */
  size: z.number().int().nonnegative(),
  installedSize: z.number().int().nonnegative(),
  license: z.string(),
  origin: z.string(),
  url: z.string(),
});
export type LockedPackage = z.infer<typeof LockedPackageSchema>;

export const PackageLockSchema = z.object({
  lockVersion: z.literal(LOCK_VERSION),
  feed: z.object({
    name: z.string(),
    branch: z.string(),
    arch: z.string(),
    repositories: z.array(z.string()),
    tagged: z.array(z.object({ tag: z.string(), branch: z.string(), repository: z.string() })).default([]),
  }),
  /** DESCRIPTION of each index used ("v3.24.1-…"), by repository ("main"), tagged ones as "@testing". */
  indexes: z.record(z.string(), z.string()),
  packages: z.array(LockedPackageSchema),
});
export type PackageLock = z.infer<typeof PackageLockSchema>;

export function lockEntry(p: ApkPackage): LockedPackage {
  return {
    name: p.name,
    version: p.version,
    arch: p.arch,
    repository: p.repo.name,
    ...(p.repo.tag ? { tag: p.repo.tag } : {}),
    checksum: p.checksum,
    size: p.size,
    installedSize: p.installedSize,
    license: p.license,
    origin: p.origin,
    url: p.url,
  };
}

export function makeLock(feed: z.input<typeof PackageLockSchema>['feed'], indexes: Record<string, string>, packages: ApkPackage[]): PackageLock {
  const sortedIdx = Object.fromEntries(Object.entries(indexes).sort(([a], [b]) => (a < b ? -1 : 1)));
  return {
    lockVersion: LOCK_VERSION,
    feed: { ...feed, tagged: feed.tagged ?? [] },
    indexes: sortedIdx,
    packages: packages.map(lockEntry).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)),
  };
}

export function serializeLock(lock: PackageLock): string {
  return JSON.stringify(lock, null, 2) + '\n';
}

/** Writes atomically (temporary name, then rename). */
export async function writeLockFile(path: string, lock: PackageLock): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}`;
  await writeFile(tmp, serializeLock(lock));
  await rename(tmp, path);
}

export async function readLockFile(path: string): Promise<PackageLock> {
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(path, 'utf8'));
  } catch (err) {
    throw new NexusError(
      'LOCK_UNREADABLE',
      `Cannot read the lock file ${path}: ${errorMessage(err)}.`,
      'Pass the packages.lock.json written next to a previous build.',
    );
  }
  const parsed = PackageLockSchema.safeParse(raw);
  if (!parsed.success)
    throw new NexusError(
      'LOCK_INVALID',
      `${path} is not a valid packages.lock.json: ${parsed.error.issues[0]?.message ?? 'invalid'}.`,
      'Use a lock file written by this version of Nexus.',
    );
  return parsed.data;
}
