/**
 * The offline kit engine on the real test feed over loopback HTTP: plan (sizes, stick), prepare (exactly the needed
 * indexes and packages, FILE.sha256), import into an empty cache with the mirror gone (what it can build), and the
 * refusals: a kit damaged in transit (checksum file disagrees) imports nothing; a build with no mirror answering
 * fails with MIRROR_UNREACHABLE (the app's cue to offer the kit), and the empty cache says it cannot build.
 */
import { createHash } from 'node:crypto';
import { copyFile, mkdtemp, open, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCatalog } from '../../../src-main/engine/catalog/load';
import { FeedCache } from '../../../src-main/engine/feeds/cache';
import { buildableOffline, importKit, planKit, prepareKit } from '../../../src-main/engine/offline-kit/index';
import type { Catalog } from '../../../src-shared/catalog';
import type { KitChoice, KitPrepared } from '../../../src-shared/offline-kit';
import { debianTestFeed, type TestFeed } from '../../support/debian-test-feed';
import { serveDirectory, type TestHttpServer } from '../../support/http-server';

const CHOICE: KitChoice = { profile: 'tinybox', target: 'qemu-x86_64', fragments: [] };

describe('offline kit (engine)', () => {
  let dir: string;
  let feed: TestFeed;
  let mirror: TestHttpServer;
  let catalog: Catalog;
  let kit: KitPrepared;
  /** A URL where nothing listens (the mirror's port after it was closed). */
  let deadMirror: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'nexus-kit-'));
    feed = await debianTestFeed('x86_64');
    mirror = await serveDirectory(feed.mirror);
    catalog = await loadCatalog();
    const dead = await serveDirectory(feed.mirror);
    deadMirror = dead.url;
    await dead.close();
  }, 600_000);
  afterAll(async () => {
    await mirror?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('plans and prepares a kit with exactly what the choice needs, and its checksum file', async () => {
    const cache = new FeedCache(join(dir, 'online'));
    const plan = await planKit(catalog, [CHOICE], { mirror: mirror.url, keysDir: feed.keysDir, cache });
    expect(plan.choices[0]).toMatchObject({ label: 'tinybox on qemu-x86_64', supported: true, packages: 7 });
    expect(plan.choices[0]!.stick).toMatch(/MB|GB/);
    expect(plan.indexes).toEqual(expect.arrayContaining([expect.stringMatching(/\/main\/x86_64$/), expect.stringMatching(/\/community\/x86_64$/)]));
    const phases = new Set<string>();
    kit = await prepareKit(catalog, [CHOICE], join(dir, 'kit.tar'), {
      mirror: mirror.url,
      keysDir: feed.keysDir,
      cache,
      apkKeysDir: feed.keysDir,
      onProgress: (p) => phases.add(p.phase),
    });
    expect([...phases]).toEqual(expect.arrayContaining(['resolve', 'download', 'write', 'checksum']));
    expect(kit).toMatchObject({ packages: 7, indexes: plan.indexes.length });
    const bytes = await readFile(kit.file);
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(kit.sha256);
    expect(await readFile(kit.checksumFile, 'utf8')).toBe(`${kit.sha256}  kit.tar\n`);
    // Close to the announced size (tar headers aside), and no staging folder left in the cache.
    expect(Math.abs(kit.bytes - plan.bytes) / plan.bytes).toBeLessThan(0.2);
    expect((await readdir(join(dir, 'online', 'tmp')).catch(() => [])).filter((n) => n.startsWith('kit'))).toEqual([]);
  }, 300_000);

  it('imports into an empty cache with no mirror, verified, and says the choice can be built offline', async () => {
    const cache = new FeedCache(join(dir, 'offline'));
    const r = await importKit(catalog, kit.file, { mirror: deadMirror, keysDir: feed.keysDir, cache, apkKeysDir: feed.keysDir });
    expect(r).toMatchObject({ sha256: kit.sha256, checksumVerified: true, packages: 7 });
    expect(r.canBuild).toEqual([{ choice: CHOICE, label: 'tinybox on qemu-x86_64', buildable: true, missing: [] }]);
  }, 120_000);

  it('refuses a kit damaged in transit (its checksum file disagrees): nothing is imported', async () => {
    const damaged = join(dir, 'damaged.tar');
    await copyFile(kit.file, damaged);
    await copyFile(kit.checksumFile, `${damaged}.sha256`);
    const fh = await open(damaged, 'r+');
    const size = (await stat(damaged)).size;
    const b = Buffer.alloc(1);
    await fh.read(b, 0, 1, Math.floor(size / 2));
    b[0] = b[0]! ^ 0xff;
    await fh.write(b, 0, 1, Math.floor(size / 2));
    await fh.close();
    const cache = new FeedCache(join(dir, 'damaged-cache'));
    await expect(importKit(catalog, damaged, { mirror: deadMirror, keysDir: feed.keysDir, cache, apkKeysDir: feed.keysDir })).rejects.toMatchObject({
      code: 'KIT_CHECKSUM',
    });
    expect(await readdir(join(dir, 'damaged-cache', 'apk')).catch(() => [])).toEqual([]);
  });

  it('with no mirror answering and an empty cache: MIRROR_UNREACHABLE, and the cache cannot build the choice', async () => {
    const cache = new FeedCache(join(dir, 'empty'));
    await expect(planKit(catalog, [CHOICE], { mirror: deadMirror, keysDir: feed.keysDir, cache })).rejects.toMatchObject({
      code: 'MIRROR_UNREACHABLE',
      hint: expect.stringMatching(/offline kit/),
    });
    const [status] = await buildableOffline(catalog, [CHOICE], { keysDir: feed.keysDir, cache });
    expect(status).toMatchObject({ buildable: false });
    expect(status!.missing.join(' ')).toMatch(/Offline, and the cache lacks the indexes/);
  });
});
