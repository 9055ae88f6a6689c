/**
 * Replica packs: groups of extra replica packages (real Alpine names, versions, dependencies and paths; Debian
 * payloads where no Alpine binary is available) that a test asks the feed for, e.g. the dragonbox or rescue tools.
 * `debianTestFeed(arch, { packs: ['rescue'] })` builds (or reuses) a feed holding the base packages plus those packs;
 * the feed's cache is keyed on the packs' ids and versions and on every Debian package they were built from, so
 * tests that need no pack never pay for one and a changed pack rebuilds only the feeds that use it.
 *
 * A pack is a module in this folder registered in PACKS below. It never imports debian-test-feed.ts (no cycle):
 * everything it needs comes in its ReplicaPackContext.
 */
import type { ApkFileSpec, ApkPackageSpec } from '../apk-repo';
import type { ReplicaArch } from '../alpine-real';
import { sshPack } from './ssh';
import { rescuePack } from './rescue';
import { dragonboxPack } from './dragonbox';
import { nexboxPack } from './nexbox';
import { linboxPack } from './linbox';

export interface ReplicaPackContext {
  arch: ReplicaArch;
  /** Scratch folder of this feed build (removed afterwards). */
  work: string;
  /** Debian's multiarch triplet of `arch` (x86_64-linux-gnu, ...). */
  triplet: string;
  /**
   * Folder where every Debian package this pack asked for (debs(arch)) and its Depends closure are extracted
   * (dpkg-deb -x), resolved at run time from Debian's index (never pinned).
   */
  debTree: string;
  /** The resolved Debian packages (name=version) extracted into debTree, for STAND-IN notes. */
  debsUsed: string[];
  /** Downloaded .deb paths by package name (the closure of debs(arch)). */
  debFiles: Map<string, string>;
  /**
   * Files of an Alpine package whose payload is Debian's: the given paths (relative to debTree, e.g.
   * "usr/sbin/dropbear") and the ELF closure they load (PT_INTERP, DT_NEEDED) at Debian's paths.
   */
  debBinaryFiles(binaries: string[]): Promise<ApkFileSpec[]>;
  /** Metadata of a package from the real v3.23.4 main x86_64 index (so: names renamed for other arches). */
  indexSpec(name: string): ApkPackageSpec;
  /** Whether the real v3.23.4 main x86_64 index lists `name`. */
  inIndex(name: string): boolean;
  /** A usr/share/doc/<name>/STAND-IN note file. */
  note(name: string, what: string): ApkFileSpec;
  /** STAND_IN_NOTE, the marker every borrowed payload carries. */
  standInNote: string;
}

export interface ReplicaPack {
  /** Short id used in debianTestFeed(arch, { packs }) and in the feed's cache key. */
  id: string;
  /** Bump when the pack's output changes (part of the cache key). */
  version: number;
  /** Debian packages (binary package names) whose files the pack borrows; their Depends closure is extracted too. */
  debs(arch: ReplicaArch): string[];
  /** The pack's Alpine package specs. Names must not clash with the base feed's or another pack's. */
  specs(ctx: ReplicaPackContext): Promise<ApkPackageSpec[]>;
  /** Kernel modules the pack's packages need beyond the feed's own list (added to the kernel packages with their dependencies). */
  modules?(arch: ReplicaArch): string[];
  /** Alpine repository of each package the pack adds (default main). */
  repositoryOf?(name: string): 'main' | 'community' | 'testing' | undefined;
}

/** Every pack, by id. Add a pack: write its module in this folder and register it here. */
export const PACKS: Record<string, ReplicaPack> = {
  ssh: sshPack,
  rescue: rescuePack,
  dragonbox: dragonboxPack,
  nexbox: nexboxPack,
  linbox: linboxPack,
};

export function packsById(ids: readonly string[]): ReplicaPack[] {
  return [...new Set(ids)].sort().map((id) => {
    const p = PACKS[id];
    if (!p) throw new Error(`no replica pack "${id}" (known: ${Object.keys(PACKS).join(', ') || 'none'})`);
    return p;
  });
}
