/**
 * Issue 13: everything whose size an index, a package or a mirror decides is bounded. Real signed packages and
 * indexes (test/support/apk-repo.ts) taken through the real feed engine: decompression bombs (index and package),
 * a 20 000-deep dependency chain, nonsense S:/I: values, and a package whose per-file PAX sha1 lies. The caps
 * are lowered with `withLimits` so the bombs stay a few MiB inflated (the code paths are the same as with the
 * production caps: 256 MiB per index, installed size × 2 + 16 MiB per package).
 */
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import tar from 'tar-stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  FeedCache,
  feedKeys,
  fetchPackages,
  loadIndexes,
  parseApkIndexText,
  readApkIndex,
  resolvePackages,
  unpackPackages,
  verifyApkFile,
  type ApkIndex,
  type ApkPackage,
  type FeedConfig,
  type RepoRef,
} from '../../../src-main/engine/feeds';
import { download } from '../../../src-main/engine/net/download';
import { DEFAULT_LIMITS, limits, withLimits } from '../../../src-main/engine/feeds/limits';
import {
  buildApk,
  buildApkIndex,
  generateSigningKey,
  indexStanza,
  signatureMember,
  writeApkRepo,
  type ApkPackageSpec,
  type TestSigningKey,
} from '../../support/apk-repo';
import { nexus } from '../../support/run-cli';

let dir: string;
let key: TestSigningKey;
const repoRef: RepoRef = { name: 'main', branch: 'v3.22', arch: 'x86_64', base: '' };

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'nexus-limits-'));
  key = generateSigningKey();
});
afterAll(() => rm(dir, { recursive: true, force: true }));

/** Every file under `root` (relative paths), [] when it does not exist. */
async function filesUnder(root: string): Promise<string[]> {
  try {
    return (await readdir(root, { recursive: true, withFileTypes: true }))
      .filter((e) => e.isFile())
      .map((e) => join(e.parentPath, e.name).slice(root.length + 1));
  } catch {
    return [];
  }
}

/** A cut-free tar holding DESCRIPTION and an APKINDEX of `text`, gzipped: the body member of an index. */
async function indexBody(text: Buffer): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  pack.on('data', (c: unknown) => void chunks.push(c as Buffer));
  const done = new Promise<void>((r) => pack.on('end', () => r()));
  pack.entry({ name: 'DESCRIPTION', size: 4 }, Buffer.from('bomb'));
  pack.entry({ name: 'APKINDEX', size: text.length }, text);
  pack.finalize();
  await done;
  return gzipSync(Buffer.concat(chunks), { level: 9 });
}

let seq = 0;
async function repoWith(pkgs: ApkPackageSpec[], mutate?: (stanzas: Array<Record<string, string>>) => void) {
  const name = `repo-${++seq}`;
  const repo = await writeApkRepo(join(dir, name), { key, repositories: { main: pkgs }, ...(mutate ? { mutateIndex: (_r, s) => mutate(s) } : {}) });
  const feed: FeedConfig = { name: 'test', branch: repo.branch, arch: 'x86_64', repositories: ['main'], mirrors: [repo.mirror], keyDirs: [repo.keysDir] };
  const cacheRoot = join(dir, `cache-${name}`);
  return { repo, feed, cacheRoot, cache: new FeedCache(cacheRoot), keys: await feedKeys(feed) };
}

describe('index decompression bombs', () => {
  it('an index signed by a trusted key whose APKINDEX inflates beyond the cap: INDEX_TOO_LARGE, nothing cached', async () => {
    const text = Buffer.concat([Buffer.from('C:Q1AAAAAAAAAAAAAAAAAAAAAAAAAAA=\nP:a\nV:1-r0\n\n'), Buffer.alloc(8 * 1024 * 1024, 0x0a)]);
    const body = await indexBody(text);
    const bytes = Buffer.concat([await signatureMember(body, key), body]);
    expect(bytes.length).toBeLessThan(64 * 1024);
    const keys = await keysMap();
    await withLimits({ indexInflated: 1024 * 1024 }, async () => {
      await expect(readApkIndex(bytes, repoRef, keys)).rejects.toMatchObject({
        code: 'INDEX_TOO_LARGE',
        message: expect.stringMatching(/APKINDEX member inflates to more than 1\.0 MiB/),
      });
    });
    // With the production cap the same (small) file is fine: the cap is what refused it.
    expect((await readApkIndex(bytes, repoRef, keys)).packages.map((p) => p.name)).toEqual(['a']);

    // Through loadIndexes: refused at once (not retried on the cache or another mirror), nothing cached.
    const { feed, cache, cacheRoot, keys: k2, repo } = await repoWith([{ name: 'a', version: '1-r0' }]);
    await writeFile(join(repo.repoDir('main'), 'APKINDEX.tar.gz'), bytes);
    await withLimits({ indexInflated: 1024 * 1024 }, async () => {
      await expect(loadIndexes(feed, k2, { cache, retries: 0 })).rejects.toMatchObject({ code: 'INDEX_TOO_LARGE' });
    });
    // A live run's scratch folder and lease are there by design; nothing else may be.
    expect((await filesUnder(cacheRoot)).filter((f) => !f.startsWith('tmp/') && !f.startsWith('leases/'))).toEqual([]);
  });

  it('a real signature member in front of a zero bomb: BAD_SIGNATURE from the compressed bytes, before anything is inflated', async () => {
    const good = await buildApkIndex([indexStanza(await buildApk({ name: 'a', version: '1-r0' }, key))], key);
    const sigLen = good.indexOf(Buffer.from([0x1f, 0x8b]), 10);
    // 32 MiB of zeros deflate to ~32 KiB; the cap is 1 MiB: had the body been inflated first, the cap would have fired.
    const bomb = Buffer.concat([good.subarray(0, sigLen), gzipSync(Buffer.alloc(32 * 1024 * 1024), { level: 1 })]);
    const keys = await keysMap();
    await withLimits({ indexInflated: 1024 * 1024 }, async () => {
      const t0 = Date.now();
      await expect(readApkIndex(bomb, repoRef, keys)).rejects.toMatchObject({ code: 'BAD_SIGNATURE' });
      expect(Date.now() - t0).toBeLessThan(2000);
      // Unsigned reading (no keys, listing only): inflated within the cap, then refused.
      await expect(readApkIndex(bomb, repoRef, null)).rejects.toMatchObject({ code: 'INDEX_TOO_LARGE' });
    });
  });

  it('an over-long compressed index is refused before it is parsed', async () => {
    await withLimits({ indexCompressed: 1000 }, async () => {
      await expect(readApkIndex(Buffer.alloc(2000, 0x1f), repoRef, await keysMap())).rejects.toMatchObject({ code: 'INDEX_TOO_LARGE' });
    });
  });
});

async function keysDir(): Promise<string> {
  const d = join(dir, 'keys');
  await mkdir(d, { recursive: true });
  await writeFile(join(d, key.pubName), key.publicPem);
  return d;
}
async function keysMap() {
  return feedKeys({ keyDirs: [await keysDir()] } as FeedConfig);
}

describe('package decompression bombs', () => {
  // ~8 MiB of zeros compress to ~8 KiB: the package says it installs 1 KiB.
  const bomb: ApkPackageSpec = {
    name: 'bomb',
    version: '1-r0',
    installedSize: 1024,
    files: [{ path: 'usr' }, { path: 'usr/zeros', content: new Uint8Array(8 * 1024 * 1024) }],
  };
  const small = { dataSlack: 256 * 1024 };

  it('a signed package inflating far beyond its I:/size is refused at fetch: DECOMPRESSION_LIMIT, no .part, nothing in the cache', async () => {
    const { feed, cache, cacheRoot, keys } = await repoWith([bomb]);
    const res = resolvePackages(await loadIndexes(feed, keys, { cache }), [{ dep: 'bomb', from: ['test'] }]);
    await withLimits(small, async () => {
      await expect(
        fetchPackages(
          res.packages.map((p) => p.pkg),
          feed,
          keys,
          { cache, retries: 0 },
        ),
      ).rejects.toMatchObject({
        code: 'DECOMPRESSION_LIMIT',
        message: expect.stringMatching(/bomb-1-r0\.apk.*inflates to more than .*installed size of 1\.0 KiB/),
        hint: expect.stringMatching(/Nothing from it was kept/),
      });
    });
    const left = await filesUnder(cacheRoot);
    expect(left.filter((f) => /\.(apk|part)$/.test(f) || f.startsWith('blobs/'))).toEqual([]);
  });

  it('the same bomb already in the cache (imported, or from an older version) is refused before unpacking: no blob written', async () => {
    const { feed, cache, cacheRoot, keys, repo } = await repoWith([bomb]);
    const res = resolvePackages(await loadIndexes(feed, keys, { cache }), [{ dep: 'bomb', from: ['test'] }]);
    const pkg = res.packages[0]!.pkg;
    const built = repo.packages.main![0]!;
    await mkdir(join(cacheRoot, 'apk', 'packages'), { recursive: true });
    await writeFile(cache.packagePath(pkg.checksum), built.bytes);
    await withLimits(small, async () => {
      await expect(unpackPackages(res.installOrder, new Map([['bomb', cache.packagePath(pkg.checksum)]]), keys, { cache })).rejects.toMatchObject({
        code: 'DECOMPRESSION_LIMIT',
      });
    });
    expect((await filesUnder(cacheRoot)).filter((f) => f.startsWith('blobs/'))).toEqual([]);
  });

  it('an honest package beyond the global cap is refused too; honest packages within it unpack', async () => {
    const honest: ApkPackageSpec = { name: 'big', version: '1-r0', files: [{ path: 'usr' }, { path: 'usr/zeros', content: new Uint8Array(4 * 1024 * 1024) }] };
    const { feed, cache, keys } = await repoWith([honest, { name: 'ok', version: '1-r0', files: [{ path: 'etc' }, { path: 'etc/ok', content: 'ok\n' }] }]);
    const idx = await loadIndexes(feed, keys, { cache });
    const big = resolvePackages(idx, [{ dep: 'big', from: ['t'] }]);
    await withLimits({ dataInflated: 1024 * 1024 }, async () => {
      await expect(
        fetchPackages(
          big.packages.map((p) => p.pkg),
          feed,
          keys,
          { cache, retries: 0 },
        ),
      ).rejects.toMatchObject({ code: 'DECOMPRESSION_LIMIT' });
    });
    const ok = resolvePackages(idx, [{ dep: 'ok', from: ['t'] }]);
    await withLimits(small, async () => {
      const files = await fetchPackages(
        ok.packages.map((p) => p.pkg),
        feed,
        keys,
        { cache },
      );
      const r = await unpackPackages(ok.installOrder, files, keys, { cache });
      expect(r.manifest.get('/etc/ok')?.size).toBe(3);
    });
  });

  it('a control member beyond its cap is refused without reading the rest', async () => {
    const fat: ApkPackageSpec = { name: 'fat', version: '1-r0', scripts: { 'post-install': `#!/bin/sh\n${'#'.repeat(3 * 1024 * 1024)}\n` } };
    const built = await buildApk(fat, key);
    const path = join(dir, 'fat.apk');
    await writeFile(path, built.bytes);
    await withLimits({ controlInflated: 1024 * 1024 }, async () => {
      await expect(verifyApkFile(path, await keysMap())).rejects.toMatchObject({ code: 'DECOMPRESSION_LIMIT' });
    });
  });
});

function chainIndex(n: number): ApkIndex {
  const name = (i: number) => `p${String(i).padStart(5, '0')}`;
  const lines: string[] = [];
  for (let i = 0; i < n; i++) {
    const c = 'Q1' + createHash('sha1').update(name(i)).digest('base64');
    lines.push(`C:${c}\nP:${name(i)}\nV:1-r0\nA:x86_64\nS:100\nI:100\n${i + 1 < n ? `D:${name(i + 1)}\n` : ''}`);
  }
  return { repo: repoRef, description: '', signer: null, packages: parseApkIndexText(lines.join('\n'), repoRef) };
}

describe('dependency walks', () => {
  it('a 20 000-deep dependency chain: a clear DEPENDENCY_TOO_DEEP, fast, no stack overflow', () => {
    const idx = chainIndex(20_000);
    const t0 = Date.now();
    let err: unknown;
    try {
      resolvePackages([idx], [{ dep: 'p00000', from: ['box'] }]);
    } catch (e) {
      err = e;
    }
    expect(err).toMatchObject({
      code: 'DEPENDENCY_TOO_DEEP',
      message: expect.stringMatching(/^box → p00000 → p00001 → … \d+ more … → .*more than 1000 packages deep/),
    });
    expect(Date.now() - t0).toBeLessThan(5000);
  });

  it('installs a 20 000-package chain asked for name by name in dependency order (iterative ordering)', () => {
    const idx = chainIndex(20_000);
    const t0 = Date.now();
    const res = resolvePackages(
      [idx],
      Array.from({ length: 20_000 }, (_, i) => ({ dep: `p${String(19_999 - i).padStart(5, '0')}`, from: ['box'] })),
    );
    expect(res.installOrder).toHaveLength(20_000);
    expect(res.installOrder[0]!.name).toBe('p19999');
    expect(res.installOrder.at(-1)!.name).toBe('p00000');
    expect(Date.now() - t0).toBeLessThan(20_000);
  }, 30_000);

  it('the package count is bounded', () => {
    const idx = chainIndex(50);
    expect(() => withLimitsSync({ resolvedPackages: 10 }, () => resolvePackages([idx], [{ dep: 'p00000', from: ['box'] }]))).toThrow(
      expect.objectContaining({ code: 'RESOLUTION_TOO_LARGE' }),
    );
    expect(limits.resolvedPackages).toBe(DEFAULT_LIMITS.resolvedPackages);
  });
});

function withLimitsSync<T>(changes: Partial<typeof limits>, fn: () => T): T {
  const saved = { ...limits };
  Object.assign(limits, changes);
  try {
    return fn();
  } finally {
    Object.assign(limits, saved);
  }
}

describe('S: and I: values', () => {
  it.each([
    ['S', '1e20'],
    ['S', '-5'],
    ['S', 'abc'],
    ['S', '99999999999999999'],
    ['I', '1e20'],
    ['I', '-1'],
    ['I', ''],
    ['S', '0x10'],
  ])('%s:%s makes the package uninstallable with a clear reason', async (field, value) => {
    const { feed, cache, cacheRoot, keys } = await repoWith(
      [{ name: 'odd', version: '1-r0', files: [{ path: 'etc' }, { path: 'etc/odd', content: 'x' }] }],
      (st) => {
        st[0]![field] = value;
      },
    );
    const idx = await loadIndexes(feed, keys, { cache });
    expect(idx[0]!.packages[0]!.uninstallable).toMatch(new RegExp(`invalid ${field}: size`));
    expect(Number.isSafeInteger(idx[0]!.packages[0]!.size) && idx[0]!.packages[0]!.size >= 0).toBe(true);
    expect(() => resolvePackages(idx, [{ dep: 'odd', from: ['box'] }])).toThrow(
      expect.objectContaining({ code: 'PACKAGE_UNINSTALLABLE', message: expect.stringMatching(/odd is marked uninstallable \(invalid [SI]: size/) }),
    );
    expect(await filesUnder(join(cacheRoot, 'apk', 'partial'))).toEqual([]);
  });

  it('sizes that bypass the parser (lock files, callers) are refused before any download: no .part, no retries', async () => {
    const { feed, cache, cacheRoot, keys } = await repoWith([{ name: 'odd', version: '1-r0' }]);
    const idx = await loadIndexes(feed, keys, { cache });
    for (const size of [-5, 1e20, Number.NaN]) {
      const copy = JSON.parse(JSON.stringify(idx[0]!.packages[0]!)) as ApkPackage;
      const plain: ApkPackage = { ...copy, size };
      const installed: ApkPackage = { ...copy, installedSize: size };
      for (const p of [plain, installed]) {
        const t0 = Date.now();
        await expect(fetchPackages([p], feed, keys, { cache, backoffMs: 1000 })).rejects.toMatchObject({ code: 'BAD_INDEX_ENTRY' });
        expect(Date.now() - t0).toBeLessThan(500);
      }
    }
    expect(await filesUnder(join(cacheRoot, 'apk'))).not.toContainEqual(expect.stringMatching(/\.part$/));
    await expect(download(join(dir, 'nowhere'), join(dir, 'x.part'), { expectedSize: -5 })).rejects.toMatchObject({ code: 'BAD_SIZE' });
  });
});

describe('per-file checksums', () => {
  const liar: ApkPackageSpec = {
    name: 'liar',
    version: '1-r0',
    files: [{ path: 'etc' }, { path: 'etc/motd', content: 'hello\n', checksumSha1: '0'.repeat(40) }],
  };

  it('packages verify checks the PAX sha1 like unpacking does (and says what it checked when OK)', async () => {
    const kd = await keysDir();
    const bad = join(dir, 'liar-1-r0.apk');
    await writeFile(bad, (await buildApk(liar, key)).bytes);
    const r = await nexus(['packages', 'verify', bad, '--keys', kd]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/etc\/motd does not match its APK-TOOLS\.checksum\.SHA1/);
    expect(r.stdout).not.toMatch(/^OK/m);
    const good = join(dir, 'honest-1-r0.apk');
    await writeFile(good, (await buildApk({ ...liar, name: 'honest', files: [{ path: 'etc' }, { path: 'etc/motd', content: 'hello\n' }] }, key)).bytes);
    const ok = await nexus(['packages', 'verify', good, '--keys', kd]);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/^OK: .* is honest-1-r0 signed by/m);
    expect(ok.stdout).toMatch(/1 per-file checksum\(s\) \(APK-TOOLS\.checksum\.SHA1\) match/);
  }, 60_000);

  it('a package whose PAX sha1 lies never enters the cache (refused at fetch, not retried)', async () => {
    const { feed, cache, cacheRoot, keys } = await repoWith([liar]);
    const res = resolvePackages(await loadIndexes(feed, keys, { cache }), [{ dep: 'liar', from: ['box'] }]);
    await expect(
      fetchPackages(
        res.packages.map((p) => p.pkg),
        feed,
        keys,
        { cache, retries: 0 },
      ),
    ).rejects.toMatchObject({ code: 'FILE_CHECKSUM_MISMATCH' });
    expect((await filesUnder(cacheRoot)).filter((f) => /\.(apk|part)$/.test(f))).toEqual([]);
  });

  it('a lying package already in the cache (older or imported cache): refused at unpack with a hint that helps, cached copy removed', async () => {
    const { feed, cache, cacheRoot, keys, repo } = await repoWith([liar]);
    const res = resolvePackages(await loadIndexes(feed, keys, { cache }), [{ dep: 'liar', from: ['box'] }]);
    const pkg = res.packages[0]!.pkg;
    await mkdir(join(cacheRoot, 'apk', 'packages'), { recursive: true });
    await writeFile(cache.packagePath(pkg.checksum), repo.packages.main![0]!.bytes);
    await expect(unpackPackages(res.installOrder, new Map([['liar', cache.packagePath(pkg.checksum)]]), keys, { cache })).rejects.toMatchObject({
      code: 'FILE_CHECKSUM_MISMATCH',
      hint: expect.stringMatching(/Downloading it again cannot help \(the cached copy was removed\)/),
    });
    expect(await cache.has(cache.packagePath(pkg.checksum))).toBe(false);
  });
});
