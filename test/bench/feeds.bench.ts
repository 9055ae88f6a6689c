/**
 * Package feed benchmarks (printed, never asserted):
 *  1. parse + verify the real v3.18 community x86_64 index (target < 150 ms)
 *  2. resolve large closures against real-sized indexes (target < 100 ms)
 *  3. download throughput from a loopback server vs curl on the same files (target ≥ 0.8×)
 *  4. peak memory while fetching and verifying a small vs a large package (should not grow with package size)
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { download, FeedCache, fetchPackages, loadTrustedKeys, ProviderIndex, readApkIndex, resolvePackages, type ApkIndex } from '../../src-main/engine/feeds';
import { loadCatalog } from '../../src-main/engine/catalog/load';
import { resolvePlan } from '../../src-main/engine/plan/resolve';
import { alpineTestdata } from '../support/alpine-testdata';
import { generateSigningKey, writeApkRepo } from '../support/apk-repo';
import { serveDirectory } from '../support/http-server';

const MiB = 1024 * 1024;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const ms = (n: number) => `${n.toFixed(1)} ms`;
const row = (label: string, value: string, note = '') => process.stdout.write(`${label.padEnd(58)} ${value.padStart(14)}  ${note}\n`);

async function time<T>(fn: () => Promise<T> | T, runs: number): Promise<{ result: T; median: number; min: number }> {
  const times: number[] = [];
  let result!: T;
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    result = await fn();
    times.push(performance.now() - t);
  }
  return { result, median: median(times), min: Math.min(...times) };
}

async function benchIndex(keys: Awaited<ReturnType<typeof loadTrustedKeys>>) {
  const bytes = await readFile(alpineTestdata('official', 'v3.18.12-community-x86_64-APKINDEX.tar.gz'));
  const repo = { name: 'community', branch: 'v3.18', arch: 'x86_64', base: '' };
  const { zlibBaseline } = { zlibBaseline: await time(async () => (await import('node:zlib')).gunzipSync(bytes), 5) };
  const r = await time(() => readApkIndex(bytes, repo, keys), 9);
  row(
    'parse+verify v3.18 community x86_64 index',
    ms(r.median),
    `min ${ms(r.min)}; ${r.result.packages.length} packages; target < 150 ms → ${r.median < 150 ? 'OK' : 'MISSED'}`,
  );
  row('  baseline: zlib.gunzipSync of the same file', ms(zlibBaseline.median), `ratio ${(r.median / zlibBaseline.median).toFixed(2)}× of plain decompression`);
  return r.result;
}

async function benchResolve(keys: Awaited<ReturnType<typeof loadTrustedKeys>>, community: ApkIndex) {
  const main = await readApkIndex(
    await readFile(alpineTestdata('official', 'v3.22.2-main-x86_64-APKINDEX.tar.gz')),
    { name: 'main', branch: 'v3.22', arch: 'x86_64', base: '' },
    keys,
  );
  const indexes = [main, { ...community, repo: { ...community.repo, branch: 'v3.22' } }];
  const built = await time(() => new ProviderIndex(indexes), 5);
  row('build provider index (v3.22 main + v3.18 community)', ms(built.median), `${main.packages.length + community.packages.length} packages`);
  const pi = built.result;
  // The linbox closure: its plan's packages that exist in these (mixed-branch) indexes.
  const plan = resolvePlan(await loadCatalog(), { profile: 'linbox', arch: 'x86_64' });
  const wanted = plan.packages.map((p) => p.name);
  const usable: string[] = [];
  for (const name of wanted) {
    try {
      resolvePackages(
        pi,
        [...usable, name].map((dep) => ({ dep, from: ['linbox'] })),
      );
      usable.push(name);
    } catch {
      /* not resolvable from these snapshots */
    }
  }
  const linbox = await time(
    () =>
      resolvePackages(
        pi,
        usable.map((dep) => ({ dep, from: ['linbox'] })),
      ),
    9,
  );
  row(
    'resolve linbox closure',
    ms(linbox.median),
    `${linbox.result.packages.length} packages from ${usable.length}/${wanted.length} requested names; target < 100 ms → ${linbox.median < 100 ? 'OK' : 'MISSED'}`,
  );
  // A bigger stress case: 400 top-level names from community.
  const names = [...new Set(community.packages.filter((p) => !p.name.endsWith('-doc') && !p.name.endsWith('-dev')).map((p) => p.name))]
    .filter((_, i) => i % 30 === 0)
    .slice(0, 400);
  const picked: string[] = [];
  for (const n of names) {
    try {
      resolvePackages(
        pi,
        [...picked, n].map((dep) => ({ dep, from: ['bench'] })),
      );
      picked.push(n);
    } catch {
      /* skip names that conflict or need another repository */
    }
  }
  const stress = await time(
    () =>
      resolvePackages(
        pi,
        picked.map((dep) => ({ dep, from: ['bench'] })),
      ),
    5,
  );
  row('resolve a large closure', ms(stress.median), `${stress.result.packages.length} packages from ${picked.length} requested names`);
}

async function benchDownload(dir: string) {
  const key = generateSigningKey();
  // Large enough files that curl's process start-up does not dominate its time.
  const count = 4;
  const size = 32 * MiB;
  const repo = await writeApkRepo(join(dir, 'mirror'), {
    key,
    repositories: {
      main: [
        ...Array.from({ length: count }, (_, i) => ({ name: `blob${i}`, version: '1-r0', files: [{ path: `data/blob${i}`, content: randomBytes(size) }] })),
        { name: 'huge', version: '1-r0', files: [{ path: 'data/huge', content: randomBytes(96 * MiB) }] },
      ],
    },
  });
  const server = await serveDirectory(repo.mirror);
  try {
    const files = repo.packages.main!.filter((p) => p.spec.name.startsWith('blob'));
    const total = files.reduce((s, f) => s + f.size, 0);
    const urls = files.map((f) => `${server.url}/${repo.branch}/main/${repo.arch}/${f.fileName}`);
    const out = join(dir, 'dl');
    await execa('mkdir', ['-p', out]);
    const curl = await time(async () => {
      for (const [i, u] of urls.entries()) await execa('curl', ['-s', '-f', '-o', join(out, `c${i}`), u]);
    }, 3);
    const ours = await time(async () => {
      for (const [i, u] of urls.entries()) {
        await rm(join(out, `n${i}`), { force: true });
        await download(u, join(out, `n${i}`), { expectedSize: files[i]!.size });
      }
    }, 3);
    const mbps = (t: number) => `${(total / MiB / (t / 1000)).toFixed(0)} MiB/s`;
    row(
      `download ${count}×${size / MiB} MiB sequentially (download())`,
      mbps(ours.median),
      `curl ${mbps(curl.median)}; ratio ${(curl.median / ours.median).toFixed(2)}× (target ≥ 0.8)`,
    );
    const keys = await loadTrustedKeys(repo.keysDir);
    const feed = { name: 'bench', branch: repo.branch, arch: repo.arch, repositories: ['main'], mirrors: [server.url], keyDirs: [repo.keysDir] };
    const index = await readApkIndex(
      await readFile(join(repo.repoDir('main'), 'APKINDEX.tar.gz')),
      { name: 'main', branch: repo.branch, arch: repo.arch, base: `${server.url}/${repo.branch}/main/${repo.arch}` },
      keys,
    );
    const pkgs = index.packages.filter((p) => p.name.startsWith('blob'));
    const fetched = await time(async () => {
      const cache = new FeedCache(join(dir, `cache-${Math.random()}`));
      await fetchPackages(pkgs, feed, keys, { cache, concurrency: 4 });
    }, 3);
    row(
      'fetchPackages (4 parallel, verify C:/signature/datahash)',
      mbps(fetched.median),
      `ratio to sequential curl ${(curl.median / fetched.median).toFixed(2)}×`,
    );

    // Memory: peak RSS of a fresh process fetching+verifying one package, minus an idle process with the same imports.
    const peak = async (name: string | null) => {
      const pkg = index.packages.find((p) => p.name === name);
      const job = pkg
        ? { feed, keysDir: repo.keysDir, cache: join(dir, `cache-mem-${name}`), pkg: { ...pkg, repo: pkg.repo, depends: [], provides: [], installIf: [] } }
        : null;
      const r = await execa(process.execPath, ['--import', 'tsx', import.meta.filename, '--memory-child', JSON.stringify(job)]);
      return Number(r.stdout.trim()) / 1024;
    };
    const idle = await peak(null);
    const small = await peak('blob0');
    const large = await peak('huge');
    row('peak RSS: idle process with the same imports', `${idle.toFixed(1)} MiB`, '');
    row('peak RSS growth: fetch+verify a 32 MiB package', `${(small - idle).toFixed(1)} MiB`, '');
    row('peak RSS growth: fetch+verify a 96 MiB package', `${(large - idle).toFixed(1)} MiB`, 'streaming: growth must not follow package size');
  } finally {
    await server.close();
  }
}

async function memoryChild(arg: string) {
  const job = JSON.parse(arg) as null | {
    feed: Parameters<typeof fetchPackages>[1];
    keysDir: string;
    cache: string;
    pkg: Parameters<typeof fetchPackages>[0][number];
  };
  if (job) await fetchPackages([job.pkg], job.feed, await loadTrustedKeys(job.keysDir), { cache: new FeedCache(job.cache) });
  // VmHWM (peak RSS) is reset by exec, unlike getrusage's maxRSS which Linux carries over from the parent.
  const hwm = /VmHWM:\s+(\d+) kB/.exec(await readFile('/proc/self/status', 'utf8'))?.[1];
  process.stdout.write(`${hwm ?? process.resourceUsage().maxRSS}\n`);
}

if (process.argv[2] === '--memory-child') {
  await memoryChild(process.argv[3]!);
  process.exit(0);
}

async function benchUnpack(dir: string) {
  const key = generateSigningKey();
  const files = Array.from({ length: 5000 }, (_, i) => ({ path: `usr/share/bench/d${i % 50}/f${i}`, content: randomBytes(2048 + (i % 7) * 512) }));
  const repo = await writeApkRepo(join(dir, 'unpack-mirror'), { key, repositories: { main: [{ name: 'many', version: '1-r0', files }] } });
  const keys = await loadTrustedKeys(repo.keysDir);
  const feed = { name: 'bench', branch: repo.branch, arch: repo.arch, repositories: ['main'], mirrors: [repo.mirror], keyDirs: [repo.keysDir] };
  const index = await readApkIndex(
    await readFile(join(repo.repoDir('main'), 'APKINDEX.tar.gz')),
    { name: 'main', branch: repo.branch, arch: repo.arch, base: repo.repoDir('main') },
    keys,
  );
  const cache = new FeedCache(join(dir, 'unpack-cache'));
  const paths = await fetchPackages(index.packages, feed, keys, { cache });
  const { unpackPackages } = await import('../../src-main/engine/feeds');
  await unpackPackages(index.packages, paths, keys, { cache: new FeedCache(join(dir, 'unpack-warmup')) }); // JIT warm-up
  const cold = await time(() => unpackPackages(index.packages, paths, keys, { cache }), 1);
  const warm = await time(() => unpackPackages(index.packages, paths, keys, { cache }), 3);
  const mb = cold.result.fileBytes / MiB;
  row(
    'unpack 5000 files into the manifest (new blobs)',
    ms(cold.median),
    `${(5000 / (cold.median / 1000)).toFixed(0)} files/s, ${(mb / (cold.median / 1000)).toFixed(0)} MiB/s`,
  );
  row('unpack again (blobs already cached)', ms(warm.median), `${(5000 / (warm.median / 1000)).toFixed(0)} files/s`);
}

const dir = await mkdtemp(join(tmpdir(), 'nexus-feeds-bench-'));
try {
  const keys = await loadTrustedKeys(alpineTestdata('keys'));
  const community = await benchIndex(keys);
  await benchResolve(keys, community);
  await benchDownload(dir);
  await benchUnpack(dir);
} finally {
  await rm(dir, { recursive: true, force: true });
}
