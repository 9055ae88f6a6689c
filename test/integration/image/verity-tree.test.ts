/**
 * The in-process dm-verity hash tree (verity-tree.ts) against cryptsetup's: on real EROFS images made by mkfs.erofs,
 * of sizes that fill the tree's levels exactly and sizes that do not (the last hash block of a level half full,
 * one more level than a power of 128), the hash device is byte-identical to `veritysetup format`'s with the same
 * salt and uuid, `veritysetup verify` accepts it, and one flipped data byte makes verify fail.
 */
import { execa } from 'execa';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, open, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { whichTool } from '../../../src-main/engine/host-tools';
import { verityFormat } from '../../../src-main/engine/image/tools/verity';
import { writeVerityTree } from '../../../src-main/engine/image/verity-tree';

const SALT = 'a3f1c2d4e5b6978812345678deadbeefcafe0123456789abcdef0011223344ff';
const UUID = '6f1c1a52-3d9e-4c1b-9f4e-2b7f4f0a9d11';
let dir: string;
const haveTools = !!(await whichTool('veritysetup')) && !!(await whichTool('mkfs.erofs'));

/** A real EROFS image of a tree with `files` files of `size` random bytes each, padded to 4 KiB as the engine does. */
async function erofsImage(name: string, files: number, size: number): Promise<string> {
  const tree = join(dir, `${name}-tree`);
  await mkdir(join(tree, 'usr/lib'), { recursive: true });
  for (let i = 0; i < files; i++) await writeFile(join(tree, 'usr/lib', `f${i}.so`), randomBytes(size));
  await writeFile(join(tree, 'os-release'), 'ID=nexus\n');
  const img = join(dir, `${name}.erofs`);
  await execa('mkfs.erofs', ['-T', '1700000000', img, tree]);
  const n = (await stat(img)).size;
  if (n % 4096) await writeFile(img, Buffer.alloc(4096 - (n % 4096)), { flag: 'a' });
  return img;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'nexus-verity-tree-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe.skipIf(!haveTools)('dm-verity hash tree written in-process', () => {
  // Data blocks: a few (one leaf block), past 128 (two leaf blocks, two levels), past 128² (three levels, last
  // blocks part full) and a mid size that is no multiple of anything.
  const cases: [string, number, number][] = [
    ['tiny', 3, 5000],
    ['two-leaves', 40, 15_000],
    ['three-levels', 70, 1_000_000],
    ['odd', 13, 777_777],
  ];
  for (const [name, files, size] of cases) {
    it(`${name}: byte-identical to veritysetup format, verify accepts ours`, async () => {
      const img = await erofsImage(name, files, size);
      const blocks = (await stat(img)).size / 4096;
      const ours = await writeVerityTree(img, join(dir, `${name}.ours`), { salt: SALT, uuid: UUID });
      const theirs = await verityFormat(img, join(dir, `${name}.theirs`), SALT, UUID);
      expect(ours.rootHash, `${blocks} data blocks`).toBe(theirs.rootHash);
      expect(
        (await readFile(join(dir, `${name}.ours`))).equals(await readFile(join(dir, `${name}.theirs`))),
        `${blocks} data blocks: hash devices differ`,
      ).toBe(true);
      await execa('veritysetup', ['verify', img, join(dir, `${name}.ours`), ours.rootHash]);
      const dump = await execa('veritysetup', ['dump', join(dir, `${name}.ours`)]);
      expect(dump.stdout).toMatch(new RegExp(`Data blocks:\\s+${blocks}\\b`));
      expect(dump.stdout).toMatch(new RegExp(`UUID:\\s+${UUID}`));
    }, 60_000);
  }

  it('a flipped byte in the data or in the tree makes veritysetup verify fail', async () => {
    const img = await erofsImage('flip', 20, 30_000);
    const hash = join(dir, 'flip.ours');
    const { rootHash } = await writeVerityTree(img, hash, { salt: SALT, uuid: UUID });
    await execa('veritysetup', ['verify', img, hash, rootHash]);
    const flip = async (path: string, at: number) => {
      const f = await open(path, 'r+');
      const b = Buffer.alloc(1);
      await f.read(b, 0, 1, at);
      b[0] = b[0]! ^ 0x01;
      await f.write(b, 0, 1, at);
      await f.close();
    };
    const dataAt = Math.floor((await stat(img)).size / 2) + 123;
    await flip(img, dataAt);
    const bad = await execa('veritysetup', ['verify', img, hash, rootHash], { reject: false });
    expect(bad.exitCode).not.toBe(0);
    expect(bad.stderr + bad.stdout).toMatch(/verification failed|corrupted/i);
    await flip(img, dataAt);
    await execa('veritysetup', ['verify', img, hash, rootHash]);
    await flip(hash, 4096 + 4096 + 40); // a leaf digest
    expect((await execa('veritysetup', ['verify', img, hash, rootHash], { reject: false })).exitCode).not.toBe(0);
  }, 60_000);

  it('refuses data that is not whole 4 KiB blocks, with the size in the message', async () => {
    await writeFile(join(dir, 'ragged'), Buffer.alloc(5000));
    await expect(writeVerityTree(join(dir, 'ragged'), join(dir, 'ragged.hash'), { salt: SALT, uuid: UUID })).rejects.toThrow(/multiple of 4096 bytes.*5000/);
  });
});
