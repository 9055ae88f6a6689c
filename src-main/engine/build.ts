/**
 * `buildImage(plan, options)`: the whole build as one runner pipeline, streaming progress —
 * feed (resolve → fetch → unpack) → image (configure → initramfs → filesystems → boot → pack)
 * → optional compression → optional QEMU boot test. Official-image Boxes go to the official recipe.
 */
import { execa } from 'execa';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { CancelledError, NexusError } from '../../src-shared/errors';
import type { BuildPlan } from '../../src-shared/plan';
import type { BuildOptions, BuildOutputFile, BuildResult } from './build-types';
import { fetchStage, resolveStage, unpackStage, type FeedStageOptions, type UnpackedFeed } from './feeds/index';
import { bootStage, configureStage, filesystemsStage, initramfsStage, type ComposeState } from './image/compose';
import { initialState } from './image/index';
import { runTool } from './image/tools/run';
import { makePackStage, type PackResult } from './image/pack';
import { OutputSet, checkOutputTargets } from './outputs';
import { buildOfficial } from './official/index';
import { budgetWarnings } from '../../src-shared/budgets';
import { requireTool } from './host-tools';
import { Pipeline, type Stage } from './runner';
import { bootTest, consoleLogPath } from './vm/boot-test';

/** The public keys in the feed's key directories (name → PEM), as the build trusted them. */
async function trustedKeyFiles(dirs: string[]): Promise<Array<{ name: string; pem: string }>> {
  const keys = new Map<string, string>();
  for (const d of dirs) {
    for (const name of (await readdir(d).catch(() => [] as string[])).filter((n) => n.endsWith('.pub')).sort()) {
      if (!keys.has(name)) keys.set(name, await readFile(join(d, name), 'utf8'));
    }
  }
  return [...keys].map(([name, pem]) => ({ name, pem }));
}

type Packed = ComposeState & { result?: PackResult; extraFiles?: BuildOutputFile[]; bootTest?: BuildResult['bootTest'] };

function toCompose(options: BuildOptions): Stage<UnpackedFeed, ComposeState> {
  return {
    id: 'rootfs',
    title: 'Collect the root filesystem',
    async run(feed) {
      // Effects and script records go on to the configure stage, which applies, emulates, defers or refuses each
      // script (image/script-effects.ts) and logs what it did.
      const state = initialState(feed.plan, feed.manifest, feed.lock, options.sourceDateEpoch, undefined, {
        effects: feed.effects,
        scripts: feed.skippedScripts,
        ownerNames: feed.ownerNames,
      });
      // apk on the device: the packages as the indexes describe them and the keys this build trusted.
      return { ...state, apk: { packages: feed.resolution.packages.map((p) => p.pkg), keys: await trustedKeyFiles(feed.feed.keyDirs) } };
    },
  };
}

function compressStage(kinds: Array<'zst' | 'xz'>, outputs: OutputSet): Stage<Packed, Packed> {
  return {
    id: 'compress',
    title: 'Compress the image',
    async run(state, ctx) {
      const image = state.result!.image;
      const source = state.result!.source;
      state.extraFiles ??= [];
      for (const k of kinds) {
        const out = `${image}.${k}`;
        const partial = await outputs.open(out, { image: true });
        ctx.progress({ message: `${k} compression` });
        if (k === 'zst') await runTool('zstd', ['-q', '-f', '-T0', '-10', '-o', partial, source], 'compressing the image with zstd', { signal: ctx.signal });
        else {
          await requireTool('xz', 'compressing the image with xz');
          await execa('xz', ['-q', '-T0', '-6', '--stdout', source], { stdout: { file: partial }, cancelSignal: ctx.signal });
        }
        state.extraFiles.push({ kind: 'compressed', path: out, size: (await stat(partial)).size });
      }
      return state;
    },
  };
}

function bootTestStage(session: BuildOptions['bootTestSession'], outputs: OutputSet): Stage<Packed, Packed> {
  return {
    id: 'boot-test',
    title: 'Boot test in QEMU',
    async run(state, ctx) {
      const log = consoleLogPath(state.result!.image);
      const logPath = await outputs.open(log);
      const r0 = await bootTest(state.result!.source, {
        arch: state.plan.arch,
        signal: ctx.signal,
        logPath,
        onLine: (l) => ctx.log('debug', l),
        ...(session ? { session } : {}),
      });
      const r = { ...r0, log };
      state.bootTest = {
        passed: r.passed,
        seconds: r.seconds,
        log: r.log,
        ...(r.reason ? { reason: r.reason } : {}),
        ...(r.commands ? { commands: r.commands } : {}),
      };
      for (const c of r.commands ?? []) ctx.log('info', `console: ${c.command} → exit ${c.status}`);
      ctx.log(r.passed ? 'info' : 'error', r.passed ? `boot marker after ${r.seconds.toFixed(1)} s: ${r.markerLine}` : `boot test failed: ${r.reason}`);
      state.extraFiles ??= [];
      state.extraFiles.push({ kind: 'console-log', path: r.log, size: (await stat(logPath)).size });
      return state;
    },
  };
}

export async function buildImage(plan: BuildPlan, options: BuildOptions = {}): Promise<BuildResult> {
  if (plan.box.recipe === 'official-image') {
    // The official recipe writes its own files (official/); the target check still applies to its image.
    await checkOutputTargets(plan.outputs.image, plan.outputs.manifest, [plan.outputs.image, plan.outputs.manifest], { force: !!options.force });
    return buildOfficial(plan, options);
  }
  if (!plan.feed || !plan.boot) throw new NexusError('PLAN_NOT_COMPOSABLE', `${plan.box.name} has no feed or boot section.`, 'Check the Box definition.');
  const feedOpts: FeedStageOptions = {
    ...(options.mirror ? { mirror: options.mirror } : {}),
    ...(options.keysDir ? { keysDir: options.keysDir } : {}),
    ...(options.offline ? { offline: true } : {}),
    ...(options.lockFile ? { lockFile: options.lockFile } : {}),
  };
  // Outputs: refused up front when they would overwrite something that is not ours (--force for foreign regular
  // files); written under partial names and committed together only after the last stage.
  const outputs = new OutputSet(plan.outputs.image, plan.outputs.manifest, { force: !!options.force });
  const final = [
    plan.outputs.image,
    plan.outputs.checksum,
    plan.outputs.bmap,
    plan.outputs.manifest,
    plan.outputs.sbom,
    plan.outputs.lock,
    ...(options.compress ?? []).map((k) => `${plan.outputs.image}.${k}`),
    ...(options.bootTest ? [consoleLogPath(plan.outputs.image)] : []),
  ];
  await checkOutputTargets(plan.outputs.image, plan.outputs.manifest, final, { force: !!options.force });
  let p = Pipeline.start<BuildPlan>()
    .then(resolveStage(feedOpts))
    .then(fetchStage(feedOpts))
    .then(unpackStage(feedOpts))
    .then(toCompose(options))
    .then(configureStage)
    .then(initramfsStage)
    .then(filesystemsStage)
    .then(bootStage)
    .then(makePackStage(outputs) as Stage<ComposeState, Packed>);
  if (options.compress?.length) p = p.then(compressStage(options.compress, outputs));
  if (options.bootTest) p = p.then(bootTestStage(options.bootTestSession, outputs));
  let s: Packed;
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
  const r = s.result!;
  return {
    plan,
    image: r.image,
    sha256: r.sha256,
    size: r.size,
    files: [...r.files, ...(s.extraFiles ?? [])],
    packageCount: s.lock.packages.length,
    ...(s.bootTest ? { bootTest: s.bootTest } : {}),
    warnings: [
      ...plan.warnings,
      ...s.warnings,
      ...budgetWarnings(plan.box.name, plan.budgets, { packages: s.lock.packages.length, mappedBytes: r.mappedBytes }),
    ],
  };
}
