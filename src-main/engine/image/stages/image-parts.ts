/**
 * What each image stage hands to the next: every stage takes the previous stage's output and returns its own, a new
 * object (no stage changes its input; the fields are readonly). Each output keeps what later stages still read.
 *
 *   rootfs      UnpackedFeed     → RootCollected
 *   configure   RootCollected    → RootConfigured
 *   initramfs   RootConfigured   → InitramfsBuilt
 *   filesystems InitramfsBuilt   → FilesystemsMade
 *   boot        FilesystemsMade  → BootPartitionMade
 *   pack        BootPartitionMade → ImageWritten
 *   compress    ImageWritten     → ImageWritten (+ compressed copies)
 *   boot-test   ImageWritten     → ImageWritten (+ boot test result and console log)
 */
import { z } from 'zod';
import type { ComposePlan, PlannedPartition } from '../../../../src-shared/plan';
import type { BuildOutputFile, BuildResult } from '../../build-types';
import type { FsManifest } from '../../rootfs/entries';
import type { ApkDbInput } from '../config/apk';
import type { ConfiguredRoot } from '../configure';
import type { MapPolicy } from '../fs-extent';
import type { LockFile } from '../lock';
import type { Seed } from '../reproducible';
import type { PackageScripts } from '../script-effects';
import type { PackResult } from './write-image';

/** The build's constants for every image stage: the plan, SOURCE_DATE_EPOCH and the seed of UUIDs and salts. */
export interface ImageBuild {
  readonly plan: ComposePlan;
  readonly epoch: number;
  readonly seed: Seed;
  readonly lock: LockFile;
}

export interface RootCollected extends ImageBuild {
  /** Root filesystem from the feed stages (packages unpacked, nothing generated yet). */
  readonly manifest: FsManifest;
  /** The unpack stage's install-script effects and script records, applied/emulated/deferred by configure. */
  readonly scripts: PackageScripts;
  /** The resolved packages and trusted keys, for apk's configuration on the device (config/apk.ts). */
  readonly apk: ApkDbInput;
}

export interface RootConfigured extends ImageBuild {
  readonly configured: ConfiguredRoot;
  /** Hash of the configured tree: the cache key of everything made from it. */
  readonly rootHash: string;
  readonly warnings: readonly string[];
}

export interface InitramfsBuilt extends RootConfigured {
  /** The packed initramfs (a stage cache file). */
  readonly initramfs: string;
}

/** The file holding a partition's content, and which of its bytes the block map must list (fs-extent.ts). */
export interface PartitionContent {
  readonly path: string;
  readonly policy: MapPolicy;
}
export type PartitionContents = ReadonlyMap<PlannedPartition['role'], PartitionContent>;

/** dm-verity parameters of the root (verity-tree.ts), for the kernel command line and the manifest; cached as JSON. */
export const VerityRootSchema = z.object({ rootHash: z.string().regex(/^[0-9a-f]{64}$/), salt: z.string(), uuid: z.string() });
export type VerityRoot = z.infer<typeof VerityRootSchema>;

export interface FilesystemsMade extends InitramfsBuilt {
  /** Root and state partitions by role. */
  readonly contents: PartitionContents;
  readonly verity: VerityRoot | null;
}

export interface BootPartitionMade extends FilesystemsMade {
  /** Every partition's content (the boot partition and raw ones added). */
  readonly contents: PartitionContents;
  readonly kernelCmdline: string;
}

export interface ImageWritten {
  readonly plan: ComposePlan;
  readonly lock: LockFile;
  readonly warnings: readonly string[];
  readonly result: PackResult;
  /** Outputs beyond the image and its sidecars: compressed copies, the boot test's console log. */
  readonly extraFiles: readonly BuildOutputFile[];
  readonly bootTest?: BuildResult['bootTest'];
}
