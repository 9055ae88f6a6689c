/**
 * Flash request / progress / result, and the messages between the app and the privileged helper.
 * The helper parses every incoming line with these schemas; it never trusts the unprivileged side.
 */
import { z } from 'zod';

export const Sha256Hex = z.string().regex(/^[0-9a-f]{64}$/i, 'expected a SHA-256 as 64 hex digits');

export const FlashSource = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('file'), path: z.string().min(1) }),
  z.object({ kind: z.literal('url'), url: z.string().regex(/^https?:\/\//, 'only http(s) URLs'), sha256: Sha256Hex }),
]);
export type FlashSource = z.infer<typeof FlashSource>;

export const FlashRequest = z.object({
  source: FlashSource,
  /** Optional block map (bmaptool XML): only mapped ranges are written and verified. */
  bmap: z.string().min(1).nullable().default(null),
  targets: z.array(z.string().min(1)).min(1).max(16),
  verify: z.boolean().default(true),
  eject: z.boolean().default(false),
  includeSystem: z.boolean().default(false),
  confirmedSystemDevices: z.array(z.string()).default([]),
});
export type FlashRequest = z.infer<typeof FlashRequest>;
export type FlashRequestInput = z.input<typeof FlashRequest>;

/**
 * decompressing = streaming decompress+write of a compressed source (writing for raw ones);
 * finishing = writing the held-back first MiB, final flush, eject.
 */
export const FlashPhase = z.enum(['starting', 'decompressing', 'writing', 'verifying', 'finishing', 'done', 'failed', 'cancelled']);
export type FlashPhase = z.infer<typeof FlashPhase>;

export const ErrorInfoSchema = z.object({ code: z.string(), message: z.string(), hint: z.string().optional() });

export const TargetProgress = z.object({
  device: z.string(),
  phase: FlashPhase,
  /** Bytes done in the current phase and its total (null when the decompressed size is unknown). */
  bytesDone: z.number().nonnegative(),
  bytesTotal: z.number().nonnegative().nullable(),
  /** Bytes per second over the last ~2 s, and since the phase started. */
  speed: z.number().nonnegative(),
  avgSpeed: z.number().nonnegative(),
  etaSeconds: z.number().nonnegative().nullable(),
  error: ErrorInfoSchema.optional(),
});
export type TargetProgress = z.infer<typeof TargetProgress>;

export const FlashProgress = z.object({
  type: z.literal('flash.progress'),
  phase: FlashPhase,
  /** Compressed / downloaded bytes consumed from the source. */
  sourceBytesRead: z.number().nonnegative(),
  sourceBytesTotal: z.number().nonnegative().nullable(),
  targets: z.array(TargetProgress),
  elapsedMs: z.number().nonnegative(),
});
export type FlashProgress = z.infer<typeof FlashProgress>;

/**
 * What is on the drive after the run:
 * - image: the whole image is written (and verified when verify was on).
 * - blank-head: the write stopped; the first and last MiB of the drive are zeroed (no partition table),
 *   the rest holds a partial image. The OS shows it as an empty drive; it never looks bootable.
 * - untouched: nothing was written (refused before opening).
 */
export const DriveState = z.enum(['image', 'blank-head', 'untouched']);
export type DriveState = z.infer<typeof DriveState>;

export const TargetResult = z.object({
  device: z.string(),
  status: z.enum(['done', 'failed', 'cancelled']),
  state: DriveState,
  bytesWritten: z.number().nonnegative(),
  verified: z.boolean(),
  /** First byte offset where the drive differs from the source (verification failure). */
  mismatchOffset: z.number().nonnegative().optional(),
  error: ErrorInfoSchema.optional(),
  ejected: z.boolean().default(false),
});
export type TargetResult = z.infer<typeof TargetResult>;

export const FlashResult = z.object({
  type: z.literal('flash.result'),
  ok: z.boolean(),
  cancelled: z.boolean(),
  imageSize: z.number().nonnegative(),
  durationMs: z.number().nonnegative(),
  /** SHA-256 of the downloaded bytes (URL sources). */
  sourceSha256: z.string().optional(),
  targets: z.array(TargetResult),
});
export type FlashResult = z.infer<typeof FlashResult>;

export const FlashEvent = z.discriminatedUnion('type', [FlashProgress, FlashResult]);
export type FlashEvent = z.infer<typeof FlashEvent>;

// ---------------------------------------------------------------------------------------------
// Helper protocol: newline-delimited JSON over the helper's stdin/stdout. Every app → helper message
// carries the per-run token (handed over in a 0600 file, never on the command line).

export const HELPER_PROTOCOL_VERSION = 1;
const Token = z.string().regex(/^[0-9a-f]{64}$/);

export const AppToHelper = z.discriminatedUnion('type', [
  z.object({ type: z.literal('flash'), token: Token, request: FlashRequest }),
  z.object({ type: z.literal('cancel'), token: Token }),
  z.object({ type: z.literal('ping'), token: Token }),
  z.object({ type: z.literal('shutdown'), token: Token }),
]);
export type AppToHelper = z.infer<typeof AppToHelper>;

export const HelperToApp = z.discriminatedUnion('type', [
  z.object({ type: z.literal('ready'), protocol: z.number().int(), pid: z.number().int(), uid: z.number().int() }),
  z.object({ type: z.literal('pong') }),
  z.object({ type: z.literal('log'), level: z.enum(['debug', 'info', 'warn', 'error']), message: z.string() }),
  /** A message the helper refused (bad token, malformed, policy); the helper keeps running only for malformed ones. */
  z.object({ type: z.literal('rejected'), error: ErrorInfoSchema }),
  z.object({ type: z.literal('progress'), progress: FlashProgress }),
  z.object({ type: z.literal('result'), result: FlashResult }),
  z.object({ type: z.literal('fatal'), error: ErrorInfoSchema }),
]);
export type HelperToApp = z.infer<typeof HelperToApp>;
