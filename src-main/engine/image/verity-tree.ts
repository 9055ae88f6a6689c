/**
 * The dm-verity hash device written in-process, byte for byte what `veritysetup format` writes with the engine's
 * parameters (format 1, SHA-256, 4 KiB data and hash blocks, a salt, a superblock at offset 0): no host tool, so
 * images build where cryptsetup is not installed. Layout as in cryptsetup's lib/verity/verity_hash.c: the 512-byte
 * superblock padded to one hash block, then the tree's levels top (one block) first, down to the leaf level that
 * hashes the data; every digest is SHA-256(salt || block); each hash block holds 128 digests, zero-padded.
 */
import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';

export const VERITY_BLOCK = 4096;
const DIGEST = 32;
const PER_BLOCK = VERITY_BLOCK / DIGEST;
/** Data read per step: large enough to keep the disk busy, small enough to yield to the event loop often. */
const CHUNK = 1 << 20;

export interface VerityParams {
  /** Hex, at most 256 bytes. */
  salt: string;
  /** The hash device's UUID, as veritysetup's --uuid. */
  uuid: string;
}

export interface VerityResult {
  rootHash: string;
  salt: string;
  uuid: string;
}

function digest(salt: Buffer, block: Uint8Array): Buffer {
  return createHash('sha256').update(salt).update(block).digest();
}

/** One level up: the digests of `below` (whole hash blocks) packed 128 to a block, the last block zero-padded. */
function levelAbove(salt: Buffer, below: Buffer): Buffer {
  const blocks = below.length / VERITY_BLOCK;
  const out = Buffer.alloc(Math.ceil(blocks / PER_BLOCK) * VERITY_BLOCK);
  for (let i = 0; i < blocks; i++) digest(salt, below.subarray(i * VERITY_BLOCK, (i + 1) * VERITY_BLOCK)).copy(out, i * DIGEST);
  return out;
}

/** struct verity_sb (cryptsetup lib/verity/verity.c), little-endian, 512 bytes. */
export function veritySuperblock(dataBlocks: number, salt: Buffer, uuid: string): Buffer {
  const sb = Buffer.alloc(512);
  sb.write('verity', 0, 'latin1');
  sb.writeUInt32LE(1, 8); // superblock version
  sb.writeUInt32LE(1, 12); // hash type 1: salt first (0 is Chrome OS's)
  Buffer.from(uuid.replace(/-/g, ''), 'hex').copy(sb, 16);
  sb.write('sha256', 32, 'latin1');
  sb.writeUInt32LE(VERITY_BLOCK, 64);
  sb.writeUInt32LE(VERITY_BLOCK, 68);
  sb.writeBigUInt64LE(BigInt(dataBlocks), 72);
  sb.writeUInt16LE(salt.length, 80);
  salt.copy(sb, 88);
  return sb;
}

/**
 * Hashes the data file (a whole number of 4 KiB blocks) and writes the hash device to `hashPath`. Streams the data;
 * only the tree (1/128 of the data) is held in memory.
 */
export async function writeVerityTree(dataPath: string, hashPath: string, params: VerityParams, signal?: AbortSignal): Promise<VerityResult> {
  const salt = Buffer.from(params.salt, 'hex');
  if (salt.length > 256 || salt.toString('hex') !== params.salt.toLowerCase())
    throw new Error(`dm-verity salt must be hex of at most 256 bytes, got "${params.salt}"`);
  if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(params.uuid)) throw new Error(`dm-verity uuid is not a UUID: "${params.uuid}"`);
  const data = await open(dataPath, 'r');
  let leaves: Buffer;
  let dataBlocks: number;
  let single: Buffer | undefined;
  try {
    const size = (await data.stat()).size;
    if (size === 0 || size % VERITY_BLOCK) throw new Error(`dm-verity data must be a non-empty multiple of ${VERITY_BLOCK} bytes; ${dataPath} has ${size}`);
    dataBlocks = size / VERITY_BLOCK;
    leaves = Buffer.alloc(Math.ceil(dataBlocks / PER_BLOCK) * VERITY_BLOCK);
    const buf = Buffer.alloc(CHUNK);
    let block = 0;
    for (let pos = 0; pos < size;) {
      signal?.throwIfAborted();
      const { bytesRead } = await data.read(buf, 0, Math.min(CHUNK, size - pos), pos);
      if (bytesRead === 0 || bytesRead % VERITY_BLOCK) throw new Error(`short read of ${dataPath} at ${pos}`);
      for (let o = 0; o < bytesRead; o += VERITY_BLOCK, block++) digest(salt, buf.subarray(o, o + VERITY_BLOCK)).copy(leaves, block * DIGEST);
      pos += bytesRead;
    }
    if (dataBlocks === 1) single = leaves.subarray(0, DIGEST);
  } finally {
    await data.close();
  }
  // Levels from the leaves up until one block is left; a single data block has no tree, its digest is the root.
  const levels: Buffer[] = [];
  let top = leaves;
  if (!single) {
    levels.push(top);
    while (top.length > VERITY_BLOCK) {
      top = levelAbove(salt, top);
      levels.push(top);
    }
  }
  const rootHash = single ? single.toString('hex') : digest(salt, top).toString('hex');
  const out = await open(hashPath, 'w');
  try {
    await out.write(veritySuperblock(dataBlocks, salt, params.uuid), 0, 512, 0);
    let pos = VERITY_BLOCK;
    // The top level first, the leaves last.
    for (const level of levels.toReversed()) {
      await out.write(level, 0, level.length, pos);
      pos += level.length;
    }
    // The superblock's block is padded to a whole hash block even when there is no tree.
    await out.truncate(pos);
  } finally {
    await out.close();
  }
  return { rootHash, salt: params.salt, uuid: params.uuid };
}
