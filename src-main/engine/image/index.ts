/**
 * Image composition: from the feed stage's root filesystem manifest to a finished, bootable disk image with its
 * checksum, block map, manifest and SBOM (the stages are in compose.ts and pack.ts; engine/build.ts runs them).
 */
import type { BuildPlan } from '../../../src-shared/plan';
import type { FsManifest } from '../rootfs/entries';
import type { ComposeState } from './compose';
import type { LockFile } from './lock';
import type { PackResult } from './pack';
import { sourceDateEpoch } from './reproducible';
import type { PackageScripts, ScriptRecord } from './script-effects';

export { BOOT_MARKER, BOOT_FAILED_MARKER } from './config/scripts';
export type { ComposeState, PackResult, LockFile, PackageScripts, ScriptRecord };

/** `scripts`: the unpack stage's effects, script records and owner names (UnpackedFeed), for the configure stage. */
export function initialState(
  plan: BuildPlan,
  manifest: FsManifest,
  lock: LockFile,
  epoch?: number,
  cacheRoot?: string,
  scripts?: PackageScripts,
): ComposeState {
  return {
    plan,
    manifest,
    lock,
    epoch: sourceDateEpoch(epoch),
    contents: new Map(),
    cacheHits: [],
    warnings: [],
    ...(cacheRoot ? { cacheRoot } : {}),
    ...(scripts ? { scripts } : {}),
  };
}
