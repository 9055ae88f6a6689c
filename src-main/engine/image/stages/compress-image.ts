/**
 * Stage "compress" (optional): zstd and/or xz copies of the finished image, written as outputs of the build.
 * In-process WASM encoders on the worker thread (compress/compress-file.ts); the host's xz and zstd are not used.
 */
import { stat } from 'node:fs/promises';
import type { BuildOutputFile } from '../../build-types';
import { compressFile } from '../../compress/compress-file';
import type { OutputSet } from '../../outputs';
import type { Stage } from '../../runner';
import type { ImageWritten } from './image-parts';

export function compressStage(kinds: Array<'zst' | 'xz'>, outputs: OutputSet): Stage<ImageWritten, ImageWritten> {
  return {
    id: 'compress',
    title: 'Compress the image',
    async run(input, ctx) {
      const { image, source } = input.result;
      const compressed: BuildOutputFile[] = [];
      for (const k of kinds) {
        const out = `${image}.${k}`;
        const partial = await outputs.open(out, { image: true });
        ctx.progress({ message: `${k} compression` });
        await compressFile(source, partial, k, {
          signal: ctx.signal,
          onProgress: (done, total) => ctx.progress({ message: `${k} compression`, fraction: done / total, bytesDone: done, bytesTotal: total }),
        });
        compressed.push({ kind: 'compressed', path: out, size: (await stat(partial)).size });
      }
      return { ...input, extraFiles: [...input.extraFiles, ...compressed] };
    },
  };
}
