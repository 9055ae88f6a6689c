/**
 * `buildImage(plan, options)`: the whole build as one runner pipeline, streaming progress —
 * feed (resolve → fetch → unpack) → image (configure → initramfs → filesystems → boot → pack)
 * → optional compression → optional QEMU boot test. Official-image Boxes go to the official recipe.
 */
import { CancelledError } from '../../src-shared/errors';
import type { BuildPlan, ComposePlan } from '../../src-shared/plan';
import type { BuildOptions, BuildResult } from './build-types';
import { fetchStage, resolveStage, unpackStage, type FeedStageOptions } from './feeds/index';
import { bootTestStage } from './image/stages/boot-test';
import { buildInitramfsStage } from './image/stages/build-initramfs';
import { collectRootStage } from './image/stages/collect-root';
import { compressStage } from './image/stages/compress-image';
import { configureRootStage } from './image/stages/configure-root';
import type { ImageWritten } from './image/stages/image-parts';
import { makeBootPartitionStage } from './image/stages/make-boot-partition';
import { makeFilesystemsStage } from './image/stages/make-filesystems';
import { makePackStage } from './image/stages/write-image';
import { OutputSet, checkOutputTargets } from './outputs';
import { buildOfficial } from './official/index';
import { budgetWarnings } from '../../src-shared/budgets';
import { Pipeline } from './runner';

/** The one place a recipe is chosen: by the plan's type. */
export async function buildImage(plan: BuildPlan, options: BuildOptions = {}): Promise<BuildResult> {
  if (plan.recipe === 'official-image') {
    // The official recipe writes its own files (official/); the target check still applies to its image.
    await checkOutputTargets(plan.outputs.image, plan.outputs.manifest, [plan.outputs.image, plan.outputs.manifest], { force: !!options.force });
    return buildOfficial(plan, options);
  }
  return composeImage(plan, options);
}

async function composeImage(plan: ComposePlan, options: BuildOptions): Promise<BuildResult> {
  const feedOpts: FeedStageOptions = {
    ...(options.mirror ? { mirror: options.mirror } : {}),
    ...(options.keysDir ? { keysDir: options.keysDir } : {}),
    ...(options.offline ? { offline: true } : {}),
    ...(options.lockFile ? { lockFile: options.lockFile } : {}),
  };
  // Outputs: refused up front when they would overwrite something that is not ours (--force for foreign regular
  // files); written under partial names and committed together only after the last stage.
  const outputs = new OutputSet(plan.outputs.image, plan.outputs.manifest, { force: !!options.force });
  const { consoleLog, ...always } = plan.outputs;
  const final = [...Object.values(always), ...(options.compress ?? []).map((k) => `${plan.outputs.image}.${k}`), ...(options.bootTest ? [consoleLog] : [])];
  await checkOutputTargets(plan.outputs.image, plan.outputs.manifest, final, { force: !!options.force });
  let p = Pipeline.start<ComposePlan>()
    .then(resolveStage(feedOpts))
    .then(fetchStage(feedOpts))
    .then(unpackStage(feedOpts))
    .then(collectRootStage(options))
    .then(configureRootStage)
    .then(buildInitramfsStage)
    .then(makeFilesystemsStage)
    .then(makeBootPartitionStage)
    .then(makePackStage(outputs));
  if (options.compress?.length) p = p.then(compressStage(options.compress, outputs));
  if (options.bootTest) p = p.then(bootTestStage(options.bootTestSession, outputs));
  let s: ImageWritten;
  try {
    s = await p.run(plan, { ...(options.signal ? { signal: options.signal } : {}), ...(options.onEvent ? { onEvent: options.onEvent } : {}) });
    if (options.signal?.aborted) throw new CancelledError();
    await outputs.commit();
  } catch (err) {
    // A failure or cancellation after the pack stage keeps the finished image with its sidecars (all of them, or
    // none); compressed copies and the console log of an unfinished boot test are dropped.
    await outputs.commitSealed().catch(() => outputs.discard());
    throw err;
  }
  const r = s.result;
  return {
    plan,
    image: r.image,
    sha256: r.sha256,
    size: r.size,
    files: [...r.files, ...s.extraFiles],
    packageCount: s.lock.packages.length,
    ...(s.bootTest ? { bootTest: s.bootTest } : {}),
    warnings: [
      ...plan.warnings,
      ...s.warnings,
      ...budgetWarnings(plan.box.name, plan.budgets, { packages: s.lock.packages.length, mappedBytes: r.mappedBytes }),
    ],
  };
}
