/**
 * Reproducibility: the same plan, the same packages and the same SOURCE_DATE_EPOCH give a bit-identical image,
 * built twice from cold stage caches (so every filesystem tool really runs twice).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildFromTestFeed, planFor } from '../../support/image-build';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'nexus-it-repro-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

async function coldBuild(box: string, n: number) {
  // A fresh cache per build (packages come from the local test mirror, so this costs little).
  process.env.NEXUS_CACHE_DIR = join(dir, `cache-${box}-${n}`);
  const b = await buildFromTestFeed(await planFor(box, 'qemu-x86_64', join(dir, `${box}-${n}.img`)), { sourceDateEpoch: 1_700_000_000 });
  expect(b.reused).toEqual([]);
  return b.result;
}

describe('reproducible builds', () => {
  it.each(['tinybox', 'cryptobox'])(
    '%s: two cold builds are bit-identical',
    async (box) => {
      const a = await coldBuild(box, 1);
      const b = await coldBuild(box, 2);
      expect(b.sha256).toBe(a.sha256);
      expect(b.size).toBe(a.size);
    },
    150_000,
  );
});
