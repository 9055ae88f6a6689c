/**
 * Property-based fuzzing of the block map reader (flash/bmap.ts: what `nexus flash` trusts to decide which bytes of a
 * drive to write) against maps from the image builder's writer (image/bmap.ts), real bmaptool 2.0 / 1.x layouts,
 * and hostile edits of them. A map is either parsed into ranges that lie inside the image, or refused with
 * BMAP_INVALID — never a TypeError, a negative length or a quadratic regex.
 */
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bmapSelfChecksumOk, parseBmap, type Bmap } from '../../../src-main/engine/flash/bmap';
import { BMAP_BLOCK, bmapXml, coalesce, parseBmap as parseWrittenBmap } from '../../../src-main/engine/image/bmap';
import { mutated, outcome, params, timeout } from './fuzz';

const CODES = ['BMAP_INVALID'];

/** What every accepted map must satisfy: sorted, disjoint, non-empty ranges inside the image. */
function checkSane(b: Bmap): void {
  expect(Number.isSafeInteger(b.imageSize) && b.imageSize > 0).toBe(true);
  let prevEnd = 0;
  for (const r of b.ranges) {
    expect(Number.isSafeInteger(r.start) && Number.isSafeInteger(r.end)).toBe(true);
    expect(r.start).toBeGreaterThanOrEqual(prevEnd);
    expect(r.end).toBeGreaterThan(r.start);
    expect(r.end).toBeLessThanOrEqual(b.imageSize);
    prevEnd = r.end;
  }
  expect(b.mappedBytes).toBeGreaterThanOrEqual(0);
  expect(b.mappedBytes).toBeLessThanOrEqual(b.imageSize);
}

const hex64 = fc.stringMatching(/^[0-9a-f]{64}$/);

/** An image size and a set of block ranges inside it, as the builder produces them. */
const builderMap = fc.integer({ min: 1, max: 64 * 1024 * 1024 }).chain((imageSize) => {
  const blocks = Math.ceil(imageSize / BMAP_BLOCK);
  const range = fc
    .tuple(fc.nat({ max: blocks - 1 }), fc.nat({ max: 64 }), hex64)
    .map(([first, len, sha256]) => ({ first, last: Math.min(blocks - 1, first + len), sha256 }));
  return fc.record({ imageSize: fc.constant(imageSize), ranges: fc.array(range, { maxLength: 20 }) }).map(({ imageSize, ranges }) => {
    const merged = coalesce(ranges);
    return { imageSize, ranges: merged.map((r) => ({ ...r, sha256: ranges.find((x) => x.first >= r.first)?.sha256 ?? 'a'.repeat(64) })) };
  });
});

describe('fuzz: bmap reader', () => {
  it(
    'reads back exactly what the image builder writes, and the file checksum verifies',
    () => {
      fc.assert(
        fc.property(builderMap, (input) => {
          const xml = bmapXml(input);
          const b = parseBmap(xml);
          checkSane(b);
          expect(bmapSelfChecksumOk(xml)).toBe(true);
          expect(b.ranges).toEqual(
            input.ranges.map((r) => ({ start: r.first * BMAP_BLOCK, end: Math.min((r.last + 1) * BMAP_BLOCK, input.imageSize), checksum: r.sha256 })),
          );
          expect(parseWrittenBmap(xml)).toEqual(input);
        }),
        params(300),
      );
    },
    timeout,
  );

  it(
    'hostile edits of a real map: parsed into ranges inside the image, or BMAP_INVALID',
    () => {
      const base = Buffer.from(
        bmapXml({
          imageSize: 10 * 4096 + 100,
          ranges: [
            { first: 0, last: 1, sha256: 'a'.repeat(64) },
            { first: 5, last: 7, sha256: 'c'.repeat(64) },
            { first: 10, last: 10, sha256: 'b'.repeat(64) },
          ],
        }),
      );
      fc.assert(
        fc.property(mutated(base, 6), (bytes) => {
          const xml = bytes.toString('latin1');
          const b = outcome(() => parseBmap(xml), CODES);
          if (b) checkSane(b);
          expect(typeof bmapSelfChecksumOk(xml)).toBe('boolean');
        }),
        params(400),
      );
    },
    timeout,
  );

  /** Numbers a crafted map can carry: huge, negative-looking, beyond the image, beyond 2^53. */
  const number = fc.oneof(
    fc.nat({ max: 4096 }),
    fc.constantFrom('0', '1', '511', '512', '4096', '4294967296', '9007199254740993', '99999999999999999999', '-1', '1e3', '0x10', ' 7 ', ''),
    fc.bigInt({ min: 0n, max: 10n ** 30n }).map(String),
  );
  const craftedMap = fc
    .record({
      version: fc.constantFrom('1.2', '1.4', '2.0', '9', ''),
      imageSize: number,
      blockSize: number,
      blocksCount: fc.option(number),
      checksumType: fc.constantFrom('sha256', 'sha1', 'md5', ''),
      ranges: fc.array(fc.tuple(number, fc.option(number), fc.constantFrom('chksum', 'sha1', 'sha256', 'foo'), fc.option(hex64)), { maxLength: 8 }),
    })
    .map((m) =>
      [
        `<?xml version="1.0" ?>\n<bmap version="${m.version}">`,
        `<ImageSize> ${m.imageSize} </ImageSize>`,
        `<BlockSize> ${m.blockSize} </BlockSize>`,
        ...(m.blocksCount === null ? [] : [`<BlocksCount> ${m.blocksCount} </BlocksCount>`]),
        `<ChecksumType> ${m.checksumType} </ChecksumType>`,
        '<BlockMap>',
        ...m.ranges.map(([a, b, attr, sum]) => `<Range${sum ? ` ${attr}="${sum}"` : ''}> ${a}${b === null ? '' : `-${b}`} </Range>`),
        '</BlockMap>',
        '</bmap>',
      ].join('\n'),
    );

  it(
    'crafted maps (sizes beyond the image or 2^53, ranges past the end, no BlocksCount): sane ranges or BMAP_INVALID',
    () => {
      fc.assert(
        fc.property(craftedMap, (xml) => {
          const b = outcome(() => parseBmap(xml), CODES);
          if (b) checkSane(b);
        }),
        params(600),
      );
    },
    timeout,
  );

  it(
    'random text never crashes the reader',
    () => {
      fc.assert(
        fc.property(fc.string({ maxLength: 400 }), (xml) => {
          const b = outcome(() => parseBmap(xml), CODES);
          if (b) checkSane(b);
          bmapSelfChecksumOk(xml);
        }),
        params(300),
      );
    },
    timeout,
  );

  it('regressions found by the fuzzer', () => {
    const head = (extra: string) => `<bmap version="2.0"><ImageSize> 8192 </ImageSize><BlockSize> 4096 </BlockSize>${extra}`;
    // A range past the end of the image without BlocksCount gave start > end (a negative length).
    expect(() => parseBmap(head('<Range> 5 </Range>'))).toThrow(
      expect.objectContaining({ code: 'BMAP_INVALID', message: expect.stringMatching(/out of bounds: the image ends at block 1/) }),
    );
    expect(parseBmap(head('<Range> 0-1 </Range>')).ranges).toEqual([{ start: 0, end: 8192, checksum: null }]);
    // "1e3" was read as 1000 bytes, and a BlocksCount far beyond ImageSize let ranges start past the end (start > end).
    expect(() => parseBmap(head('').replace('8192', '1e3'))).toThrow(expect.objectContaining({ code: 'BMAP_INVALID' }));
    expect(() => parseBmap(head('<BlocksCount> 100 </BlocksCount><Range> 50 </Range>'))).toThrow(
      expect.objectContaining({ code: 'BMAP_INVALID', message: expect.stringMatching(/BlocksCount/) }),
    );
    // Block numbers beyond 2^53 lost their value.
    expect(() => parseBmap(head('<BlocksCount> 99999999999999999999 </BlocksCount><Range> 1-99999999999999999999 </Range>'))).toThrow(
      expect.objectContaining({ code: 'BMAP_INVALID' }),
    );
    // A tag's value with a long run of spaces and no closing tag was matched in quadratic time (a megabyte hung it).
    const started = process.hrtime.bigint();
    expect(() => parseBmap(`<bmap version="2.0"><ImageSize>${' '.repeat(200_000)}`)).toThrow(expect.objectContaining({ code: 'BMAP_INVALID' }));
    expect(Number(process.hrtime.bigint() - started) / 1e9).toBeLessThan(5); // not a speed target: a hang guard (was minutes)
    // The builder-side reader (tests, vm checks) fails with a typed error too.
    expect(() => parseWrittenBmap('<bmap/>')).toThrow(expect.objectContaining({ code: 'BMAP_INVALID' }));
    expect(bmapSelfChecksumOk(`<BmapFileChecksum> ${createHash('sha256').update('x').digest('hex')} </BmapFileChecksum>`)).toBe(false);
  });
});
