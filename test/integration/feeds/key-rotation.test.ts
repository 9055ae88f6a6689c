/**
 * A repository regenerates its signing key under the same file name (a rebuilt test mirror, a rotated local
 * repository): the packages keep their control checksum, hence their cache names, but the cached copies are signed
 * by the old key. The next build downloads them again instead of failing (issue 13); offline, they are reported
 * missing with the usual hint. Real RSA-signed APK v2 repositories on local mirrors.
 */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  FeedCache,
  feedKeys,
  fetchPackages,
  loadIndexes,
  resolvePackages,
  unpackPackages,
  verifyApkFile,
  type FeedConfig,
} from '../../../src-main/engine/feeds';
import { generateSigningKey, writeApkRepo, type ApkPackageSpec } from '../../support/apk-repo';

const MAIN: ApkPackageSpec[] = [
  {
    name: 'musl',
    version: '1.2.5-r10',
    provides: ['so:libc.musl-x86_64.so.1=1'],
    files: [{ path: 'lib' }, { path: 'lib/ld-musl-x86_64.so.1', content: 'musl', mode: 0o755 }],
  },
  { name: 'hello', version: '1.0-r0', depends: ['so:libc.musl-x86_64.so.1'], files: [{ path: 'usr/bin/hello', content: '#!/bin/sh\necho hi\n', mode: 0o755 }] },
];

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'nexus-it-keyrot-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

const feedOf = (mirror: string, keysDir: string): FeedConfig => ({
  name: 'test',
  branch: 'v3.22',
  arch: 'x86_64',
  repositories: ['main'],
  mirrors: [mirror],
  keyDirs: [keysDir],
});

describe('a signing key regenerated under the same name', () => {
  it('cached packages signed by the old key are downloaded again, not fatal', async () => {
    const pubName = 'nexus-rotating.rsa.pub';
    const oldRepo = await writeApkRepo(join(dir, 'old'), { key: generateSigningKey(pubName), repositories: { main: MAIN } });
    const newRepo = await writeApkRepo(join(dir, 'new'), { key: generateSigningKey(pubName), repositories: { main: MAIN } });
    const cache = new FeedCache(join(dir, 'cache'));

    const oldFeed = feedOf(oldRepo.mirror, oldRepo.keysDir);
    const oldKeys = await feedKeys(oldFeed);
    const oldPkgs = resolvePackages(await loadIndexes(oldFeed, oldKeys, { cache }), [{ dep: 'hello', from: ['t'] }]).packages.map((p) => p.pkg);
    const first = await fetchPackages(oldPkgs, oldFeed, oldKeys, { cache });

    const newFeed = feedOf(newRepo.mirror, newRepo.keysDir);
    const newKeys = await feedKeys(newFeed);
    const res = resolvePackages(await loadIndexes(newFeed, newKeys, { cache }), [{ dep: 'hello', from: ['t'] }]);
    // Same control members, same cache names: the cache holds copies the new key cannot verify.
    expect(res.packages.map((p) => cache.packagePath(p.pkg.checksum)).sort()).toEqual([...first.values()].sort());
    await expect(verifyApkFile(first.get('hello')!, newKeys)).rejects.toMatchObject({ code: 'BAD_SIGNATURE' });

    // Offline, the stale copies count as missing (with the usual hint), not as a signature failure.
    const logs: string[] = [];
    const log = (_l: string, m: string) => void logs.push(m);
    await expect(
      fetchPackages(
        res.packages.map((p) => p.pkg),
        newFeed,
        newKeys,
        { cache, offline: true, log },
      ),
    ).rejects.toMatchObject({ code: 'OFFLINE_MISSING', message: expect.stringMatching(/hello-1\.0-r0/) });
    expect(logs.join('\n')).toMatch(/hello-1\.0-r0\.apk \(cached\).*downloading it again/s);

    const files = await fetchPackages(
      res.packages.map((p) => p.pkg),
      newFeed,
      newKeys,
      { cache, log },
    );
    for (const path of files.values()) await verifyApkFile(path, newKeys);
    const out = await unpackPackages(res.installOrder, files, newKeys, { cache });
    expect(out.manifest.get('/usr/bin/hello')).toMatchObject({ type: 'file', mode: 0o755 });
    expect(await readdir(join(cache.root, 'apk', 'partial'))).toEqual([]);
  });
});
