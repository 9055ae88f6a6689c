/**
 * The offline kit as the UI and the engine see it: one file (a verified cache export plus a description of the
 * choices it was made for) that lets a machine without network build those choices. Pure data and helpers.
 */
import { z } from 'zod';

/** The error code of "no package mirror answered": the UI offers to build from the offline kit / cache instead. */
export const MIRROR_UNREACHABLE = 'MIRROR_UNREACHABLE';

/** One thing the kit must be able to build: a Box on a board with fragments (and an Alpine branch). */
export const KitChoice = z
  .object({
    profile: z.string().min(1),
    target: z.string().min(1),
    fragments: z.array(z.string()).default([]),
    branch: z
      .string()
      .regex(/^(v\d+\.\d+|edge)$/)
      .optional(),
  })
  .strict();
export type KitChoice = z.infer<typeof KitChoice>;

export const KitChoicePlan = z.object({
  choice: KitChoice,
  label: z.string(),
  /** False for what a kit cannot carry yet (official images: their own cache, exported with `nexus cache export`). */
  supported: z.boolean(),
  reason: z.string().nullable(),
  packages: z.number().int().nonnegative(),
  /** Compressed package bytes this choice needs (shared packages counted once per choice). */
  downloadBytes: z.number().nonnegative(),
  installedBytes: z.number().nonnegative(),
  /** Size of the image it builds (estimated before the build) and the smallest stick it fits ("256 MB"; card-sizes.ts). */
  imageBytes: z.number().nonnegative(),
  stick: z.string().nullable(),
});
export type KitChoicePlan = z.infer<typeof KitChoicePlan>;

export const KitPlan = z.object({
  choices: z.array(KitChoicePlan),
  /** Package feeds' indexes the kit carries ("alpine/v3.24/main/x86_64"). */
  indexes: z.array(z.string()),
  packages: z.number().int().nonnegative(),
  /** About the size of the kit file (packages, indexes, keys), before it is written. */
  bytes: z.number().nonnegative(),
});
export type KitPlan = z.infer<typeof KitPlan>;

export const KitPrepared = z.object({
  file: z.string(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  /** The `<file>.sha256` written next to it. */
  checksumFile: z.string(),
  bytes: z.number().nonnegative(),
  packages: z.number().int().nonnegative(),
  indexes: z.number().int().nonnegative(),
  seconds: z.number().nonnegative(),
});
export type KitPrepared = z.infer<typeof KitPrepared>;

export const KitBuildable = z.object({ choice: KitChoice, label: z.string(), buildable: z.boolean(), missing: z.array(z.string()) });
export type KitBuildable = z.infer<typeof KitBuildable>;

export const KitImported = z.object({
  file: z.string(),
  sha256: z.string(),
  /** True when a `<file>.sha256` lay next to the file and matched; every package and index is verified regardless. */
  checksumVerified: z.boolean(),
  packages: z.number().int().nonnegative(),
  indexes: z.number().int().nonnegative(),
  /** What the cache can now build offline, for each choice the kit was made for. */
  canBuild: z.array(KitBuildable),
  seconds: z.number().nonnegative(),
});
export type KitImported = z.infer<typeof KitImported>;

/** A built image copied with the NEXUS-KIT partition holding the kit (added to the build history). */
export const KitAttached = z.object({
  historyId: z.string(),
  image: z.string(),
  sha256: z.string(),
  size: z.number().nonnegative(),
  files: z.array(z.object({ kind: z.enum(['image', 'checksum']), path: z.string(), size: z.number().nonnegative() })),
});
export type KitAttached = z.infer<typeof KitAttached>;

export const KitProgress = z.object({
  phase: z.enum(['resolve', 'download', 'write', 'checksum', 'verify', 'import', 'check']),
  message: z.string(),
  bytesDone: z.number().nonnegative().optional(),
  bytesTotal: z.number().nonnegative().optional(),
});
export type KitProgress = z.infer<typeof KitProgress>;

/** "tinybox + rescue on pc" */
export function choiceLabel(c: Pick<KitChoice, 'profile' | 'target' | 'fragments'>): string {
  return `${c.profile}${c.fragments.length ? ` + ${c.fragments.join(' + ')}` : ''} on ${c.target}`;
}
