/**
 * Cuts the source into aligned chunks: the whole image, or only the ranges a bmap maps (holes are
 * skipped in the source and never written). bmap range checksums are checked as the data passes.
 */
import { NexusError } from '../../../src-shared/errors';
import { roundUp, type AlignedPool } from './aligned';
import type { Bmap } from './bmap';
import type { ChunkReader } from './reader';

export interface Chunk {
  buf: Buffer;
  /** Image offset of buf[0]. */
  offset: number;
  /** Image bytes in the chunk, and the length to write (padded with zeros to the sector size). */
  length: number;
  writeLength: number;
  /** Resolves when the bmap checksum worker is done with buf (release it only after that). */
  hashed?: Promise<void>;
}

/** Range ids are unique per process: recycled pools share one hashing worker across runs. */
let rangeIdBase = 0;

export class ChunkProducer {
  private readonly idBase = (rangeIdBase += 1_000_000_000);
  private ri = 0;
  private pos = 0;
  private inRange = false;
  private checked: Array<Promise<void>> = [];
  private failure: unknown = null;

  constructor(
    private readonly reader: ChunkReader,
    private readonly pool: AlignedPool,
    private readonly bmap: Bmap | null,
    private readonly sector = 512,
  ) {}

  /** Total bytes that will be written, when known. */
  static plannedBytes(bmap: Bmap | null, size: number | null): number | null {
    return bmap ? bmap.mappedBytes : size;
  }

  /** Waits for every range checksum; throws BMAP_CHECKSUM_MISMATCH if one differed. */
  async settle(): Promise<void> {
    await Promise.all(this.checked);
    if (this.failure) throw this.failure;
  }

  async next(): Promise<Chunk | null> {
    if (this.failure) throw this.failure;
    const chunkSize = this.pool.slotSize;
    const bmap = this.bmap;
    if (!bmap) {
      const buf = await this.pool.acquire();
      const n = await this.read(buf, chunkSize);
      if (n === 0) {
        this.pool.release(buf);
        return null;
      }
      return this.emit(buf, n);
    }
    const r = bmap.ranges[this.ri];
    if (!r) {
      // Read past the last hole too: a decompressor left with unread output never exits, and its exit status
      // (and a download's checksum) is only known at the end of the stream.
      if (this.pos < bmap.imageSize) await this.reader.skip(bmap.imageSize - this.pos);
      this.pos = bmap.imageSize;
      return null;
    }
    const algo = r.checksum && bmap.checksumType;
    if (!this.inRange) {
      if (this.pos < r.start) await this.reader.skip(r.start - this.pos);
      this.pos = r.start;
      this.inRange = true;
    }
    const want = Math.min(chunkSize, r.end - this.pos);
    const buf = await this.pool.acquire();
    const n = await this.read(buf, want);
    if (n < want) {
      this.pool.release(buf);
      throw new NexusError(
        'SOURCE_TRUNCATED',
        `The image ends at byte ${this.pos + n} but its block map expects data up to ${r.end}.`,
        'The image and the .bmap file do not belong together, or the image is truncated.',
      );
    }
    // Checksums run in a worker over the shared pool memory; the verdict for a range arrives a
    // little later and fails the run before the held-back first MiB is written.
    const hashed = algo ? this.pool.hasher().update(this.idBase + this.ri, algo, buf, n) : undefined;
    if (this.pos + n === r.end) {
      if (algo) {
        const check = this.pool
          .hasher()
          .digest(this.idBase + this.ri)
          .then((hex) => {
            if (hex !== r.checksum) {
              throw new NexusError(
                'BMAP_CHECKSUM_MISMATCH',
                `The image bytes ${r.start}-${r.end - 1} do not match the block map's checksum.`,
                'The image is damaged or the .bmap belongs to another image; download both again.',
              );
            }
          })
          .catch((e) => {
            this.failure ??= e;
          });
        this.checked.push(check);
      }
      this.ri++;
      this.inRange = false;
    }
    const chunk = this.emit(buf, n);
    if (hashed) chunk.hashed = hashed;
    return chunk;
  }

  /** A failed read gives the slot back (the pool is recycled only when every slot is home). */
  private async read(buf: Buffer, len: number): Promise<number> {
    try {
      return await this.reader.readInto(buf, 0, len);
    } catch (e) {
      this.pool.release(buf);
      throw e;
    }
  }

  private emit(buf: Buffer, n: number): Chunk {
    const offset = this.pos;
    this.pos += n;
    const writeLength = roundUp(n, this.sector);
    if (writeLength > n) buf.fill(0, n, writeLength);
    return { buf, offset, length: n, writeLength };
  }
}
