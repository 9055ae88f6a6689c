// The size an image puts on a drive, known before the drive step: from each container's own record where it
// is exact (xz index, zstd frame header, zip central directory, a small gzip's ISIZE), else counted.
import { execa } from 'execa';
import { writeFile } from 'node:fs/promises';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { beforeAll, describe, expect, it } from 'vitest';
import { countImageSize, imageSize, recordedImageSize } from '../../../src-main/engine/flash/image-size';
import { statSync } from 'node:fs';
import { DEFLATE_MAX_RATIO } from '../../../src-main/engine/flash/source';
import { patternBytes } from '../../support/loop-devices';

const MiB = 1 << 20;
let dir: string;
const SIZE = 9 * MiB + 123;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'nexus-size-'));
  const raw = join(dir, 'disk.img');
  await writeFile(raw, Buffer.concat([patternBytes(3 * MiB, 4), Buffer.alloc(6 * MiB + 123)]));
  await execa('xz', ['-k', '-1', '-T1', raw]);
  await execa('zstd', ['-q', '-k', raw]);
  await execa('bzip2', ['-k', '-1', raw]);
  await execa('gzip', ['-k', '-1', raw]);
  await execa('zip', ['-q', '-j', join(dir, 'disk.zip'), raw]);
  // zstd from a pipe records no content size: then it must be counted.
  await execa('sh', ['-c', `cat '${raw}' | zstd -q -o '${join(dir, 'piped.img.zst')}'`]);
});

describe('image sizes before the drive step', () => {
  it('reads the exact size from xz, zstd and zip records and the raw file; bzip2 and a zstd stream are counted', async () => {
    expect(await recordedImageSize(join(dir, 'disk.img'))).toMatchObject({ size: SIZE, method: 'raw', exact: true });
    for (const f of ['disk.img.xz', 'disk.img.zst', 'disk.zip'])
      expect(await recordedImageSize(join(dir, f)), f).toMatchObject({ size: SIZE, method: 'index', exact: true });
    expect(await recordedImageSize(join(dir, 'disk.img.bz2'))).toMatchObject({ size: null, exact: false });
    expect(await recordedImageSize(join(dir, 'piped.img.zst'))).toMatchObject({ size: null });
    const seen: number[] = [];
    expect(await imageSize(join(dir, 'disk.img.bz2'), { onProgress: (read) => seen.push(read) })).toMatchObject({ size: SIZE, method: 'counted', exact: true });
    expect(await imageSize(join(dir, 'piped.img.zst'))).toMatchObject({ size: SIZE, method: 'counted', exact: true });
    expect(seen.at(-1)).toBeGreaterThan(0);
  });

  it("trusts a gzip ISIZE only below deflate's ratio bound: past it the size is counted (bounded)", async () => {
    // A small gzip file: its ISIZE is exact.
    expect((await recordedImageSize(join(dir, 'disk.img.gz'))).size).toBe(statSync(join(dir, 'disk.img.gz')).size * DEFLATE_MAX_RATIO < 2 ** 32 ? SIZE : null);
    // 1.5 GiB of zeros in twelve gzip members (~7 MB): the last ISIZE says 128 MiB, far from the truth.
    const big = join(dir, 'wrap.img.gz');
    const r = await execa(
      'sh',
      [
        '-c',
        `head -c ${128 * MiB} /dev/zero | gzip -1 > m.gz && for i in 1 2 3 4 5 6 7 8 9 10 11 12; do cat m.gz; done > '${big}' && rm m.gz && stat -c %s '${big}'`,
      ],
      { cwd: dir },
    );
    expect(Number(r.stdout) * DEFLATE_MAX_RATIO).toBeGreaterThan(2 ** 32);
    expect((await recordedImageSize(big)).size).toBeNull();
    // Counted (bounded here to keep the test short): past the limit the answer is "at least".
    const bounded = await countImageSize(big, { limit: 64 * MiB });
    expect(bounded.exact).toBe(false);
    expect(bounded.size).toBeGreaterThan(64 * MiB);
  }, 120_000);

  it("a damaged compressed file fails the count with the decompressor's verdict", async () => {
    const bad = join(dir, 'bad.img.gz');
    const good = gzipSync(patternBytes(MiB, 3));
    await writeFile(bad, good.subarray(0, good.length - 100));
    await expect(countImageSize(bad)).rejects.toMatchObject({ code: 'SOURCE_CORRUPT' });
  });
});
