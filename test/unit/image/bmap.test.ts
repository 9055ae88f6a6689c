import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { bmapXml, blocksOfRegions, coalesce, parseBmap } from '../../../src-main/engine/image/bmap';

describe('bmap writer', () => {
  it('coalesces adjacent and overlapping ranges', () => {
    expect(
      coalesce([
        { first: 5, last: 6 },
        { first: 0, last: 2 },
        { first: 3, last: 3 },
        { first: 6, last: 9 },
      ]),
    ).toEqual([
      { first: 0, last: 3 },
      { first: 5, last: 9 },
    ]);
    expect(
      blocksOfRegions([
        { offset: 0, length: 512 },
        { offset: 4096 * 3 - 1, length: 2 },
      ]),
    ).toEqual([
      { first: 0, last: 0 },
      { first: 2, last: 3 },
    ]);
  });

  it('writes a bmap 2.0 whose file checksum bmaptool can verify', () => {
    const xml = bmapXml({
      imageSize: 10 * 4096 + 100,
      ranges: [
        { first: 0, last: 1, sha256: 'a'.repeat(64) },
        { first: 10, last: 10, sha256: 'b'.repeat(64) },
      ],
    });
    expect(xml).toMatch(/<bmap version="2.0">/);
    expect(xml).toMatch(/<BlocksCount> 11 <\/BlocksCount>/);
    expect(xml).toMatch(/<MappedBlocksCount> 3 <\/MappedBlocksCount>/);
    expect(xml).not.toMatch(/<!--[^>]*--[^>]*-->/); // "--" inside a comment is invalid XML
    const sum = /<BmapFileChecksum> ([0-9a-f]{64}) <\/BmapFileChecksum>/.exec(xml)![1]!;
    expect(
      createHash('sha256')
        .update(xml.replace(sum, '0'.repeat(64)))
        .digest('hex'),
    ).toBe(sum);
    expect(parseBmap(xml).ranges).toEqual([
      { first: 0, last: 1, sha256: 'a'.repeat(64) },
      { first: 10, last: 10, sha256: 'b'.repeat(64) },
    ]);
  });
});
