/**
 * A file's data as EROFS LZ4 extents: each extent is one 4 KiB physical cluster holding either an LZ4 block that
 * decodes to more than 4 KiB (right-aligned after zeros: the 0PADDING feature) or, where LZ4 does not gain, 4 KiB of
 * raw data. The legacy full index then says, for every 4 KiB logical cluster of the file, whether an extent starts
 * in it (HEAD/PLAIN, with the offset and the physical block) or how far back its extent starts and how far ahead
 * the next one does (NONHEAD) — the layout mkfs.erofs writes with `-zlz4hc` and no big pclusters.
 */
import { BLOCK, BLOCK_BITS, ClusterType, encodeClusterIndex } from './format';
import { Lz4DestSize } from './lz4-dest-size';

/** Input per physical cluster at most (a run of zeros would otherwise make a ~1 MiB extent). */
const MAX_EXTENT = 256 * 1024;
/** The NONHEAD delta field's top bit means something else (big pclusters): distances stop below it. */
const MAX_D0 = (1 << 11) - 1;

export interface Extent {
  length: number;
  raw: boolean;
  /** The physical cluster (BLOCK bytes). */
  data: Buffer;
}

export interface CompressedFile {
  extents: Extent[];
  /** Index entries given the first physical block of the file's clusters. */
  indexes(firstBlock: number): Buffer;
  /** Bytes of the index entries. */
  indexBytes: number;
}

/** Splits `data` into extents, or undefined when compression saves no block over flat storage with an inline tail. */
export async function compressFile(data: Uint8Array, o: { attempts?: number; breathe?: () => Promise<void> } = {}): Promise<CompressedFile | undefined> {
  const flatBlocks = Math.floor(data.length / BLOCK);
  if (flatBlocks < 2) return undefined;
  const lz4 = new Lz4DestSize(data, BLOCK, o.attempts);
  const extents: Extent[] = [];
  for (let pos = 0; pos < data.length;) {
    if (o.breathe) await o.breathe(); // cheap: it yields only when the main thread has been busy for a while
    const { consumed, block } = lz4.compress(pos, Math.min(data.length, pos + MAX_EXTENT));
    const cluster = Buffer.alloc(BLOCK);
    if (consumed > BLOCK) {
      cluster.set(block, BLOCK - block.length);
      extents.push({ length: consumed, raw: false, data: cluster });
      pos += consumed;
    } else {
      const length = Math.min(BLOCK, data.length - pos);
      cluster.set(data.subarray(pos, pos + length));
      extents.push({ length, raw: true, data: cluster });
      pos += length;
    }
    if (extents.length >= flatBlocks) return undefined;
  }
  const lclusters = Math.ceil(data.length / BLOCK);
  return { extents, indexes: (first) => fullIndexes(extents, first), indexBytes: lclusters * 8 };
}

function fullIndexes(extents: Extent[], firstBlock: number): Buffer {
  const out: Buffer[] = [];
  let clusterOfs = 0;
  extents.forEach((e, i) => {
    const type = e.raw ? ClusterType.Plain : ClusterType.Head;
    const blk = firstBlock + i;
    let d1 = (clusterOfs + e.length) >> BLOCK_BITS;
    if (!d1) {
      // Only the last extent ends inside the logical cluster it starts in; no closing entry then.
      out.push(encodeClusterIndex(type, clusterOfs, blk));
      clusterOfs = 0;
      return;
    }
    let count = e.length;
    let ofs = clusterOfs;
    let d0 = 0;
    do {
      out.push(d0 ? encodeClusterIndex(ClusterType.NonHead, clusterOfs, [Math.min(d0, MAX_D0), d1]) : encodeClusterIndex(type, clusterOfs, blk));
      count -= BLOCK - ofs;
      ofs = 0;
      d0++;
      d1--;
    } while (count >= BLOCK);
    clusterOfs = count;
  });
  // The file ends inside a logical cluster its last extent started before: a closing entry marks the end.
  if (clusterOfs) out.push(encodeClusterIndex(ClusterType.Plain, clusterOfs, 0));
  return Buffer.concat(out);
}
