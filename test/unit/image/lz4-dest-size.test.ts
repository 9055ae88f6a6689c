/**
 * The LZ4 "destSize" compressor behind the EROFS writer's clusters (image/erofs/lz4-dest-size.ts): whatever the
 * input, each block fits the output size, decodes (strict decoder: the end-of-block rules hold for the consumed
 * length) to exactly the bytes it says it consumed, and successive blocks cover the input. The kernel and
 * liblz4 (fsck.erofs) decode the same blocks in test/integration/image/erofs-writer.test.ts.
 */
import fc from 'fast-check';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { compressFile } from '../../../src-main/engine/image/erofs/compress';
import { Lz4DestSize, lz4Decode } from '../../../src-main/engine/image/erofs/lz4-dest-size';

/** Compresses all of `src` block by block; checks every block and returns the block count. */
function roundTrip(src: Uint8Array, cap: number, window = 1 << 18): number {
  const c = new Lz4DestSize(src, cap);
  let blocks = 0;
  for (let pos = 0; pos < src.length; blocks++) {
    const { consumed, block } = c.compress(pos, Math.min(src.length, pos + window));
    expect(block.length).toBeLessThanOrEqual(cap);
    expect(consumed).toBeGreaterThan(0);
    expect(Buffer.from(lz4Decode(block, consumed)).equals(Buffer.from(src.subarray(pos, pos + consumed)))).toBe(true);
    pos += consumed;
  }
  return blocks;
}

/** Text-like data with repeats at all distances: what a root's scripts and config files look like to LZ4. */
const wordy = fc
  .array(fc.constantFrom('the ', 'root ', '/usr/lib/', 'nexus', '\n', '#!/bin/sh\n', 'a', 'zz', '0123456789'), { maxLength: 4000 })
  .map((w) => Buffer.from(w.join('')));

describe('LZ4 destSize compression', () => {
  it('round-trips arbitrary bytes, text-like data and runs into 4 KiB blocks', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 20_000 }),
          wordy,
          fc.integer({ min: 0, max: 300_000 }).map((n) => new Uint8Array(n).fill(7)),
        ),
        (src) => {
          roundTrip(src, 4096);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('fills small outputs too (each block within its size, never a match in the last literals)', () => {
    fc.assert(
      fc.property(wordy, fc.integer({ min: 20, max: 600 }), (src, cap) => {
        roundTrip(src, cap);
      }),
      { numRuns: 60 },
    );
  });

  it('compresses a real binary (Debian bash) to about two thirds in 4 KiB clusters, as LZ4 HC does', () => {
    const bash = readFileSync('/usr/bin/bash');
    const blocks = roundTrip(bash, 4096);
    expect((blocks * 4096) / bash.length).toBeLessThan(0.8);
  });

  it("a file whose clusters save no block stays flat; a run of zeros does not exceed the cluster's decoded limit", async () => {
    const random = Buffer.concat(Array.from({ length: 1250 }, (_, i) => createHash('sha256').update(String(i)).digest()));
    expect(await compressFile(random)).toBeUndefined();
    const zeros = await compressFile(new Uint8Array(2 * 1024 * 1024));
    expect(zeros!.extents.length).toBe(8); // 256 KiB of input per cluster at most
    expect(zeros!.indexBytes).toBe(512 * 8); // one index entry per 4 KiB of file
  });
});
