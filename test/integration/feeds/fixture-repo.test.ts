/**
 * The feed engine against a generated APK repository (real gzip members, RSA signatures, PAX
 * checksums) served over loopback HTTP: happy path, resume after a cut connection, tampered
 * packages, untrusted index key, hostile paths, missing dependency, conflicts, offline round trip.
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import tar from 'tar-stream';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  FeedCache,
  exportCache,
  feedKeys,
  fetchPackages,
  fetchStage,
  importCache,
  loadIndexes,
  readLockFile,
  resolveStage,
  resolvePackages,
  serializeLock,
  unpackPackages,
  unpackStage,
  verifyApkFile,
  writeLockStage,
  type FeedConfig,
} from '../../../src-main/engine/feeds';
import { Pipeline } from '../../../src-main/engine/runner';
import type { BuildPlan } from '../../../src-shared/plan';
import { generateSigningKey, writeApkRepo, type ApkPackageSpec, type TestSigningKey, type WrittenApkRepo } from '../../support/apk-repo';
import { serveDirectory, type TestHttpServer } from '../../support/http-server';

/** One member of a tar file (tar-stream, independently of the engine's reader). */
async function tarMember(file: string, name: string): Promise<Buffer> {
  const ex = tar.extract();
  let found: Buffer | null = null;
  ex.on('entry', (h, stream, next) => {
    const chunks: Buffer[] = [];
    stream.on('data', (c: unknown) => {
      if (c instanceof Uint8Array) chunks.push(Buffer.from(c));
    });
    stream.on('end', () => {
      if (h.name === name) found = Buffer.concat(chunks);
      next();
    });
  });
  await pipeline(createReadStream(file), ex);
  if (!found) throw new Error(`${name} is not in ${file}`);
  return found;
}

async function writeTar(file: string, name: string, data: Buffer): Promise<void> {
  const pack = tar.pack();
  pack.entry({ name, size: data.length, mode: 0o644 }, data);
  pack.finalize();
  await pipeline(pack, createWriteStream(file));
}

/** 3 MiB that gzip cannot shrink (deterministic), so the .apk is large enough to cut mid-file. */
const big = Buffer.concat(Array.from({ length: (3 * 1024 * 1024) / 32 }, (_, i) => createHash('sha256').update(String(i)).digest()));

const MAIN: ApkPackageSpec[] = [
  {
    name: 'musl',
    version: '1.2.5-r10',
    provides: ['so:libc.musl-x86_64.so.1=1'],
    files: [
      { path: 'lib' },
      { path: 'lib/ld-musl-x86_64.so.1', content: 'musl', mode: 0o755 },
      { path: 'lib/libc.musl-x86_64.so.1', target: 'ld-musl-x86_64.so.1' },
    ],
  },
  {
    name: 'busybox',
    version: '1.37.0-r19',
    depends: ['so:libc.musl-x86_64.so.1'],
    provides: ['cmd:sh=1.37.0-r19', '/bin/sh'],
    providerPriority: 100,
    files: [{ path: 'bin' }, { path: 'bin/busybox', content: 'bb', mode: 0o755 }, { path: 'bin/sh', target: '/bin/busybox' }],
    scripts: { 'post-install': '#!/bin/busybox sh\n/bin/busybox --install -s || exit 1\n' },
  },
  {
    name: 'dash',
    version: '0.5.12-r3',
    depends: ['so:libc.musl-x86_64.so.1'],
    provides: ['/bin/sh'],
    providerPriority: 10,
    files: [{ path: 'usr/bin/dash', content: 'dash', mode: 0o755 }],
  },
  {
    name: 'libbig',
    version: '2.0-r0',
    provides: ['so:libbig.so.2=2.0'],
    files: [{ path: 'usr' }, { path: 'usr/lib' }, { path: 'usr/lib/libbig.so.2', content: big }],
  },
  { name: 'libbig', version: '1.9-r0', provides: ['so:libbig.so.2=1.9'], indexOnly: true },
  {
    name: 'hello',
    version: '1.0-r0',
    depends: ['so:libc.musl-x86_64.so.1', 'so:libbig.so.2', '/bin/sh', 'hello-data>=1.0'],
    files: [
      { path: 'usr/bin/hello', content: '#!/bin/sh\necho hi\n', mode: 0o755 },
      { path: 'usr/bin/hi', type: 'hardlink', target: 'usr/bin/hello' },
      { path: 'var/lib/hello', uid: 1234, gid: 1234, uname: 'hello', gname: 'hello', mode: 0o750 },
    ],
    scripts: {
      'pre-install':
        'addgroup -S hello 2>/dev/null\nadduser -S -D -H -h /var/lib/hello -s /sbin/nologin -G hello -g "Hello daemon" hello 2>/dev/null\nexit 0\n',
    },
  },
  { name: 'hello-data', version: '1.1-r0', files: [{ path: 'usr/share/hello/greeting', content: 'hi' }] },
  { name: 'hello-doc', version: '1.0-r0', installIf: ['hello=1.0-r0', 'docs'], files: [{ path: 'usr/share/doc/hello', content: 'doc' }] },
  { name: 'hello-bash-completion', version: '1.0-r0', installIf: ['hello', 'busybox'], files: [{ path: 'usr/share/bash-completion/hello', content: 'c' }] },
  { name: 'needs-missing', version: '1.0-r0', depends: ['libnowhere>=2'] },
  { name: 'no-dash', version: '1.0-r0', depends: ['!dash'] },
];

let dir: string;
let key: TestSigningKey;
let repo: WrittenApkRepo;
let server: TestHttpServer;

const feedFor = (mirror: string, keysDir = repo.keysDir, repositories = ['main']): FeedConfig => ({
  name: 'test',
  branch: 'v3.22',
  arch: 'x86_64',
  repositories,
  mirrors: [mirror],
  keyDirs: [keysDir],
});

async function newCache(name: string): Promise<FeedCache> {
  return new FeedCache(join(dir, 'caches', name));
}

/** Every file in the cache's package store verifies and is named after its C:; no scratch files remain. */
async function expectConsistent(cache: FeedCache): Promise<void> {
  const keys = await feedKeys(feedFor(server.url));
  const pkgDir = join(cache.root, 'apk', 'packages');
  for (const f of await readdir(pkgDir).catch(() => [] as string[])) {
    const v = await verifyApkFile(join(pkgDir, f), keys);
    expect(Buffer.from(v.checksum.slice(2), 'base64').toString('hex') + '.apk').toBe(f);
  }
  expect(await readdir(join(cache.root, 'tmp')).catch(() => [])).toEqual([]);
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'nexus-feeds-'));
  key = generateSigningKey();
  repo = await writeApkRepo(join(dir, 'mirror'), { key, repositories: { main: MAIN } });
  server = await serveDirectory(repo.mirror);
});

afterAll(async () => {
  await server?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('fixture repository over loopback HTTP', () => {
  it('resolves, fetches, verifies and unpacks (happy path), then reuses the cache', async () => {
    const cache = await newCache('happy');
    const feed = feedFor(server.url);
    const keys = await feedKeys(feed);
    const indexes = await loadIndexes(feed, keys, { cache });
    expect(indexes[0]!.signer).toBe(key.pubName);
    const res = resolvePackages(indexes, [{ dep: 'hello', from: ['testbox'] }]);
    const names = res.packages.map((p) => `${p.pkg.name}-${p.pkg.version}`);
    // so: provides, highest version (libbig 2.0 over 1.9), provider_priority for /bin/sh, install_if (bash-completion yes, doc no).
    expect(names).toEqual(['busybox-1.37.0-r19', 'hello-1.0-r0', 'hello-bash-completion-1.0-r0', 'hello-data-1.1-r0', 'libbig-2.0-r0', 'musl-1.2.5-r10']);
    expect(res.installOrder.map((p) => p.name).indexOf('musl')).toBeLessThan(res.installOrder.map((p) => p.name).indexOf('hello'));
    let lastBytes = 0;
    const files = await fetchPackages(
      res.packages.map((p) => p.pkg),
      feed,
      keys,
      { cache, onProgress: (p) => (lastBytes = p.bytesDone) },
    );
    expect(lastBytes).toBe(res.totalSize);
    const out = await unpackPackages(res.installOrder, files, keys, { cache });
    const hello = out.manifest.get('/usr/bin/hello')!;
    expect(hello.content?.kind).toBe('blob');
    expect(await readFile((hello.content as { path: string }).path, 'utf8')).toBe('#!/bin/sh\necho hi\n');
    expect(hello.mode).toBe(0o755);
    expect(out.manifest.get('/usr/bin/hi')).toMatchObject({ type: 'hardlink', linkTarget: '/usr/bin/hello' });
    expect(out.manifest.get('/bin/sh')).toMatchObject({ type: 'symlink', linkTarget: '/bin/busybox', owner: 'busybox' });
    expect(out.manifest.get('/usr/bin')).toMatchObject({ type: 'dir' });
    expect(out.manifest.get('/var/lib/hello')).toMatchObject({ type: 'dir', mode: 0o750 });
    expect([...out.ownerNames]).toEqual([['/var/lib/hello', { user: 'hello', group: 'hello' }]]);
    expect(out.effects).toEqual(
      expect.arrayContaining([
        { kind: 'group', package: 'hello', name: 'hello', system: true },
        expect.objectContaining({
          kind: 'user',
          name: 'hello',
          home: '/var/lib/hello',
          shell: '/sbin/nologin',
          group: 'hello',
          gecos: 'Hello daemon',
          system: true,
          createHome: false,
        }),
        { kind: 'applet-links', package: 'busybox', tool: 'busybox', symlinks: true },
      ]),
    );
    expect(out.skippedScripts.map((s) => `${s.package}:${s.script}`)).toEqual(['busybox:post-install', 'hello:pre-install']);
    await expectConsistent(cache);

    const before = server.log.length;
    await fetchPackages(
      res.packages.map((p) => p.pkg),
      feed,
      keys,
      { cache },
    );
    expect(server.log.length).toBe(before); // everything came from the cache
  });

  it('resumes a download cut mid-file with an HTTP Range request', async () => {
    const cache = await newCache('resume');
    const feed = feedFor(server.url);
    const keys = await feedKeys(feed);
    const res = resolvePackages(await loadIndexes(feed, keys, { cache }), [{ dep: 'libbig', from: ['t'] }]);
    const path = `/v3.22/main/x86_64/libbig-2.0-r0.apk`;
    server.faults.push({ path, cutAfter: 1_000_000, times: 1 });
    const before = server.count(path);
    await fetchPackages(
      res.packages.map((p) => p.pkg),
      feed,
      keys,
      { cache, backoffMs: 10 },
    );
    const reqs = server.log.filter((r) => r.path === path).slice(before);
    expect(reqs.length).toBe(2);
    expect(reqs[1]!.range).toBe('bytes=1000000-');
    expect(reqs[1]!.status).toBe(206);
    await expectConsistent(cache);
  });

  it('cancels cleanly: CancelledError, the partial download stays resumable, nothing unverified in the cache', async () => {
    const cache = await newCache('cancel');
    const feed = feedFor(server.url);
    const keys = await feedKeys(feed);
    const res = resolvePackages(await loadIndexes(feed, keys, { cache }), [{ dep: 'libbig', from: ['t'] }]);
    const path = `/v3.22/main/x86_64/libbig-2.0-r0.apk`;
    server.faults.push({ path, cutAfter: 500_000, delayMs: 50, times: 5 });
    const ac = new AbortController();
    const pending = fetchPackages(
      res.packages.map((p) => p.pkg),
      feed,
      keys,
      { cache, signal: ac.signal, backoffMs: 2000 },
    );
    setTimeout(() => ac.abort(), 400);
    await expect(pending).rejects.toMatchObject({ code: 'CANCELLED' });
    server.faults.length = 0;
    expect(await readdir(join(cache.root, 'apk', 'packages')).catch(() => [])).toEqual([]);
    await expectConsistent(cache);
    // The next run resumes and completes; progress counts only what is still missing.
    let total = -1;
    await fetchPackages(
      res.packages.map((p) => p.pkg),
      feed,
      keys,
      { cache, onProgress: (p) => (total = p.bytesTotal) },
    );
    expect(total).toBeLessThan(res.totalSize);
    await expectConsistent(cache);
  });

  it('restarts from scratch when the server ignores Range, and enforces the S: size limit', async () => {
    const cache = await newCache('norange');
    const feed = feedFor(server.url);
    const keys = await feedKeys(feed);
    const indexes = await loadIndexes(feed, keys, { cache });
    const res = resolvePackages(indexes, [{ dep: 'libbig', from: ['t'] }]);
    const path = `/v3.22/main/x86_64/libbig-2.0-r0.apk`;
    server.faults.push({ path, cutAfter: 700_000, times: 1 }, { path, ignoreRange: true, times: 1 });
    const before = server.count(path);
    await fetchPackages(
      res.packages.map((p) => p.pkg),
      feed,
      keys,
      { cache, backoffMs: 10 },
    );
    expect(
      server.log
        .filter((r) => r.path === path)
        .slice(before)
        .map((r) => [r.range ?? '', r.status]),
    ).toEqual([
      ['', 200],
      ['bytes=700000-', 200],
    ]);
    await expectConsistent(cache);
    // An index that announces fewer bytes than the mirror serves: the download stops at the limit.
    const small = await newCache('limit');
    const lying = { ...res.packages[0]!.pkg, size: 100_000 };
    Object.setPrototypeOf(lying, Object.getPrototypeOf(res.packages[0]!.pkg));
    await expect(fetchPackages([lying], feed, keys, { cache: small, backoffMs: 1 })).rejects.toMatchObject({ code: 'SIZE_LIMIT' });
    expect(await readdir(join(small.root, 'apk', 'partial')).catch(() => [])).toEqual([]);
    await expectConsistent(small);
  });

  it('rejects a package whose bytes do not match C: and leaves nothing in the cache', async () => {
    const r2 = await writeApkRepo(join(dir, 'mirror-badc'), {
      key,
      repositories: { main: MAIN.slice(0, 1) },
      mutateIndex: (_repo, st) => {
        st[0]!.C = 'Q1AAAAAAAAAAAAAAAAAAAAAAAAAAA=';
      },
    });
    const s = await serveDirectory(r2.mirror);
    try {
      const cache = await newCache('badc');
      const feed = feedFor(s.url, r2.keysDir);
      const keys = await feedKeys(feed);
      const res = resolvePackages(await loadIndexes(feed, keys, { cache }), [{ dep: 'musl', from: ['t'] }]);
      await expect(
        fetchPackages(
          res.packages.map((p) => p.pkg),
          feed,
          keys,
          { cache, backoffMs: 1 },
        ),
      ).rejects.toMatchObject({ code: 'CHECKSUM_MISMATCH', message: expect.stringContaining('musl-1.2.5-r10.apk') });
      expect(await readdir(join(cache.root, 'apk', 'packages')).catch(() => [])).toEqual([]);
      expect(await readdir(join(cache.root, 'apk', 'partial')).catch(() => [])).toEqual([]);
      await expectConsistent(cache);
    } finally {
      await s.close();
    }
  });

  it('rejects a package modified after signing (datahash)', async () => {
    const r2 = await writeApkRepo(join(dir, 'mirror-flip'), { key, repositories: { main: MAIN.slice(3, 4) } });
    const file = r2.packagePath('main', 'libbig');
    const bytes = await readFile(file);
    bytes[bytes.length - 100]! ^= 0x01; // inside the data member: C: and the signature still match
    await writeFile(file, bytes);
    const cache = await newCache('flip');
    const feed = feedFor(r2.mirror, r2.keysDir);
    const keys = await feedKeys(feed);
    const res = resolvePackages(await loadIndexes(feed, keys, { cache }), [{ dep: 'libbig', from: ['t'] }]);
    await expect(
      fetchPackages(
        res.packages.map((p) => p.pkg),
        feed,
        keys,
        { cache },
      ),
    ).rejects.toMatchObject({ code: expect.stringMatching(/DATAHASH_MISMATCH|BAD_GZIP/) });
    await expectConsistent(cache);
  });

  it('refuses an index signed by an untrusted key and caches nothing', async () => {
    const other = generateSigningKey('intruder.rsa.pub');
    const r2 = await writeApkRepo(join(dir, 'mirror-untrusted'), { key, indexKey: other, repositories: { main: MAIN.slice(0, 1) } });
    const s = await serveDirectory(r2.mirror);
    try {
      const cache = await newCache('untrusted');
      const feed = feedFor(s.url, r2.keysDir);
      await expect(loadIndexes(feed, await feedKeys(feed), { cache })).rejects.toMatchObject({
        code: 'UNTRUSTED_SIGNATURE',
        message: expect.stringContaining('intruder.rsa.pub'),
      });
      expect(await cache.getIndexRef('test/v3.22/main/x86_64')).toBeNull();
    } finally {
      await s.close();
    }
  });

  it.each([
    ['dotdot', { path: '../etc/passwd', content: 'root::0:0::/:/bin/sh' }, /"\.\." components/],
    ['absolute', { path: '/etc/shadow', content: 'x' }, /absolute paths/],
    ['symlink-escape', { path: 'usr/lib/evil', target: '../../../etc' }, /points outside the root/],
    ['hardlink-escape', { path: 'usr/lib/evil', type: 'hardlink' as const, target: '../../etc/passwd' }, /hard link/],
    ['device', { path: 'dev/mem', type: 'char' as const }, /device nodes/],
  ])('refuses a package with a hostile entry (%s)', async (name, file, why) => {
    const pkg = { name: `evil-${name}`, version: '1.0-r0', files: [{ path: 'usr' }, { path: 'usr/lib' }, file] };
    const r2 = await writeApkRepo(join(dir, `mirror-${name}`), { key, repositories: { main: [pkg] } });
    const cache = await newCache(`evil-${name}`);
    const feed = feedFor(r2.mirror, r2.keysDir);
    const keys = await feedKeys(feed);
    const res = resolvePackages(await loadIndexes(feed, keys, { cache }), [{ dep: pkg.name, from: ['t'] }]);
    const files = await fetchPackages(
      res.packages.map((p) => p.pkg),
      feed,
      keys,
      { cache },
    );
    const err = await unpackPackages(res.installOrder, files, keys, { cache }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'UNSAFE_PATH' });
    expect((err as Error).message).toContain(pkg.name);
    expect((err as Error).message).toMatch(why);
    await expectConsistent(cache);
  });

  it('names the chain of a missing dependency', async () => {
    const cache = await newCache('missing');
    const feed = feedFor(server.url);
    const indexes = await loadIndexes(feed, await feedKeys(feed), { cache });
    expect(() => resolvePackages(indexes, [{ dep: 'needs-missing', from: ['nexbox'] }], { describeRepos: 'x86_64/main of v3.22' })).toThrow(
      'nexbox → needs-missing → libnowhere>=2: not in x86_64/main of v3.22',
    );
    expect(() => resolvePackages(indexes, [{ dep: 'hello-data>=2', from: ['nexbox'] }])).toThrow(/no version matches.*hello-data 1\.1-r0/);
  });

  it('reports conflicts with both names', async () => {
    const cache = await newCache('conflict');
    const feed = feedFor(server.url);
    const indexes = await loadIndexes(feed, await feedKeys(feed), { cache });
    expect(() =>
      resolvePackages(indexes, [
        { dep: 'dash', from: ['box'] },
        { dep: 'no-dash', from: ['box'] },
      ]),
    ).toThrow(/no-dash conflicts with dash/);
  });

  it('fails on two packages writing the same file unless one replaces the other', async () => {
    const a = { name: 'aaa', version: '1-r0', files: [{ path: 'etc' }, { path: 'etc/shared.conf', content: 'a' }] };
    const b = { name: 'bbb', version: '1-r0', files: [{ path: 'etc' }, { path: 'etc/shared.conf', content: 'b' }] };
    const c = { name: 'ccc', version: '1-r0', replaces: ['aaa'], files: [{ path: 'etc' }, { path: 'etc/shared.conf', content: 'c' }] };
    const r2 = await writeApkRepo(join(dir, 'mirror-files'), { key, repositories: { main: [a, b, c] } });
    const cache = await newCache('files');
    const feed = feedFor(r2.mirror, r2.keysDir);
    const keys = await feedKeys(feed);
    const indexes = await loadIndexes(feed, keys, { cache });
    const run = async (names: string[]) => {
      const res = resolvePackages(
        indexes,
        names.map((n) => ({ dep: n, from: ['t'] })),
      );
      return unpackPackages(
        res.installOrder,
        await fetchPackages(
          res.packages.map((p) => p.pkg),
          feed,
          keys,
          { cache },
        ),
        keys,
        { cache },
      );
    };
    await expect(run(['aaa', 'bbb'])).rejects.toMatchObject({
      code: 'FILE_CONFLICT',
      message: expect.stringMatching(/aaa and bbb both install \/etc\/shared\.conf/),
    });
    const ok = await run(['aaa', 'ccc']);
    expect(ok.manifest.get('/etc/shared.conf')!.owner).toBe('ccc');
    expect(ok.replaced).toEqual([{ path: '/etc/shared.conf', winner: 'ccc', loser: 'aaa' }]);
  });

  it('runs as pipeline stages, and an offline export/import round trip gives the same lock file', async () => {
    const plan = {
      box: { name: 'testbox' },
      feed: { name: 'test', branch: 'v3.22', arch: 'x86_64', repositories: ['main'], mirrors: [server.url], keys: repo.keysDir },
      packages: [{ name: 'hello', from: ['box:testbox'] }],
    } as unknown as BuildPlan;
    const online = await newCache('online');
    const o = { cache: online };
    const events: number[] = [];
    const lockPath = join(dir, 'packages.lock.json');
    const first = await Pipeline.start<BuildPlan>()
      .then(resolveStage(o))
      .then(fetchStage(o))
      .then(unpackStage(o))
      .then(writeLockStage(lockPath))
      .run(plan, {
        throttleMs: 0,
        onEvent: (e) => {
          if (e.type === 'progress' && e.stage === 'packages-fetch' && e.bytesDone) events.push(e.bytesDone);
        },
      });
    expect(events.at(-1)).toBe(first.resolution.totalSize);
    expect(await readFile(lockPath, 'utf8')).toBe(serializeLock(first.lock));
    expect(first.lock.packages.find((p) => p.name === 'hello')).toMatchObject({ version: '1.0-r0', repository: 'main', license: 'MIT', origin: 'hello' });

    const bundle = join(dir, 'offline.tar');
    await exportCache(bundle, { cache: online, keyDirs: [repo.keysDir] });
    const offline = await newCache('offline');
    // Offline with an empty cache fails early and says what is missing.
    await expect(
      Pipeline.start<BuildPlan>()
        .then(resolveStage({ cache: offline, offline: true }))
        .run(plan),
    ).rejects.toMatchObject({ code: 'OFFLINE_MISSING' });
    const imported = await importCache(bundle, await feedKeys(feedFor(server.url)), { cache: offline });
    expect(imported.packages).toBe(first.resolution.packages.length);
    // An export whose manifest lost a field (altered by hand) is refused with the field named, before anything is imported.
    const manifest = JSON.parse((await tarMember(bundle, 'nexus-cache.json')).toString('utf8')) as { refs: Array<Record<string, unknown>> };
    delete manifest.refs[0]?.sha256;
    const altered = join(dir, 'altered.tar');
    await writeTar(altered, 'nexus-cache.json', Buffer.from(JSON.stringify(manifest)));
    await expect(importCache(altered, await feedKeys(feedFor(server.url)), { cache: await newCache('altered') })).rejects.toMatchObject({
      code: 'BAD_EXPORT',
      message: expect.stringContaining('refs.0.sha256'),
    });
    const deadMirror = { ...plan, feed: { ...plan.feed!, mirrors: ['http://127.0.0.1:9'] } } as BuildPlan;
    const oo = { cache: offline, offline: true };
    const again = await Pipeline.start<BuildPlan>().then(resolveStage(oo)).then(fetchStage(oo)).then(unpackStage(oo)).run(deadMirror);
    expect(serializeLock(again.lock)).toBe(serializeLock(first.lock));
    expect(again.manifest.size).toBe(first.manifest.size);
    await expectConsistent(offline);

    // --lock reproduces the same set from the lock file.
    const locked = await Pipeline.start<BuildPlan>()
      .then(resolveStage({ ...oo, lockFile: lockPath }))
      .run(deadMirror);
    expect(serializeLock(locked.lock)).toBe(serializeLock(await readLockFile(lockPath)));
    const otherArch = { ...deadMirror, feed: { ...deadMirror.feed!, arch: 'aarch64' } } as BuildPlan;
    await expect(
      Pipeline.start<BuildPlan>()
        .then(resolveStage({ ...oo, lockFile: lockPath }))
        .run(otherArch),
    ).rejects.toMatchObject({ code: 'LOCK_MISMATCH' });
  });
});
