/**
 * Offline kits: plan (what the chosen Boxes need, and how large), prepare (one verified file with its checksum),
 * import (verified again; what this machine can now build offline). See kit-file.ts.
 */
export { planKit, estimateImageBytes, type KitFeedOptions, type PlannedKit } from './plan';
export { prepareKit, importKit, buildableOffline, kitFileName, KIT_MANIFEST, type KitJobOptions } from './kit-file';
export { imageWithKit, KIT_PARTITION_LABEL, type KitOnImage } from './stick-partition';
