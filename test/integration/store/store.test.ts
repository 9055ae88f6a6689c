/**
 * The one store (issue 15.4 + the issue-13 cache items): `cache clean` covers feeds, official releases, image stages
 * and blobs but never a running build's scratch files (a real second process holds them) or a download in progress; `cache info` counts it
 * all; a full disk while caching gives an actionable error (a real 1 MiB tmpfs); `cache import` refuses an oversized
 * index by its tar header before reading it.
 */
import { execa, type ResultPromise } from 'execa';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tar from 'tar-stream';
import { createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FeedCache } from '../../../src-main/engine/feeds/cache';
import { importCache } from '../../../src-main/engine/feeds/bundle';
import { withLimits } from '../../../src-main/engine/feeds/limits';
import { download } from '../../../src-main/engine/net/download';
import { cachedStage } from '../../../src-main/engine/image/cache';
import { OfficialStore } from '../../../src-main/engine/official/store';
import { cacheInfo, cleanCache } from '../../../src-main/engine/store/maintenance';
import { ContentStore } from '../../../src-main/engine/store/content-store';
import { appRoot } from '../../../src-main/engine/paths';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'nexus-it-store-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

/** A second process that takes scratch space in the store the way a build does, then waits (its pid is the lease). */
async function holdScratch(root: string): Promise<{ proc: ResultPromise; file: string; folder: string }> {
  const script = `
    import { writeFile } from 'node:fs/promises';
    import { join } from 'node:path';
    import { ContentStore } from ${JSON.stringify(join(appRoot(), 'src-main/engine/store/content-store.ts'))};
    const store = new ContentStore(process.argv[1]);
    const file = await store.tempPath('.blob');
    await writeFile(file, 'half-written blob');
    const folder = await store.tempDir('stage-0123abcd');
    await writeFile(join(folder, 'rootfs.erofs'), 'half-built stage');
    console.log(JSON.stringify({ file, folder }));
    process.stdin.resume();
    process.stdin.on('end', () => process.exit(0));
  `;
  const proc = execa(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script, root], {
    cwd: appRoot(),
    reject: false,
    stdin: 'pipe',
    buffer: false,
  });
  const line = await new Promise<string>((resolve, reject) => {
    let out = '';
    proc.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      if (out.includes('\n')) resolve(out.split('\n')[0]!);
    });
    proc.then((r) => reject(new Error(`the helper process ended early: ${String(r.stderr)}`)), reject);
  });
  return { proc, ...(JSON.parse(line) as { file: string; folder: string }) };
}

describe('one store', () => {
  it("cache info counts everything and cache clean removes it all except a running build's scratch files", async () => {
    const root = join(dir, 'clean');
    const feeds = new FeedCache(root);
    const official = new OfficialStore(root);
    // Feeds: an index with its ref, a package, an interrupted download, an extracted file.
    await feeds.putIndex(
      {
        id: 'test/v3.24/main/x86_64',
        source: 'https://mirror.invalid',
        base: 'https://mirror.invalid/v3.24/main',
        fetchedAt: '2026-01-01T00:00:00Z',
        signer: 'k.rsa.pub',
        description: 'v3.24.0',
      },
      Buffer.from('index'),
    );
    await mkdir(join(root, 'apk', 'packages'), { recursive: true });
    await writeFile(feeds.packagePath('Q1' + Buffer.alloc(20, 1).toString('base64')), 'apk');
    await mkdir(join(root, 'apk', 'partial'), { recursive: true });
    await writeFile(feeds.partialPath('Q1' + Buffer.alloc(20, 2).toString('base64')), 'half');
    await feeds.putBytes(Buffer.from('an extracted file'));
    // Official: a verified checksum list blob and its ref, an interrupted image download.
    const list = await official.putBytes(Buffer.from('SHA256 (install.img) = ...'));
    await official.putRef({
      os: 'openbsd',
      version: '7.8',
      arch: 'arm64',
      checksumFileSha256: list,
      keynum: null,
      source: 'https://cdn.invalid',
      fetchedAt: '2026-01-01T00:00:00Z',
    });
    const imageSha = createHash('sha256').update('img').digest('hex');
    await mkdir(join(root, 'official', 'partial'), { recursive: true });
    await writeFile(official.partialPath(imageSha), 'partial image');
    // Image stages: one finished entry.
    await cachedStage('kernel', { k: 1 }, (d) => writeFile(join(d, 'vmlinuz'), 'kernel'), new ContentStore(root).stagesRoot());
    // A dead process's leftovers and a live one's scratch files.
    await writeFile(join(root, 'tmp', 'run-999999999-deadbeef-0123.blob'), 'left by a crash');
    const live = await holdScratch(root);
    // A download in progress (written just now) and an interrupted one from yesterday.
    const downloading = feeds.partialPath('Q1' + Buffer.alloc(20, 3).toString('base64'));
    await writeFile(downloading, 'being written');
    const yesterday = (Date.now() - 86_400_000) / 1000;
    await utimes(official.partialPath(imageSha), yesterday, yesterday);
    await utimes(feeds.partialPath('Q1' + Buffer.alloc(20, 2).toString('base64')), yesterday, yesterday);
    try {
      const info = await cacheInfo(root);
      expect(info.indexes.map((i) => i.id)).toEqual(['test/v3.24/main/x86_64']);
      expect(info.releases).toEqual([expect.objectContaining({ os: 'openbsd', version: '7.8', arch: 'arm64' })]);
      expect(info.packages.count).toBe(1);
      expect(info.partial.count).toBe(3);
      expect(info.blobs.count).toBe(2);
      expect(info.imageStages.count).toBe(2); // vmlinuz + .done
      expect(info.temp.runs).toContain(live.proc.pid);
      expect(info.total.bytes).toBeGreaterThan(0);

      const r = await cleanCache(root);
      expect(r.keptRuns).toEqual([live.proc.pid]);
      for (const d of ['blobs', 'image-stages', 'apk/packages', 'apk/indexes', 'apk/refs', 'official/refs']) expect(existsSync(join(root, d))).toBe(false);
      // While another Nexus process runs, its download in progress stays; the interrupted ones go.
      expect(await readdir(join(root, 'apk', 'partial'))).toEqual([downloading.split('/').at(-1)]);
      expect(await readdir(join(root, 'official', 'partial'))).toEqual([]);
      expect(existsSync(live.file)).toBe(true);
      expect(existsSync(join(live.folder, 'rootfs.erofs'))).toBe(true);
      expect(existsSync(join(root, 'tmp', 'run-999999999-deadbeef-0123.blob'))).toBe(false);
      // Nothing dangling: no release is listed without its checksum list.
      const after = await cacheInfo(root);
      expect([after.indexes, after.releases, after.packages.count, after.blobs.count, after.imageStages.count]).toEqual([[], [], 0, 0, 0]);
    } finally {
      live.proc.stdin?.end();
      await live.proc;
    }
    // With no other Nexus process running, clean takes the rest.
    await cleanCache(root);
    for (const d of ['apk', 'official']) expect(existsSync(join(root, d))).toBe(false);
    // The holder removed its own scratch files when it exited.
    expect(await readdir(join(root, 'tmp'))).toEqual([]);
  });

  it('a full disk while caching says what to do (a real 1 MiB tmpfs)', async (ctx) => {
    const mnt = join(dir, 'tiny');
    await mkdir(mnt, { recursive: true });
    const mounted = await execa('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', mnt], { reject: false });
    if (mounted.exitCode !== 0) return ctx.skip(`cannot mount a tmpfs here: ${mounted.stderr}`);
    try {
      const store = new ContentStore(join(mnt, 'cache'));
      const big = Buffer.alloc(2 * 1024 * 1024, 7);
      const err = await store.putBytes(big).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'DISK_FULL' });
      expect(String((err as { hint?: string }).hint)).toMatch(/NEXUS_CACHE_DIR/);
      expect(String((err as Error).message)).toContain(join(mnt, 'cache'));
      // Nothing half-written stays behind.
      expect(await readdir(join(mnt, 'cache', 'tmp'))).toEqual([]);

      // The downloader (here from a local mirror) fails the same way instead of retrying a full disk.
      const src = join(dir, 'big.bin');
      await writeFile(src, big);
      const dl = await download(src, join(mnt, 'cache', 'big.part'), { retries: 3, backoffMs: 1 }).catch((e: unknown) => e);
      expect(dl).toMatchObject({ code: 'DISK_FULL' });
    } finally {
      await execa('umount', [mnt], { reject: false });
    }
  });

  it('cache import refuses an index larger than a real one by its tar header, before reading it', async () => {
    const file = join(dir, 'hostile-export.tar');
    const pack = tar.pack();
    const writing = pipeline(pack, createWriteStream(file));
    pack.entry({ name: 'nexus-cache.json' }, JSON.stringify({ format: 'nexus-cache-export', version: 1, created: '', refs: [], packages: [], keys: [] }));
    pack.entry({ name: `apk/indexes/${'a'.repeat(64)}.tar.gz` }, Buffer.alloc(64 * 1024, 1));
    pack.finalize();
    await writing;
    const cache = new FeedCache(join(dir, 'import'));
    const err = await withLimits({ indexCompressed: 16 * 1024 }, () => importCache(file, new Map(), { cache }).catch((e: unknown) => e));
    expect(err).toMatchObject({ code: 'SIZE_LIMIT' });
    expect(String((err as Error).message)).toMatch(/apk\/indexes\/a+\.tar\.gz in hostile-export\.tar is 64.0 KiB, more than the 16.0 KiB/);
    expect(await readdir(join(cache.root, 'tmp'))).toEqual([]);
  });
});
