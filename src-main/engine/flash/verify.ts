/**
 * Read-back verification. The device is opened with O_DIRECT, so every byte comes from the drive,
 * never from the page cache (a cached read would "verify" what we meant to write, not what the card
 * stored). Two comparisons:
 *  - after a write: each written segment's xxh128 (taken from the buffer that was written) against the
 *    hash of the bytes read back; the exact byte is then found from the source when it is seekable;
 *  - `nexus verify`: the image streamed again and compared byte by byte with the drive.
 */
import { createXXHash128 } from 'hash-wasm';
import { CancelledError } from '../../../src-shared/errors';
import { borrowPool, returnPool } from './aligned';
import type { Bmap } from './bmap';
import type { TargetDevice } from './device';
import { ChunkProducer } from './producer';
import type { OpenedSource } from './source';

const READ_AHEAD = 3;

export interface Segment {
  offset: number;
  length: number;
  hash: string;
}

export interface VerifyOptions {
  chunkSize: number;
  signal?: AbortSignal;
  onBytes?: (n: number) => void;
  /** Random access to the source image, to turn a mismatching segment into an exact byte offset. */
  refine?: (dst: Buffer, len: number, position: number) => Promise<number>;
}

function firstDifference(a: Buffer, b: Buffer, len: number): number {
  // Narrow down with memcmp on halves instead of a byte loop.
  let lo = 0;
  let hi = len;
  while (hi - lo > 64) {
    const mid = (lo + hi) >>> 1;
    if (a.compare(b, lo, mid, lo, mid) !== 0) hi = mid;
    else lo = mid;
  }
  for (let i = lo; i < hi; i++) if (a[i] !== b[i]) return i;
  return -1;
}

async function exactOffset(dev: Buffer, seg: Segment, refine: NonNullable<VerifyOptions['refine']>): Promise<number> {
  const src = Buffer.alloc(seg.length);
  await refine(src, seg.length, seg.offset); // short at the image end: the rest stays zero, like the padding written
  const i = firstDifference(src, dev, seg.length);
  return seg.offset + Math.max(0, i);
}

/** Reads every segment back (two reads in flight) and returns the first mismatching offset, if any. */
export async function verifySegments(dev: TargetDevice, segments: readonly Segment[], o: VerifyOptions): Promise<{ mismatchOffset?: number }> {
  if (segments.length === 0) return {};
  const maxLen = Math.max(...segments.map((s) => s.length));
  const pool = borrowPool(Math.ceil(maxLen / 4096) * 4096, READ_AHEAD + 1);
  try {
    return await compareSegments(dev, segments, o, pool);
  } finally {
    returnPool(pool);
  }
}

async function compareSegments(
  dev: TargetDevice,
  segments: readonly Segment[],
  o: VerifyOptions,
  pool: ReturnType<typeof borrowPool>,
): Promise<{ mismatchOffset?: number }> {
  const hasher = await createXXHash128();
  const read = async (s: Segment) => {
    const buf = await pool.acquire();
    let n = 0;
    while (n < s.length) {
      const k = await dev.read(buf, n, s.length - n, s.offset + n);
      if (k === 0) break;
      n += k;
    }
    if (n < s.length) buf.fill(0, n, s.length); // device shorter than the image: will mismatch
    return buf;
  };
  // Up to READ_AHEAD reads in flight while the oldest one is hashed.
  const queue: Array<Promise<Buffer>> = [];
  let next = 0;
  const fill = () => {
    while (queue.length < READ_AHEAD && next < segments.length) {
      const p = read(segments[next++]!);
      p.catch(() => undefined);
      queue.push(p);
    }
  };
  fill();
  for (let i = 0; i < segments.length; i++) {
    if (o.signal?.aborted) throw new CancelledError();
    const buf = await queue.shift()!;
    fill();
    const seg = segments[i]!;
    hasher.init();
    hasher.update(buf.subarray(0, seg.length));
    if (hasher.digest('hex') !== seg.hash) {
      const at = o.refine ? await exactOffset(buf, seg, o.refine) : seg.offset;
      pool.release(buf);
      for (const b of await Promise.allSettled(queue)) if (b.status === 'fulfilled') pool.release(b.value);
      return { mismatchOffset: at };
    }
    o.onBytes?.(seg.length);
    pool.release(buf);
  }
  return {};
}

/** Compares the (decompressed) image with the drive byte by byte; bmap: only mapped ranges. */
export async function verifyImageOnDevice(
  source: OpenedSource,
  bmap: Bmap | null,
  dev: TargetDevice,
  o: VerifyOptions,
): Promise<{ mismatchOffset?: number; bytesCompared: number }> {
  const pool = borrowPool(o.chunkSize, 3);
  const devPool = borrowPool(o.chunkSize, 2);
  const producer = new ChunkProducer(source.reader, pool, bmap);
  let compared = 0;
  for (let c = await producer.next(); c; c = await producer.next()) {
    if (o.signal?.aborted) throw new CancelledError();
    const d = await devPool.acquire();
    let n = 0;
    while (n < c.length) {
      const k = await dev.read(d, n, c.writeLength - n, c.offset + n);
      if (k === 0) break;
      n += k;
    }
    if (n < c.length) d.fill(0, n, c.length);
    const i = firstDifference(c.buf, d, c.length);
    devPool.release(d);
    pool.release(c.buf);
    if (i >= 0) return { mismatchOffset: c.offset + i, bytesCompared: compared + i };
    compared += c.length;
    o.onBytes?.(c.length);
  }
  await source.finish();
  return { bytesCompared: compared };
}
