/** The state the image stages pass along (being replaced by typed stage inputs and outputs). */
import type { ComposePlan } from '../../../../src-shared/plan';
import { hashCanonical } from '../../plan/canonical';
import type { FsManifest } from '../../rootfs/entries';
import type { StageContext } from '../../runner';
import { cachedStage } from '../cache';
import type { ApkDbInput } from '../config/apk';
import type { ConfiguredRoot } from '../configure';
import type { MapPolicy } from '../fs-extent';
import type { DiskLayout } from '../layout';
import type { LockFile } from '../lock';
import { seedFor, type Seed } from '../reproducible';
import type { PackageScripts } from '../script-effects';

export interface ComposeState {
  plan: ComposePlan;
  /** Root filesystem from the feed stage (packages unpacked, nothing generated yet). */
  manifest: FsManifest;
  lock: LockFile;
  /** The unpack stage's install-script effects and script records, applied/emulated/deferred by configure. */
  scripts?: PackageScripts;
  /** The resolved packages and trusted keys, for apk's configuration on the device (config/apk.ts). */
  apk?: ApkDbInput;
  epoch: number;
  /** Override the stage cache root (tests). */
  cacheRoot?: string;
  seed?: Seed;
  configured?: ConfiguredRoot;
  rootHash?: string;
  initramfs?: string;
  /** Partition role → file holding its content. */
  contents: Map<string, { path: string; policy: MapPolicy }>;
  verity?: { rootHash: string; salt: string; uuid: string };
  kernelCmdline?: string;
  layout?: DiskLayout;
  cacheHits: string[];
  warnings: string[];
}

/** Seeds come from the plan without the user's customization, so a hostname change keeps every UUID. */
export function layoutSeed(plan: ComposePlan, epoch: number): Seed {
  const { customization: _c, planHash: _h, outputs: _o, recipe: _r, ...rest } = plan;
  return seedFor({ ...plan, planHash: hashCanonical(rest) }, epoch);
}

export async function cached(state: ComposeState, ctx: StageContext, stage: string, key: unknown, produce: (dir: string) => Promise<void>): Promise<string> {
  const r = await cachedStage(stage, key, produce, state.cacheRoot);
  if (r.hit) {
    state.cacheHits.push(stage);
    ctx.log('info', `${stage}: reused from cache`);
  }
  return r.dir;
}
