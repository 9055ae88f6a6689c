/**
 * Cuts the source into aligned chunks: the whole image, or only the ranges a bmap maps (holes are
 * skipped in the source and never written). bmap range checksums are checked as the data passes.
 */
import { createHash, type Hash } from 'node:crypto';
import { NexusError } from '../../../src-shared/errors';
import { roundUp, type AlignedPool } from './aligned';
import type { Bmap, BmapRange } from './bmap';
import type { ChunkReader } from './reader';

export interface Chunk {
  buf: Buffer;
  /** Image offset of buf[0]. */
  offset: number;
  /** Image bytes in the chunk, and the length to write (padded with zeros to the sector size). */
  length: number;
  writeLength: number;
}

export class ChunkProducer {
  private ri = 0;
  private pos = 0;
  private rangeHash: Hash | null = null;
  private inRange = false;
  private readonly ranges: BmapRange[] | null;

  constructor(
    private readonly reader: ChunkReader,
    private readonly pool: AlignedPool,
    private readonly bmap: Bmap | null,
    private readonly sector = 512,
  ) {
    this.ranges = bmap ? bmap.ranges : null;
  }

  /** Total bytes that will be written, when known. */
  static plannedBytes(bmap: Bmap | null, size: number | null): number | null {
    return bmap ? bmap.mappedBytes : size;
  }

  async next(): Promise<Chunk | null> {
    const chunkSize = this.pool.slotSize;
    if (!this.ranges) {
      const buf = await this.pool.acquire();
      const n = await this.reader.readInto(buf, 0, chunkSize);
      if (n === 0) {
        this.pool.release(buf);
        return null;
      }
      return this.emit(buf, n);
    }
    const r = this.ranges[this.ri];
    if (!r) return null;
    if (!this.inRange) {
      if (this.pos < r.start) await this.reader.skip(r.start - this.pos);
      this.pos = r.start;
      this.inRange = true;
      this.rangeHash = r.checksum && this.bmap!.checksumType ? createHash(this.bmap!.checksumType) : null;
    }
    const want = Math.min(chunkSize, r.end - this.pos);
    const buf = await this.pool.acquire();
    const n = await this.reader.readInto(buf, 0, want);
    if (n < want) {
      this.pool.release(buf);
      throw new NexusError('SOURCE_TRUNCATED', `The image ends at byte ${this.pos + n} but its block map expects data up to ${r.end}.`, 'The image and the .bmap file do not belong together, or the image is truncated.');
    }
    this.rangeHash?.update(buf.subarray(0, n));
    if (this.pos + n === r.end) {
      if (this.rangeHash) {
        const got = this.rangeHash.digest('hex');
        if (got !== r.checksum) {
          this.pool.release(buf);
          throw new NexusError('BMAP_CHECKSUM_MISMATCH', `The image bytes ${r.start}-${r.end - 1} do not match the block map's checksum.`, 'The image is damaged or the .bmap belongs to another image; download both again.');
        }
      }
      this.ri++;
      this.inRange = false;
      this.rangeHash = null;
    }
    return this.emit(buf, n);
  }

  private emit(buf: Buffer, n: number): Chunk {
    const offset = this.pos;
    this.pos += n;
    const writeLength = roundUp(n, this.sector);
    if (writeLength > n) buf.fill(0, n, writeLength);
    return { buf, offset, length: n, writeLength };
  }
}
