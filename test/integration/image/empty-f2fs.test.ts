/**
 * The in-process empty F2FS (f2fs/empty-f2fs.ts) against f2fs-tools': for the smallest size mkfs.f2fs accepts, the
 * Boxes' sizes (cryptobox 256 MiB, dragonbox 2 GiB, linbox 4 GiB), sizes that are no multiple of a segment and a
 * 64 GiB card, the file is byte-identical to `mkfs.f2fs -r -T -U -l -R 0:0` plus setF2fsVersion, and `fsck.f2fs`
 * checks it clean (and finds a damaged root inode). blkid reads the label and UUID back. A size mkfs.f2fs refuses is refused by ours too, with a message that says why.
 */
import { execa } from 'execa';
import { mkdtemp, open, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { whichTool } from '../../../src-main/engine/host-tools';
import { emptyF2fsBlocks, f2fsLayout, writeEmptyF2fs } from '../../../src-main/engine/image/f2fs/empty-f2fs';
import { makeF2fs } from '../../../src-main/engine/image/tools/f2fs';
import { fsckF2fs } from '../../support/fsck-f2fs';

const MiB = 1048576;
const OPTS = { uuid: '6f1c1a52-3d9e-4c1b-9f4e-2b7f4f0a9d11', label: 'state', epoch: 1_700_000_000 };
let dir: string;
const haveTools = !!(await whichTool('mkfs.f2fs')) && !!(await whichTool('fsck.f2fs'));

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'nexus-empty-f2fs-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** The first differing byte of two files within `ranges` ([start, end) byte pairs), or null. */
async function firstDifference(a: string, b: string, ranges: Array<[number, number]>): Promise<number | null> {
  const [fa, fb] = [await open(a, 'r'), await open(b, 'r')];
  try {
    const [ba, bb] = [Buffer.alloc(4 * MiB), Buffer.alloc(4 * MiB)];
    for (const [start, end] of ranges) {
      for (let at = start; at < end; at += ba.length) {
        const n = Math.min(ba.length, end - at);
        await fa.read(ba, 0, n, at);
        await fb.read(bb, 0, n, at);
        if (!ba.subarray(0, n).equals(bb.subarray(0, n))) return at + ba.subarray(0, n).findIndex((x, k) => x !== bb[k]);
      }
    }
    return null;
  } finally {
    await fa.close();
    await fb.close();
  }
}

describe.skipIf(!haveTools)('empty F2FS written in-process', () => {
  const sizes: Array<[string, number]> = [
    ['52 MiB (the smallest mkfs.f2fs accepts)', 52 * MiB],
    ['cryptobox 256 MiB', 256 * MiB],
    ['300.5 MiB (half a segment over)', 300.5 * MiB],
    ['1000 MiB + 512 bytes', 1000 * MiB + 512],
    ['dragonbox 2 GiB', 2048 * MiB],
    ['linbox 4 GiB', 4096 * MiB],
  ];
  for (const [name, size] of sizes) {
    it(`${name}: byte-identical to mkfs.f2fs, fsck.f2fs clean`, async () => {
      const ours = join(dir, `ours-${size}.f2fs`);
      const theirs = join(dir, `theirs-${size}.f2fs`);
      await writeEmptyF2fs(ours, size, OPTS);
      await makeF2fs(theirs, size, OPTS);
      expect((await stat(ours)).size).toBe(size);
      expect((await stat(theirs)).size).toBe(size);
      // Reading gigabytes of holes would take minutes on a loaded machine, so: everything before the main area,
      // and the first block of each of the six open segments (where mkfs.f2fs writes the root inode and its
      // dentries). mkfs.f2fs writes nothing else: the blocks its file has allocated all lie in those ranges.
      const l = f2fsLayout(size);
      const ranges: Array<[number, number]> = [[0, l.mainBlkaddr * 4096]];
      for (const seg of l.curSeg) ranges.push([(l.mainBlkaddr + seg * 512) * 4096, (l.mainBlkaddr + seg * 512 + 1) * 4096]);
      expect((await stat(theirs)).blocks * 512, 'mkfs.f2fs wrote outside the compared ranges').toBeLessThanOrEqual(l.mainBlkaddr * 4096 + 6 * 4096);
      expect(await firstDifference(ours, theirs, ranges), `first differing byte of ${name}`).toBeNull();
      // And ours writes only the blocks it lists: the file is as sparse as the filesystem is empty.
      expect((await stat(ours)).blocks * 512).toBeLessThanOrEqual(emptyF2fsBlocks(size, OPTS).size * 4096);
      const fsck = await fsckF2fs(ours);
      expect(fsck.ok, fsck.output).toBe(true);
      expect(fsck.output).toMatch(/MKFS version\s+"nexus-imager"/);
      await rm(ours);
      await rm(theirs);
    });
  }

  it('fsck.f2fs notices a damaged root inode (the check can fail)', async () => {
    const img = join(dir, 'damaged.f2fs');
    await writeEmptyF2fs(img, 64 * MiB, OPTS);
    const l = f2fsLayout(64 * MiB);
    const fh = await open(img, 'r+');
    await fh.write(Buffer.from([0xa4, 0x81]), 0, 2, (l.mainBlkaddr + l.curSeg[3]! * 512) * 4096); // i_mode: a regular file
    await fh.close();
    const fsck = await fsckF2fs(img);
    expect(fsck.ok).toBe(false);
    expect(fsck.output).toMatch(/\[Fail\]/);
  });

  it('blkid reads back the label and UUID the plan asked for', async () => {
    const img = join(dir, 'label.f2fs');
    await writeEmptyF2fs(img, 64 * MiB, { ...OPTS, label: 'notebook' });
    const { stdout } = await execa('blkid', ['-p', '-o', 'export', img]);
    expect(stdout).toContain('TYPE=f2fs');
    expect(stdout).toContain('LABEL=notebook');
    expect(stdout).toContain(`UUID=${OPTS.uuid}`);
  });
});

describe('empty F2FS: bad input', () => {
  it('refuses a size too small for F2FS, as mkfs.f2fs does, and says the minimum', () => {
    expect(() => f2fsLayout(51 * MiB)).toThrow(/51 MiB state partition is too small .* at least 52 MiB/);
    expect(() => f2fsLayout(1000)).toThrow(/multiple of 512/);
  });
  it('refuses a malformed UUID and an out-of-range time', () => {
    expect(() => emptyF2fsBlocks(64 * MiB, { ...OPTS, uuid: 'not-a-uuid' })).toThrow(/invalid F2FS volume UUID/);
    expect(() => emptyF2fsBlocks(64 * MiB, { ...OPTS, epoch: -1 })).toThrow(/invalid F2FS timestamp/);
  });
});
