/**
 * Image composition: from the feed stage's root filesystem manifest to a finished, bootable disk image with its
 * checksum, block map, manifest and SBOM. The stages are in stages/, one file each; engine/build.ts runs them in order.
 */
import type { LockFile } from './lock';
import type { PackageScripts, ScriptRecord } from './script-effects';
import type { PackResult } from './stages/write-image';

export { BOOT_MARKER, BOOT_FAILED_MARKER } from './config/scripts';
export type { PackResult, LockFile, PackageScripts, ScriptRecord };
