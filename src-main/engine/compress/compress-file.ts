/**
 * Compresses a file to .xz or .zst in-process (no `xz`/`zstd` on the host): the file is read in 4 MiB chunks on
 * this thread, and each chunk is compressed on the engine's worker thread (codec-sessions.ts through
 * workers/pool.ts), so memory stays a few chunks plus the codec's window whatever the image size, and the main
 * thread only moves bytes. The same input gives the same output (single-threaded encoders, no timestamps).
 */
import { open } from 'node:fs/promises';
import { CancelledError } from '../../../src-shared/errors';
import { offThread } from '../workers/pool';
import type { CodecKind } from './codec-sessions';

/** xz preset 6 (xz's default) and zstd level 10: what `--compress` used with the host tools. */
export const DEFAULT_LEVEL: Record<CodecKind, number> = { xz: 6, zst: 10 };
const CHUNK = 4 * 1024 * 1024;

export async function compressFile(
  source: string,
  out: string,
  kind: CodecKind,
  o: { level?: number; signal?: AbortSignal; onProgress?: (done: number, total: number) => void } = {},
): Promise<{ bytesIn: number; bytesOut: number }> {
  const id = await offThread('codecOpen', [kind, o.level ?? DEFAULT_LEVEL[kind]]);
  const src = await open(source, 'r');
  let dst: Awaited<ReturnType<typeof open>> | null = null;
  let finished = false;
  try {
    dst = await open(out, 'w');
    const total = (await src.stat()).size;
    let bytesIn = 0;
    let bytesOut = 0;
    const write = async (b: Uint8Array) => {
      if (b.length) await dst!.write(b);
      bytesOut += b.length;
    };
    // One read buffer for the whole file: the worker gets a copy of each chunk (a 4 MiB memcpy), so nothing
    // per chunk is left for the garbage collector but the compressed output.
    const buf = Buffer.allocUnsafe(CHUNK);
    for (;;) {
      if (o.signal?.aborted) throw new CancelledError();
      const { bytesRead } = await src.read(buf, 0, CHUNK, bytesIn);
      if (bytesRead === 0) break;
      bytesIn += bytesRead;
      await write(await offThread('codecPush', [id, buf.subarray(0, bytesRead)]));
      o.onProgress?.(bytesIn, total);
    }
    await write(await offThread('codecEnd', [id]));
    finished = true;
    return { bytesIn, bytesOut };
  } finally {
    if (!finished) await offThread('codecAbort', [id]).catch(() => undefined);
    await src.close();
    await dst?.close();
  }
}
