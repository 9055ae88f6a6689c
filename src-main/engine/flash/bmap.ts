/**
 * Block maps in bmaptool's XML format (versions 1.x with sha1/"sha256" attributes and 2.x with
 * ChecksumType + chksum), which is also what our image builder writes.
 */
import { createHash } from 'node:crypto';
import { NexusError } from '../../../src-shared/errors';

export interface BmapRange {
  /** Byte range [start, end) in the image. */
  start: number;
  end: number;
  /** Hex digest of the range's bytes, or null when the bmap has none. */
  checksum: string | null;
}

export interface Bmap {
  version: string;
  imageSize: number;
  blockSize: number;
  mappedBytes: number;
  checksumType: 'sha256' | 'sha1' | null;
  ranges: BmapRange[];
}

/** A tag's text, trimmed. `[^<]*` then trim: a lazy match followed by `\\s*` was quadratic on long runs of spaces. */
function tag(xml: string, name: string): string | null {
  return new RegExp(`<${name}>([^<]*)</${name}>`).exec(xml)?.[1]?.trim() ?? null;
}

/** A decimal count as bmaptool writes it; anything else (1e3, 0x10, -1, beyond 2^53) is NaN. */
function count(text: string | null | undefined): number {
  if (text === null || text === undefined || !/^\d{1,16}$/.test(text)) return NaN;
  const n = Number(text);
  return Number.isSafeInteger(n) ? n : NaN;
}

function bad(message: string): NexusError {
  return new NexusError('BMAP_INVALID', `The block map is not valid: ${message}.`, 'Regenerate it with `bmaptool create` or rebuild the image.');
}

export function parseBmap(xml: string): Bmap {
  const version = /<bmap\s+version\s*=\s*"([^"]+)"/.exec(xml)?.[1];
  if (!version) throw bad('no <bmap version="..."> root');
  const imageSize = count(tag(xml, 'ImageSize'));
  const blockSize = count(tag(xml, 'BlockSize'));
  if (!(imageSize > 0)) throw bad('ImageSize is missing or not a positive whole number of bytes');
  if (!(blockSize > 0) || blockSize % 512 !== 0) throw bad('BlockSize must be a positive multiple of 512');
  // Every mapped block must lie inside the image: BlocksCount, when given, must agree with ImageSize.
  const blocks = Math.ceil(imageSize / blockSize);
  const declaredBlocks = tag(xml, 'BlocksCount');
  if (declaredBlocks !== null && count(declaredBlocks) !== blocks)
    throw bad(`BlocksCount "${declaredBlocks.slice(0, 24)}" does not match ImageSize ${imageSize} / BlockSize ${blockSize} (${blocks} blocks)`);
  const declared = (tag(xml, 'ChecksumType') ?? '').toLowerCase();
  const major = Number(version.split('.')[0]);
  const checksumType: Bmap['checksumType'] = declared === 'sha256' ? 'sha256' : declared === 'sha1' || (major < 2 && /sha1=/.test(xml)) ? 'sha1' : null;
  const ranges: BmapRange[] = [];
  const re = /<Range(\s[^>]*)?>\s*(\d+)(?:\s*-\s*(\d+))?\s*<\/Range>/g;
  for (const [, attrs = '', from = '', to] of xml.matchAll(re)) {
    const first = count(from);
    const last = to === undefined ? first : count(to);
    if (!(last >= first)) throw bad(`range ${from.slice(0, 24)}-${(to ?? from).slice(0, 24)} is out of bounds`);
    if (last >= blocks) throw bad(`range ${first}-${last} is out of bounds: the image ends at block ${blocks - 1}`);
    const checksum = /(?:chksum|sha256|sha1)\s*=\s*"([0-9a-fA-F]+)"/.exec(attrs)?.[1]?.toLowerCase() ?? null;
    ranges.push({ start: first * blockSize, end: Math.min((last + 1) * blockSize, imageSize), checksum });
  }
  ranges.sort((a, b) => a.start - b.start);
  let previousEnd = 0;
  for (const r of ranges) {
    if (r.start < previousEnd) throw bad('ranges overlap');
    previousEnd = r.end;
  }
  const mappedBytes = ranges.reduce((s, r) => s + (r.end - r.start), 0);
  return { version, imageSize, blockSize, mappedBytes, checksumType, ranges };
}

/**
 * Checks <BmapFileChecksum> (v1.4+/2.x): the digest of the file with that field's value replaced by zeros.
 * Returns false on mismatch, true when it matches or the bmap has no such field.
 */
export function bmapSelfChecksumOk(xml: string): boolean {
  const digest = /<BmapFileChecksum>\s*([0-9a-fA-F]+)\s*<\/BmapFileChecksum>/.exec(xml)?.[1];
  if (digest === undefined) return true;
  const zeroed = xml.replace(digest, '0'.repeat(digest.length));
  const algo = digest.length === 64 ? 'sha256' : 'sha1';
  return createHash(algo).update(zeroed).digest('hex') === digest.toLowerCase();
}
