import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { bmapSelfChecksumOk, parseBmap } from '../../../src-main/engine/flash/bmap';

const v2 = (ranges: string, extra = '') => `<?xml version="1.0" ?>
<bmap version="2.0">
    <ImageSize> 1052672 </ImageSize>
    <BlockSize> 4096 </BlockSize>
    <BlocksCount> 257 </BlocksCount>
    <MappedBlocksCount> 11 </MappedBlocksCount>
    <ChecksumType> sha256 </ChecksumType>
    ${extra}
    <BlockMap>
${ranges}
    </BlockMap>
</bmap>`;
const h = 'a'.repeat(64);

describe('parseBmap', () => {
  it('reads a bmaptool 2.0 map: byte ranges, single blocks, last block clipped to the image size', () => {
    const b = parseBmap(v2(`        <Range chksum="${h}"> 0-9 </Range>\n        <Range chksum="${'b'.repeat(64)}"> 256 </Range>`));
    expect(b).toMatchObject({ version: '2.0', imageSize: 1052672, blockSize: 4096, checksumType: 'sha256' });
    expect(b.ranges).toEqual([
      { start: 0, end: 40960, checksum: h },
      { start: 1048576, end: 1052672, checksum: 'b'.repeat(64) },
    ]);
    expect(b.mappedBytes).toBe(40960 + 4096);
  });

  it('reads 1.x maps with sha1 attributes', () => {
    const xml = `<bmap version="1.3"><ImageSize>8192</ImageSize><BlockSize>4096</BlockSize><BlocksCount>2</BlocksCount><BlockMap><Range sha1="${'c'.repeat(40)}">1</Range></BlockMap></bmap>`;
    const b = parseBmap(xml);
    expect(b.checksumType).toBe('sha1');
    expect(b.ranges).toEqual([{ start: 4096, end: 8192, checksum: 'c'.repeat(40) }]);
  });

  it('accepts maps without checksums', () => {
    const xml = `<bmap version="2.0"><ImageSize>8192</ImageSize><BlockSize>4096</BlockSize><BlocksCount>2</BlocksCount><BlockMap><Range>0-1</Range></BlockMap></bmap>`;
    expect(parseBmap(xml).ranges[0]!.checksum).toBeNull();
  });

  it('refuses broken maps', () => {
    expect(() => parseBmap('<xml/>')).toThrow(/bmap version/);
    expect(() => parseBmap(v2('<Range>300-301</Range>'))).toThrow(/out of bounds/);
    expect(() => parseBmap(v2('<Range>0-5</Range><Range>5-6</Range>'))).toThrow(/overlap/);
    expect(() => parseBmap(v2('<Range>5-1</Range>'))).toThrow(/out of bounds/);
    expect(() => parseBmap(v2('').replace('4096', '1000'))).toThrow(/BlockSize/);
  });

  it('checks BmapFileChecksum', () => {
    const zero = '0'.repeat(64);
    const template = v2(`<Range chksum="${h}">0</Range>`, `<BmapFileChecksum> ${zero} </BmapFileChecksum>`);
    const sum = createHash('sha256').update(template).digest('hex');
    const good = template.replace(zero, sum);
    expect(bmapSelfChecksumOk(good)).toBe(true);
    expect(bmapSelfChecksumOk(good.replace('0-', '0-').replace(`"${h}"`, `"${'d'.repeat(64)}"`))).toBe(false);
    expect(bmapSelfChecksumOk(v2(''))).toBe(true);
  });
});
