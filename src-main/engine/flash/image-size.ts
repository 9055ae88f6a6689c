/**
 * The number of bytes an image puts on a drive, known before the drive is chosen: the file size of a raw
 * image; for compressed ones the container's own exact record (xz index, zstd frame content size, zip central
 * directory, a gzip ISIZE only when deflate's ratio limit makes it trustworthy); otherwise a streaming count
 * through the decompressor, with progress, cancellable and bounded (past `limit` bytes the answer is "at least").
 */
import { stat } from 'node:fs/promises';
import { CancelledError, NexusError, isCancelled } from '../../../src-shared/errors';
import { decompressedSize, openSource, type SourceFormat } from './source';

export type SizeMethod = 'raw' | 'index' | 'counted';

export interface ImageSize {
  format: SourceFormat;
  /** Bytes of the file itself. */
  fileSize: number;
  /** Decompressed bytes: exact when `exact`, else a lower bound (the count stopped at the limit). */
  size: number;
  exact: boolean;
  method: SizeMethod;
}

export interface CountOptions {
  signal?: AbortSignal;
  /** Compressed bytes read so far and the file size, a few times a second. */
  onProgress?: (read: number, total: number) => void;
  /** Stop counting past this many decompressed bytes (default 2 TiB: more than any card). */
  limit?: number;
}

/** The size when the container records it; null when only a count can tell. */
export async function recordedImageSize(path: string): Promise<Omit<ImageSize, 'size'> & { size: number | null }> {
  const st = await stat(path).catch(() => null);
  if (!st?.isFile()) throw new NexusError('IMAGE_NOT_FOUND', `${path} is not a file.`, 'Check the path.');
  const src = await openSource({ kind: 'file', path });
  await src.close();
  const { format } = src;
  if (format === 'raw') return { format, fileSize: st.size, size: st.size, exact: true, method: 'raw' };
  // zip: the central directory's size (openSource read it); the others from their index or trailer.
  const size = format === 'zip' ? src.size : await decompressedSize(path, format, st.size);
  return { format, fileSize: st.size, size, exact: size !== null, method: 'index' };
}

/** Decompresses and counts (nothing is kept). A corrupt file fails with the decompressor's verdict. */
export async function countImageSize(path: string, o: CountOptions = {}): Promise<ImageSize> {
  const limit = o.limit ?? 2 * 1024 ** 4;
  const src = await openSource({ kind: 'file', path }, o.signal);
  const buf = Buffer.allocUnsafe(4 << 20);
  let size = 0;
  let last = 0;
  try {
    for (;;) {
      if (o.signal?.aborted) throw new CancelledError();
      const n = await src.reader.readInto(buf, 0, buf.length);
      size += n;
      if (o.onProgress && Date.now() - last > 250) {
        last = Date.now();
        o.onProgress(src.bytesRead(), src.sourceSize ?? 0);
      }
      if (n < buf.length) break;
      if (size > limit) return { format: src.format, fileSize: src.sourceSize ?? 0, size, exact: false, method: 'counted' };
    }
    await src.finish();
  } catch (e) {
    if (e instanceof NexusError || isCancelled(e) || o.signal?.aborted) throw o.signal?.aborted ? new CancelledError() : e;
    throw new NexusError(
      'SOURCE_CORRUPT',
      `The image ${src.name} could not be decompressed: ${(e as Error).message}.`,
      'Download the image again; the file is damaged or truncated.',
    );
  } finally {
    await src.close();
  }
  o.onProgress?.(src.sourceSize ?? 0, src.sourceSize ?? 0);
  return { format: src.format, fileSize: src.sourceSize ?? 0, size, exact: true, method: 'counted' };
}

/** The recorded size when there is one, else the count. */
export async function imageSize(path: string, o: CountOptions = {}): Promise<ImageSize> {
  const r = await recordedImageSize(path);
  if (r.size !== null) return { ...r, size: r.size };
  return countImageSize(path, o);
}
