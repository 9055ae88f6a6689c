/**
 * The streaming multi-target writer.
 *
 * Order of operations on every target (this is what makes an interrupted write safe):
 *  1. zero the first and last MiB (old partition tables, primary and GPT backup, are gone);
 *  2. stream the image except its first MiB, O_DIRECT from aligned buffers, flushing periodically;
 *  3. final flush, then verify everything written by reading it back with O_DIRECT;
 *  4. only then write the held-back first MiB (partition table / boot sector), flush, verify it.
 * A cancel or failure before step 4 leaves the drive in state "blank-head": no partition table,
 * so it never looks like a bootable but half-written image.
 *
 * One source read feeds every target; each target fails alone. Reading the next chunk, hashing the
 * current one and writing the previous ones overlap (read-ahead + a window of in-flight writes).
 */
import { createXXHash128 } from 'hash-wasm';
import { CancelledError, NexusError, isCancelled } from '../../../src-shared/errors';
import type { Drive } from '../../../src-shared/drives';
import { errorMessage } from '../../../src-shared/narrow';
import type { FlashPhase, FlashProgress, FlashResult, TargetResult } from '../../../src-shared/flash';
import { borrowPool, returnPool, roundUp } from './aligned';
import type { Bmap } from './bmap';
import { openTarget as openDirect, type TargetDevice } from './device';
import { targetError } from './errors';
import { ejectDrive } from './host-ops';
import { Meter } from './meter';
import { ChunkProducer, type Chunk } from './producer';
import type { OpenedSource } from './source';
import { verifySegments, type Segment } from './verify';

export const HEAD_BYTES = 1 << 20;
export const DEFAULT_CHUNK = 4 << 20;

export interface WriteOptions {
  source: OpenedSource;
  bmap: Bmap | null;
  targets: readonly Drive[];
  verify: boolean;
  eject: boolean;
  signal?: AbortSignal;
  onProgress?: (p: FlashProgress) => void;
  log?: (level: 'debug' | 'info' | 'warn' | 'error', message: string) => void;
  progressIntervalMs?: number;
  /** Bytes per write (≥ 1 MiB, multiple of 4096). */
  chunkSize?: number;
  /** Chunks in flight to the targets while the next ones are read. */
  writeDepth?: number;
  flushIntervalMs?: number;
  /** Replaces the O_DIRECT device (tests: throttled or failing media). */
  openTarget?: (d: Drive) => Promise<TargetDevice>;
}

class TargetRun {
  dev: TargetDevice | null = null;
  status: 'active' | 'failed' | 'cancelled' | 'done' = 'active';
  phase: FlashPhase = 'starting';
  state: TargetResult['state'] = 'untouched';
  error: NexusError | null = null;
  bytesWritten = 0;
  verified = false;
  mismatchOffset: number | undefined;
  ejected = false;
  readonly meter = new Meter();
  constructor(readonly drive: Drive) {}

  get active() {
    return this.status === 'active';
  }

  fail(err: unknown): void {
    if (!this.active) return;
    // Raw OS errors (errno codes) become user-facing ones here, whichever device implementation threw.
    const info = err instanceof NexusError ? err : isCancelled(err) ? new CancelledError() : targetError(this.drive.device, err, 'write');
    this.status = isCancelled(err) ? 'cancelled' : 'failed';
    this.phase = this.status === 'cancelled' ? 'cancelled' : 'failed';
    this.error = info;
  }

  setPhase(phase: FlashPhase, total: number | null): void {
    this.phase = phase;
    this.meter.reset(total);
  }
}

/** A target whose device is open. */
type OpenRun = TargetRun & { dev: TargetDevice };

export async function writeImage(o: WriteOptions): Promise<FlashResult> {
  const started = performance.now();
  const chunkSize = o.chunkSize ?? DEFAULT_CHUNK;
  if (chunkSize < 1 << 20 || chunkSize % 4096) throw new Error('chunkSize must be ≥ 1 MiB and a multiple of 4096');
  const log = o.log ?? (() => undefined);
  const runs = o.targets.map((d) => new TargetRun(d));
  const signal = o.signal ?? new AbortController().signal;
  const sector = Math.max(512, ...o.targets.map((d) => d.logicalBlockSize));
  const compressed = o.source.format !== 'raw';
  const planned = ChunkProducer.plannedBytes(o.bmap, o.bmap ? o.bmap.imageSize : o.source.size);
  let imageSize = o.bmap?.imageSize ?? o.source.size ?? 0;
  let sourceSha256: string | undefined;

  const overallPhase = (): FlashPhase => {
    const order: FlashPhase[] = ['starting', 'decompressing', 'writing', 'verifying', 'finishing', 'done', 'cancelled', 'failed'];
    const live = runs.filter((r) => r.active);
    // The earliest phase any active target is in.
    if (live.length) return live.map((r) => r.phase).reduce((a, b) => (order.indexOf(b) < order.indexOf(a) ? b : a));
    if (runs.some((r) => r.status === 'done')) return 'done';
    return runs.some((r) => r.status === 'cancelled') ? 'cancelled' : 'failed';
  };
  const emit = () =>
    o.onProgress?.({
      type: 'flash.progress',
      phase: overallPhase(),
      sourceBytesRead: o.source.bytesRead(),
      sourceBytesTotal: o.source.sourceSize,
      elapsedMs: performance.now() - started,
      targets: runs.map((r) => ({ device: r.drive.device, phase: r.phase, ...r.meter.snapshot(), ...(r.error ? { error: r.error.toInfo() } : {}) })),
    });
  const ticker = setInterval(emit, o.progressIntervalMs ?? 250);
  ticker.unref?.();
  // Active targets after step 1 all have their device open (a target whose open failed has failed).
  const live = (): OpenRun[] => runs.filter((r): r is OpenRun => r.active && r.dev !== null);
  const onAbort = () => void o.source.close();
  signal.addEventListener('abort', onAbort, { once: true });

  // Buffers: [zeros, head] and the streaming pool, recycled across runs (see aligned.ts).
  // Without bmap checksums one chunk is read while `depth` are written: reading further ahead only
  // costs cache (the loop device copies the buffers measurably slower once they left it). With
  // checksums, reads run ahead as far as the pool goes, so that both checksum workers always have
  // a range to work on: SHA-256 is the slowest stage there.
  const depth = o.writeDepth ?? 2;
  const checksummed = !!o.bmap?.checksumType && o.bmap.ranges.some((r) => r.checksum);
  const headPool = borrowPool(HEAD_BYTES, 2);
  const pool = borrowPool(chunkSize, depth + (checksummed ? 4 : 2));
  const readAheadMax = checksummed ? pool.slots : 1;
  const [zeros, head] = [await headPool.acquire(), await headPool.acquire()];
  zeros.fill(0);
  head.fill(0);
  // The hasher's wasm instantiation overlaps with opening and blanking the targets.
  const hasherReady = o.verify ? createXXHash128() : null;
  hasherReady?.catch(() => undefined);

  // Reads run ahead of the writes (one at a time: the producer is sequential), up to readAheadMax
  // chunks and as far as the pool allows. The first chunk is read (and its checksum started) while
  // the targets are opened and blanked: reading the source touches no target.
  const producer = new ChunkProducer(o.source.reader, pool, o.bmap, sector);
  let stopReading = false;
  let tail: Promise<Chunk | null> = producer.next();
  tail.catch(() => undefined); // handled when awaited
  const ahead = [tail];
  const readAhead = () => {
    while (ahead.length < readAheadMax) {
      tail = tail.then((c) => (c && !stopReading ? producer.next() : null));
      tail.catch(() => undefined);
      ahead.push(tail);
    }
  };
  // A slot goes back to the pool once its write is done and the checksum worker has let go of it.
  const releases: Promise<void>[] = [];
  const releaseAfterHash = (c: Chunk) => {
    if (!c.hashed) return pool.release(c.buf);
    const release = () => pool.release(c.buf);
    releases.push(
      c.hashed.then(release, (e: unknown) => {
        release();
        throw e;
      }),
    );
  };
  /** Stops reading ahead and hands back the chunks read but not written (at most one read is still running). */
  const drainReads = async () => {
    stopReading = true;
    for (const p of ahead.splice(0)) {
      const c = await p.catch(() => null);
      if (c) releaseAfterHash(c);
    }
  };

  try {
    // 1. Open and blank the head and tail of every target (failures isolated per target).
    await Promise.all(
      runs.map(async (r) => {
        try {
          r.dev = await (o.openTarget ?? openDirect)(r.drive);
          const size = r.drive.size ?? 0;
          await r.dev.write(zeros, 0, Math.min(HEAD_BYTES, size), 0);
          r.state = 'blank-head';
          if (size >= 2 * HEAD_BYTES) await r.dev.write(zeros, 0, HEAD_BYTES, size - HEAD_BYTES);
          await r.dev.flush();
        } catch (e) {
          r.fail(e);
        }
      }),
    );

    // 2. Stream the image (except the first MiB) to every live target.
    const hasher = hasherReady ? await hasherReady : null;
    const hashOf = (b: Buffer) => {
      if (!hasher) return '';
      hasher.init();
      hasher.update(b);
      return hasher.digest('hex');
    };
    const segments: Segment[] = [];
    let headLen = 0;
    for (const r of live()) r.setPhase(compressed ? 'decompressing' : 'writing', planned);
    emit(); // phase changes are never held back by the ticker
    const inflight: Promise<void>[] = [];
    let lastFlush = performance.now();
    const flushEvery = o.flushIntervalMs ?? 2000;

    const writeChunk = async (c: Chunk) => {
      let from = 0;
      if (c.offset < HEAD_BYTES) {
        from = Math.min(HEAD_BYTES - c.offset, c.writeLength);
        c.buf.copy(head, c.offset, 0, from);
        headLen = Math.max(headLen, c.offset + from);
      }
      const len = c.writeLength - from;
      if (len > 0) {
        if (o.verify) segments.push({ offset: c.offset + from, length: len, hash: hashOf(c.buf.subarray(from, c.writeLength)) });
        await Promise.all(
          live().map(async (r) => {
            try {
              await r.dev.write(c.buf, from, len, c.offset + from);
              r.bytesWritten += len;
              r.meter.add(len);
            } catch (e) {
              r.fail(e);
              log('error', `${r.drive.device}: ${errorMessage(e)}`);
            }
          }),
        );
      }
      for (const r of live()) if (from > 0) r.meter.add(Math.min(from, c.length));
      // The write window does not wait for the checksum: the next writes go out while the workers
      // catch up, bounded by the pool.
      releaseAfterHash(c);
    };

    try {
      for (;;) {
        readAhead();
        const next = ahead.shift();
        if (!next) throw new NexusError('INTERNAL', 'The flash writer has no read pending (a bug in Nexus).');
        const c = await next;
        if (!c) break;
        if (signal.aborted) {
          releaseAfterHash(c);
          throw new CancelledError();
        }
        imageSize = Math.max(imageSize, c.offset + c.length);
        inflight.push(writeChunk(c));
        if (inflight.length >= depth) await inflight.shift();
        if (live().length === 0) break;
        if (performance.now() - lastFlush > flushEvery) {
          lastFlush = performance.now();
          await Promise.all(live().map((r) => r.dev.flush().catch((e) => r.fail(e))));
        }
      }
      await Promise.all(inflight);
      await drainReads();
      await Promise.all(releases);
      await producer.settle();
      if (signal.aborted) throw new CancelledError();
      if (live().length > 0) sourceSha256 = (await o.source.finish())?.sha256;
    } catch (e) {
      await Promise.allSettled(inflight);
      await drainReads();
      await Promise.allSettled(releases); // no slot goes back to the recycled pools while a worker reads it
      if (signal.aborted) for (const r of live()) r.fail(new CancelledError());
      else for (const r of live()) r.fail(e);
    }

    // 3. Flush and verify what was written.
    await Promise.all(live().map((r) => r.dev.flush().catch((e) => r.fail(e))));
    if (o.verify && live().length) {
      const total = segments.reduce((s, x) => s + x.length, 0);
      await Promise.all(
        live().map(async (r) => {
          r.setPhase('verifying', total + headLen);
          emit();
          try {
            const res = await verifySegments(r.dev, segments, { chunkSize, signal, onBytes: (n) => r.meter.add(n), refine: o.source.readAt });
            if (res.mismatchOffset !== undefined) {
              r.mismatchOffset = res.mismatchOffset;
              throw new NexusError(
                'VERIFY_MISMATCH',
                `${r.drive.device} differs from the image at byte ${res.mismatchOffset}.`,
                'The card may be fake or failing; try another card.',
              );
            }
          } catch (e) {
            r.fail(signal.aborted ? new CancelledError() : e);
          }
        }),
      );
    }

    // 4. Write the held-back first MiB, flush, verify it.
    if (signal.aborted) for (const r of live()) r.fail(new CancelledError());
    const headWrite = roundUp(headLen, sector);
    if (headWrite > headLen) head.fill(0, headLen, headWrite);
    const headHash = headWrite > 0 ? hashOf(head.subarray(0, headWrite)) : '';
    await Promise.all(
      live().map(async (r) => {
        r.phase = 'finishing';
        emit();
        try {
          if (headWrite > 0) {
            await r.dev.write(head, 0, headWrite, 0);
            await r.dev.flush();
            r.bytesWritten += headWrite;
            if (!o.verify) r.meter.add(headWrite);
            if (o.verify) {
              const res = await verifySegments(r.dev, [{ offset: 0, length: headWrite, hash: headHash }], {
                chunkSize,
                signal,
                onBytes: (n) => r.meter.add(n),
                refine: o.source.readAt,
              });
              if (res.mismatchOffset !== undefined) {
                r.mismatchOffset = res.mismatchOffset;
                throw new NexusError(
                  'VERIFY_MISMATCH',
                  `${r.drive.device} differs from the image at byte ${res.mismatchOffset}.`,
                  'The card may be fake or failing; try another card.',
                );
              }
            }
          }
          r.state = 'image';
          r.verified = o.verify;
          r.status = 'done';
          r.phase = 'done';
        } catch (e) {
          r.fail(e);
        }
      }),
    );
  } finally {
    stopReading = true;
    signal.removeEventListener('abort', onAbort);
    await o.source.close().catch(() => undefined);
    await Promise.all(runs.map((r) => r.dev?.close()));
    clearInterval(ticker);
    headPool.release(zeros);
    headPool.release(head);
    returnPool(headPool);
    returnPool(pool);
  }

  if (o.eject) {
    for (const r of runs.filter((x) => x.status === 'done')) {
      r.ejected = await ejectDrive(r.drive);
      if (!r.ejected) log('warn', `${r.drive.device} could not be ejected; remove it safely from your desktop.`);
    }
  }
  emit();
  const cancelled = signal.aborted;
  return {
    type: 'flash.result',
    ok: runs.every((r) => r.status === 'done'),
    cancelled,
    imageSize,
    durationMs: performance.now() - started,
    ...(sourceSha256 ? { sourceSha256 } : {}),
    targets: runs.map((r) => ({
      device: r.drive.device,
      status: r.status === 'active' ? 'failed' : r.status,
      state: r.state,
      bytesWritten: r.bytesWritten,
      verified: r.verified,
      ejected: r.ejected,
      ...(r.mismatchOffset !== undefined ? { mismatchOffset: r.mismatchOffset } : {}),
      ...(r.error ? { error: r.error.toInfo() } : {}),
    })),
  };
}
