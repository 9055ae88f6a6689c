/** Stage "compress" (optional): zstd and/or xz copies of the finished image, written as outputs of the build. */
import { execa } from 'execa';
import { stat } from 'node:fs/promises';
import type { BuildOutputFile, BuildResult } from '../../build-types';
import { requireTool } from '../../host-tools';
import type { OutputSet } from '../../outputs';
import type { Stage } from '../../runner';
import { runTool } from '../tools/run';
import type { ComposeState } from './compose-state';
import type { PackResult } from './write-image';

export type Packed = ComposeState & { result?: PackResult; extraFiles?: BuildOutputFile[]; bootTest?: BuildResult['bootTest'] };

export function compressStage(kinds: Array<'zst' | 'xz'>, outputs: OutputSet): Stage<Packed, Packed> {
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
