/**
 * Bounds on everything whose size an index, a package or a mirror decides (issue 13): nothing read from
 * the network is inflated, buffered or walked without one. A mutable object so tests can lower the caps
 * (`withLimits`) instead of writing gigabytes; production code never changes them.
 */
export interface FeedLimits {
  /** APKINDEX.tar.gz as downloaded (the largest real one, community, is ~1.3 MiB compressed). */
  indexCompressed: number;
  /** The inflated APKINDEX member (community ~6 MiB today). */
  indexInflated: number;
  /** A signature member (`.SIGN.*` entries; apk ignores signatures over 64 KiB each). */
  signatureInflated: number;
  /** A package's control member (.PKGINFO and install scripts, usually a few KiB) and the compressed prefix read to find it. */
  controlInflated: number;
  /** A package's data member inflates to at most its installed size (signed `size` in .PKGINFO, index `I:`) times this, plus `dataSlack`… */
  dataRatio: number;
  /** …plus this many bytes (tar headers, PAX records, padding of small packages). */
  dataSlack: number;
  /** …and never more than this, whatever the package says. */
  dataInflated: number;
  /** Longest dependency chain the resolver follows (real Alpine chains are under 30 deep). */
  dependencyDepth: number;
  /** Most packages in one resolution. */
  resolvedPackages: number;
}

export const DEFAULT_LIMITS: Readonly<FeedLimits> = Object.freeze({
  indexCompressed: 64 * 1024 * 1024,
  indexInflated: 256 * 1024 * 1024,
  signatureInflated: 1024 * 1024,
  controlInflated: 16 * 1024 * 1024,
  dataRatio: 2,
  dataSlack: 16 * 1024 * 1024,
  dataInflated: 8 * 1024 * 1024 * 1024,
  dependencyDepth: 1000,
  resolvedPackages: 50_000,
});

/** The limits in force (read at each use). */
export const limits: FeedLimits = { ...DEFAULT_LIMITS };

/** Runs `fn` with some limits changed (tests), restoring them afterwards. */
export async function withLimits<T>(changes: Partial<FeedLimits>, fn: () => Promise<T> | T): Promise<T> {
  const saved = { ...limits };
  Object.assign(limits, changes);
  try {
    return await fn();
  } finally {
    Object.assign(limits, saved);
  }
}

/** What the data member of a package declaring `installedSize` bytes may inflate to. */
export function dataInflateLimit(installedSize: number | undefined): number {
  const declared = installedSize !== undefined && Number.isSafeInteger(installedSize) && installedSize >= 0 ? installedSize : limits.dataInflated;
  return Math.min(limits.dataInflated, Math.ceil(declared * limits.dataRatio) + limits.dataSlack);
}

/** A size field from an index or .PKGINFO: a safe non-negative decimal integer, else undefined. */
export function parseSize(text: string): number | undefined {
  if (!/^\d{1,16}$/.test(text)) return undefined;
  const n = Number(text);
  return Number.isSafeInteger(n) ? n : undefined;
}
