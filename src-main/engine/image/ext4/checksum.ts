/**
 * ext4's metadata checksums (metadata_csum): CRC-32C as the kernel computes it, crc32c(~0, …) without the final
 * inversion. Objects are seeded with the filesystem UUID (s_checksum_seed is not used), so every checksum is the
 * un-inverted CRC-32C of uuid ‖ object-specific prefix ‖ bytes. hash-wasm's CRC-32 takes the Castagnoli polynomial.
 */
import { createCRC32, type IHasher } from 'hash-wasm';

const CASTAGNOLI = 0x82f63b78;

export class Ext4Checksum {
  private constructor(
    private readonly hasher: IHasher,
    private readonly uuid: Uint8Array,
  ) {}

  static async create(uuid: Uint8Array): Promise<Ext4Checksum> {
    return new Ext4Checksum(await createCRC32(CASTAGNOLI), uuid);
  }

  /** crc32c(~0, parts) without the final xor: the superblock's checksum. */
  plain(...parts: Uint8Array[]): number {
    this.hasher.init();
    for (const p of parts) this.hasher.update(p);
    const d = this.hasher.digest('binary');
    return ~((d[0]! << 24) | (d[1]! << 16) | (d[2]! << 8) | d[3]!) >>> 0;
  }

  /** Seeded with the filesystem UUID (group descriptors, bitmaps). */
  seeded(...parts: Uint8Array[]): number {
    return this.plain(this.uuid, ...parts);
  }

  /** Seeded with the UUID, the inode number and its generation (inodes, directory blocks, extent blocks). */
  ofInode(ino: number, parts: Uint8Array[]): number {
    const p = Buffer.alloc(8);
    p.writeUInt32LE(ino, 0);
    p.writeUInt32LE(0, 4); // i_generation: always 0 here
    return this.plain(this.uuid, p, ...parts);
  }
}
