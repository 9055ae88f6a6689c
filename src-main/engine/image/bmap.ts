/**
 * Block maps (bmaptool format 2.0): which 4 KiB blocks of an image carry data, with a SHA-256 per range, so
 * `bmaptool copy` writes only those. A block is mapped when it is not all zeros, or when it lies in a region
 * that must read back as zeros even on a used card (partition tables, FAT tables, F2FS metadata): such regions
 * are passed in as `alwaysMapped`.
 */
import { createHash } from 'node:crypto';
import { NexusError } from '../../../src-shared/errors';

export const BMAP_BLOCK = 4096;

export interface BlockRange {
  first: number;
  last: number;
}

/** Merges byte regions into block ranges (sorted, coalesced). */
export function blocksOfRegions(regions: Array<{ offset: number; length: number }>): BlockRange[] {
  const ranges = regions
    .filter((r) => r.length > 0)
    .map((r) => ({ first: Math.floor(r.offset / BMAP_BLOCK), last: Math.floor((r.offset + r.length - 1) / BMAP_BLOCK) }));
  return coalesce(ranges);
}

export function coalesce(ranges: BlockRange[]): BlockRange[] {
  const sorted = [...ranges].sort((a, b) => a.first - b.first);
  const out: BlockRange[] = [];
  for (const r of sorted) {
    const last = out.at(-1);
    if (last && r.first <= last.last + 1) last.last = Math.max(last.last, r.last);
    else out.push({ ...r });
  }
  return out;
}

export interface BmapInput {
  imageSize: number;
  ranges: Array<BlockRange & { sha256: string }>;
}

/** Writes the XML; the file checksum is computed over the text with the checksum field zeroed, as bmaptool does. */
export function bmapXml(input: BmapInput): string {
  const blocks = Math.ceil(input.imageSize / BMAP_BLOCK);
  const mapped = input.ranges.reduce((n, r) => n + r.last - r.first + 1, 0);
  const render = (fileChecksum: string) =>
    [
      '<?xml version="1.0" ?>',
      '<!-- Block map of a Nexus image, for bmaptool copy -->',
      '<bmap version="2.0">',
      `    <ImageSize> ${input.imageSize} </ImageSize>`,
      `    <BlockSize> ${BMAP_BLOCK} </BlockSize>`,
      `    <BlocksCount> ${blocks} </BlocksCount>`,
      `    <MappedBlocksCount> ${mapped} </MappedBlocksCount>`,
      '    <ChecksumType> sha256 </ChecksumType>',
      `    <BmapFileChecksum> ${fileChecksum} </BmapFileChecksum>`,
      '    <BlockMap>',
      ...input.ranges.map((r) => `        <Range chksum="${r.sha256}"> ${r.first === r.last ? r.first : `${r.first}-${r.last}`} </Range>`),
      '    </BlockMap>',
      '</bmap>',
      '',
    ].join('\n');
  const zero = '0'.repeat(64);
  const sum = createHash('sha256').update(render(zero)).digest('hex');
  return render(sum);
}

/** Parses a bmap (tests and `nexus vm`-side checks). */
export function parseBmap(xml: string): { imageSize: number; ranges: Array<BlockRange & { sha256: string }> } {
  const size = /<ImageSize>\s*(\d+)\s*<\/ImageSize>/.exec(xml);
  if (!size) throw new NexusError('BMAP_INVALID', 'The block map has no <ImageSize>.', 'Rebuild the image: the builder writes its .bmap next to it.');
  const ranges = [...xml.matchAll(/<Range chksum="([0-9a-f]+)">\s*(\d+)(?:-(\d+))?\s*<\/Range>/g)].map((m) => ({
    sha256: m[1]!,
    first: Number(m[2]),
    last: Number(m[3] ?? m[2]),
  }));
  return { imageSize: Number(size[1]), ranges };
}
