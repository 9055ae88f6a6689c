/**
 * What an offline kit needs for the chosen Boxes/boards/fragments: each choice resolved against the feed's verified
 * indexes (online, or from the cache when `offline`), the package closure, its size, and the size of the image it
 * builds (so the stick size can be shown before anything is built or written).
 */
import { stat } from 'node:fs/promises';
import type { Catalog } from '../../../src-shared/catalog';
import { smallestCardFor } from '../../../src-shared/card-sizes';
import { choiceLabel, type KitChoice, type KitChoicePlan, type KitPlan } from '../../../src-shared/offline-kit';
import { composePlanOf, type BuildPlan, type ComposePlan } from '../../../src-shared/plan';
import { resolvePlan } from '../plan/resolve';
import { FeedCache } from '../feeds/cache';
import type { ApkIndex, ApkPackage } from '../feeds/apkindex';
import { describeFeed, feedConfig, feedKeys, indexId, loadIndexes, type FeedConfig } from '../feeds/feed';
import { planRequests } from '../feeds/stages';
import { resolvePackages } from '../feeds/resolver';
import type { TrustedKeys } from '../feeds/signature';

export interface KitFeedOptions {
  mirror?: string;
  keysDir?: string;
  cache?: FeedCache;
  /** Resolve from the cache only (what an imported kit can build). */
  offline?: boolean;
  signal?: AbortSignal;
  log?: (level: 'debug' | 'info' | 'warn' | 'error', message: string) => void;
}

export interface ResolvedChoice {
  plan: ComposePlan;
  feed: FeedConfig;
  keys: TrustedKeys;
  indexes: ApkIndex[];
  packages: ApkPackage[];
}

const MiB = 1024 * 1024;

/**
 * The image a plan builds, before building: fixed partitions as planned, "auto" ones sized from the installed
 * package bytes (+25 % for file system overhead and the configuration, + 8 MiB), plus the partition tables.
 */
export function estimateImageBytes(plan: BuildPlan, installedBytes: number): number {
  let total = 2 * MiB;
  for (const p of plan.partitions) total += p.sizeMiB === 'auto' ? Math.ceil((installedBytes * 1.25) / MiB) * MiB + 8 * MiB : p.sizeMiB * MiB;
  return total;
}

export async function resolveChoice(catalog: Catalog, choice: KitChoice, o: KitFeedOptions): Promise<ResolvedChoice> {
  const plan = composePlanOf(
    resolvePlan(catalog, {
      profile: choice.profile,
      target: choice.target,
      fragments: choice.fragments,
      ...(choice.branch ? { branch: choice.branch } : {}),
    }),
  );
  const feed = feedConfig(plan.feed, { ...(o.mirror ? { mirror: o.mirror } : {}), ...(o.keysDir ? { keysDir: o.keysDir } : {}) });
  const keys = await feedKeys(feed);
  const indexes = await loadIndexes(feed, keys, {
    cache: o.cache ?? new FeedCache(),
    offline: !!o.offline,
    ...(o.signal ? { signal: o.signal } : {}),
    ...(o.log ? { log: o.log } : {}),
  });
  const res = resolvePackages(indexes, planRequests(plan), { describeRepos: describeFeed(feed), assumeProvided: plan.builderProvides });
  return { plan, feed, keys, indexes, packages: res.packages.map((r) => r.pkg) };
}

export interface PlannedKit extends KitPlan {
  resolved: ResolvedChoice[];
  /** Index ids of every resolved choice. */
  indexIds: string[];
}

export async function planKit(catalog: Catalog, choices: KitChoice[], o: KitFeedOptions = {}): Promise<PlannedKit> {
  const out: KitChoicePlan[] = [];
  const resolved: ResolvedChoice[] = [];
  const unique = new Map<string, ApkPackage>();
  const indexIds = new Set<string>();
  let indexBytes = 0;
  const cache = o.cache ?? new FeedCache();
  for (const choice of choices) {
    const label = choiceLabel(choice);
    const box = catalog.boxes.get(choice.profile);
    if (box?.recipe === 'official-image') {
      const plan = resolvePlan(catalog, { profile: choice.profile, target: choice.target, fragments: choice.fragments });
      out.push({
        choice,
        label,
        supported: false,
        reason: `${choice.profile} is written from the official release images, which the kit does not carry yet: use "nexus cache export" after one online build.`,
        packages: 0,
        downloadBytes: 0,
        installedBytes: 0,
        imageBytes: estimateImageBytes(plan, 0),
        stick: smallestCardFor(estimateImageBytes(plan, 0)),
      });
      continue;
    }
    const r = await resolveChoice(catalog, choice, { ...o, cache });
    resolved.push(r);
    for (const p of r.packages) unique.set(p.checksum, p);
    for (const idx of r.indexes) {
      const id = indexId(r.feed, idx.repo.name, idx.repo.branch);
      if (!indexIds.has(id)) {
        indexIds.add(id);
        // Alpine's indexes are a few hundred KiB to ~2 MiB compressed; the cache knows the exact size.
        const ref = await cache.getIndexRef(id);
        if (ref)
          indexBytes += await stat(cache.indexPath(ref.sha256)).then(
            (st) => st.size,
            () => 0,
          );
      }
    }
    const installed = r.packages.reduce((s, p) => s + p.installedSize, 0);
    const imageBytes = estimateImageBytes(r.plan, installed);
    out.push({
      choice,
      label,
      supported: true,
      reason: null,
      packages: r.packages.length,
      downloadBytes: r.packages.reduce((s, p) => s + p.size, 0),
      installedBytes: installed,
      imageBytes,
      stick: smallestCardFor(imageBytes),
    });
  }
  const packageBytes = [...unique.values()].reduce((s, p) => s + p.size, 0);
  // Tar headers (512 bytes per entry, padding) and the trusted keys are small next to the packages.
  const bytes = packageBytes + indexBytes + (unique.size + indexIds.size + 8) * 1024;
  return { choices: out, indexes: [...indexIds].sort(), packages: unique.size, bytes, resolved, indexIds: [...indexIds] };
}
