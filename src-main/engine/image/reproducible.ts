/**
 * Everything that would otherwise be random or time-based in an image (disk GUIDs, filesystem UUIDs, the verity
 * salt, FAT volume ids, timestamps) is derived from the plan hash and SOURCE_DATE_EPOCH, so two builds of the
 * same plan with the same packages are bit-identical.
 */
import { createHash } from 'node:crypto';
import type { BuildPlan, ComposePlan } from '../../../src-shared/plan';
import { hashCanonical } from '../plan/canonical';

/** 2024-01-01T00:00:00Z: used when neither the caller nor the environment sets SOURCE_DATE_EPOCH. */
export const DEFAULT_EPOCH = 1_704_067_200;

export function sourceDateEpoch(explicit?: number): number {
  if (explicit !== undefined) return Math.floor(explicit);
  const env = process.env.SOURCE_DATE_EPOCH;
  if (env && /^\d+$/.test(env)) return Number(env);
  return DEFAULT_EPOCH;
}

export class Seed {
  constructor(
    readonly planHash: string,
    readonly epoch: number,
  ) {}

  bytes(label: string, n: number): Buffer {
    const out: Buffer[] = [];
    for (let i = 0; out.length * 32 < n; i++) out.push(createHash('sha256').update(`${this.planHash}:${this.epoch}:${label}:${i}`).digest());
    return Buffer.concat(out).subarray(0, n);
  }

  hex(label: string, n: number): string {
    return this.bytes(label, n).toString('hex');
  }

  /** An RFC 4122 version-4-shaped UUID (random bits replaced by hash bits). */
  uuid(label: string): string {
    const b = this.bytes(label, 16);
    b.writeUInt8((b.readUInt8(6) & 0x0f) | 0x40, 6);
    b.writeUInt8((b.readUInt8(8) & 0x3f) | 0x80, 8);
    const h = b.toString('hex');
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  }
}

export function seedFor(plan: BuildPlan, epoch: number): Seed {
  return new Seed(plan.planHash, epoch);
}

/**
 * The seed of a composed image's UUIDs, salts and ids: from the plan without the user's customization (and without
 * what is not the image: its hash, output paths, the recipe tag), so a hostname change keeps every UUID.
 */
export function layoutSeed(plan: ComposePlan, epoch: number): Seed {
  const { customization: _c, planHash: _h, outputs: _o, recipe: _r, ...rest } = plan;
  return seedFor({ ...plan, planHash: hashCanonical(rest) }, epoch);
}
