/**
 * Writes the disk image: partition table(s) and every partition's content at its offset, as a sparse file
 * (all-zero 4 KiB blocks become holes), computing the SHA-256 of the whole image on the way, then the block map
 * with a SHA-256 per mapped range.
 */
import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import { CancelledError } from '../../../src-shared/errors';
import { BMAP_BLOCK, coalesce, type BlockRange } from './bmap';
import type { MapPolicy } from './fs-extent';

export interface Region {
  offset: number;
  /** Host file with the content, or bytes. */
  source: string | Buffer;
  length: number;
  policy: MapPolicy;
}

export interface AssembleResult {
  sha256: string;
  ranges: Array<BlockRange & { sha256: string }>;
  mappedBytes: number;
}

const CHUNK = 4 << 20;

const ZERO = Buffer.alloc(BMAP_BLOCK);
const isZero = (b: Buffer) => b.equals(ZERO);

export async function assembleImage(
  path: string,
  size: number,
  regions: Region[],
  onBytes: (done: number, total: number) => void,
  signal?: AbortSignal,
): Promise<AssembleResult> {
  const total = regions.reduce((n, r) => n + r.length, 0);
  const ordered = [...regions].sort((a, b) => a.offset - b.offset);
  const mapped: BlockRange[] = [];
  // The whole-image hash is computed while writing (regions in disk order, zeros for the gaps), so the
  // finished file is read back only for the mapped ranges.
  const whole = createHash('sha256');
  const zeros = Buffer.alloc(CHUNK);
  let hashedTo = 0;
  const hashZerosTo = (end: number) => {
    while (hashedTo < end) {
      const n = Math.min(CHUNK, end - hashedTo);
      whole.update(zeros.subarray(0, n));
      hashedTo += n;
    }
  };
  const out = await open(path, 'w');
  const readBuf = Buffer.allocUnsafe(CHUNK);
  let done = 0;
  try {
    await out.truncate(size);
    for (const r of ordered) {
      if (r.offset < hashedTo) throw new Error('overlapping image regions');
      hashZerosTo(r.offset);
      const src = typeof r.source === 'string' ? await open(r.source, 'r') : null;
      try {
        const prefix = r.policy.kind === 'all' ? r.length : Math.min(r.length, r.policy.bytes);
        if (prefix > 0) mapped.push({ first: Math.floor(r.offset / BMAP_BLOCK), last: Math.floor((r.offset + prefix - 1) / BMAP_BLOCK) });
        for (let pos = 0; pos < r.length; pos += CHUNK) {
          if (signal?.aborted) throw new CancelledError();
          const n = Math.min(CHUNK, r.length - pos);
          let buf: Buffer;
          if (src) {
            // One buffer for every chunk (each write is awaited before the next read): no 4 MiB garbage per chunk.
            buf = readBuf.subarray(0, n);
            const { bytesRead } = await src.read(buf, 0, n, pos);
            if (bytesRead < n) buf.fill(0, bytesRead); // a file shorter than its region reads as zeros
          } else buf = (r.source as Buffer).subarray(pos, pos + n);
          whole.update(buf);
          // One write per run of non-zero blocks (not one per 4 KiB block); zero blocks stay holes.
          let run = -1;
          const flush = async (end: number) => {
            if (run < 0) return;
            const at = r.offset + pos + run;
            await out.write(buf, run, end - run, at);
            // Inside the mapped prefix this overlaps a range already there; coalesce() merges them.
            mapped.push({ first: Math.floor(at / BMAP_BLOCK), last: Math.floor((at + end - run - 1) / BMAP_BLOCK) });
            run = -1;
          };
          for (let b = 0; b < n; b += BMAP_BLOCK) {
            const blk = buf.subarray(b, Math.min(n, b + BMAP_BLOCK));
            const padded = blk.length === BMAP_BLOCK ? blk : Buffer.concat([blk, Buffer.alloc(BMAP_BLOCK - blk.length)]);
            if (!isZero(padded)) {
              if (run < 0) run = b;
            } else await flush(b);
          }
          await flush(n);
          done += n;
          onBytes(done, total);
        }
        hashedTo = r.offset + r.length;
      } finally {
        await src?.close();
      }
    }
    hashZerosTo(size);
    await out.sync();
  } finally {
    await out.close();
  }
  const ranges = coalesce(mapped).map((r) => ({ ...r, last: Math.min(r.last, Math.ceil(size / BMAP_BLOCK) - 1) }));
  const fh = await open(path, 'r');
  const withSums: AssembleResult['ranges'] = [];
  try {
    const buf = Buffer.alloc(CHUNK);
    for (const r of ranges) {
      const h = createHash('sha256');
      const end = Math.min(size, (r.last + 1) * BMAP_BLOCK);
      for (let pos = r.first * BMAP_BLOCK; pos < end; pos += CHUNK) {
        if (signal?.aborted) throw new CancelledError();
        const n = Math.min(CHUNK, end - pos);
        await fh.read(buf, 0, n, pos);
        h.update(buf.subarray(0, n));
      }
      withSums.push({ ...r, sha256: h.digest('hex') });
    }
  } finally {
    await fh.close();
  }
  const mappedBytes = withSums.reduce((n, r) => n + Math.min(size, (r.last + 1) * BMAP_BLOCK) - r.first * BMAP_BLOCK, 0);
  return { sha256: whole.digest('hex'), ranges: withSums, mappedBytes };
}
