import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cachedStage, ENTRIES_PER_STAGE } from '../../../src-main/engine/image/cache';

const roots: string[] = [];
afterAll(() => Promise.all(roots.map((r) => rm(r, { recursive: true, force: true }))));

describe('stage cache', () => {
  it('builds once per key, reuses after, leaves nothing behind on failure and keeps a bounded number of entries', async () => {
    const store = await mkdtemp(join(tmpdir(), 'nexus-cache-test-'));
    roots.push(store);
    const root = join(store, 'image-stages');
    let runs = 0;
    const produce = async (d: string) => {
      runs++;
      await writeFile(join(d, 'out'), 'x');
    };
    const a = await cachedStage('s', { k: 1 }, produce, root);
    const b = await cachedStage('s', { k: 1 }, produce, root);
    expect([a.hit, b.hit, runs, a.dir === b.dir]).toEqual([false, true, 1, true]);
    await expect(
      cachedStage(
        's',
        { k: 2 },
        async () => {
          throw new Error('boom');
        },
        root,
      ),
    ).rejects.toThrow('boom');
    // The failed entry was built under the store's tmp/ (this run's lease) and removed; nothing half-made remains.
    expect(await readdir(join(store, 'tmp'))).toEqual([]);
    expect((await readdir(join(root, 's'))).filter((n) => n.startsWith('.'))).toEqual([]);
    for (let i = 3; i < 3 + ENTRIES_PER_STAGE + 2; i++) await cachedStage('s', { k: i }, produce, root);
    expect(await readdir(join(root, 's'))).toHaveLength(ENTRIES_PER_STAGE);
    expect(existsSync(join(root, 's'))).toBe(true);
  });
});
