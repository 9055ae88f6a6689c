/**
 * Flash benchmarks on one loop device, baselines measured in the same run (printed, never asserted):
 *  1. raw image: our write vs `dd bs=4M oflag=direct conv=fsync`            (target ≥ 1.0×)
 *  2. write + verify vs our write alone                                       (target ≤ 2.1× the time)
 *  3. 50 %-sparse image with a bmap: vs `bmaptool copy` and vs dd of the whole image (≥ 1.0× and ≥ 1.8×);
 *     with a reference run without checksums and the SHA-256 cost of the mapped bytes, which together
 *     bound what a checked bmap write can reach on this machine's cores
 *  4. .xz and .zst sources vs `xz -dc | dd` and `zstd -dc | dd`              (≥ 0.9×); .xz decoded in process
 *     when the host has no xz (printed)
 *  5. peak RSS of the writer process for two image sizes                       (< 200 MB, flat)
 * Loop devices are page-cache backed: these numbers compare implementations, not card speeds.
 * Run: npm run bench flash   (root; needs xz, zstd, bmaptool)
 */
import { execa } from 'execa';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { open, readFile, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { Worker } from 'node:worker_threads';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { flash, loadBmap } from '../../src-main/engine/flash';
import { listDrives } from '../../src-main/engine/drives';
import { LoopSet, patternBytes } from '../support/loop-devices';

const MiB = 1 << 20;
const SIZE = Number(process.env.NEXUS_BENCH_MIB ?? 512) * MiB;
const RUNS = Number(process.env.NEXUS_BENCH_RUNS ?? 3);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const mbps = (bytes: number, ms: number) => `${(bytes / MiB / (ms / 1000)).toFixed(0)} MiB/s`;

/** CPU time (ms) of kernel threads (children of kthreadd): the loop device's worker copies our writes into its backing file there. */
function kernelThreadsCpuMs(): number {
  let ticks = 0;
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      const st = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const f = st.slice(st.lastIndexOf(')') + 2).split(' '); // state ppid … utime(12th) stime(13th)
      if (f[1] === '2') ticks += Number(f[11]) + Number(f[12]);
    } catch {
      // thread gone
    }
  }
  return ticks * 10; // USER_HZ = 100 on Linux
}

/** Time to SHA-256 `bytes` with node:crypto on one thread and split over two worker threads (best of 3). */
async function sha256Throughput(bytes: number): Promise<{ oneThreadMs: number; twoThreadsMs: number }> {
  const src = `const { parentPort, workerData } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const b = Buffer.alloc(4 << 20, 0x5a);
const t = performance.now();
const h = createHash('sha256');
for (let n = 0; n < workerData.bytes; n += b.length) h.update(b.subarray(0, Math.min(b.length, workerData.bytes - n)));
h.digest();
parentPort.postMessage(performance.now() - t);`;
  const run = (share: number) =>
    new Promise<number>((resolve, reject) =>
      new Worker(src, { eval: true, workerData: { bytes: share }, execArgv: [] }).once('message', resolve).once('error', reject),
    );
  const one: number[] = [];
  const two: number[] = [];
  for (let i = 0; i < 3; i++) {
    one.push(await run(bytes));
    two.push(Math.max(...(await Promise.all([run(bytes / 2), run(bytes / 2)]))));
  }
  return { oneThreadMs: Math.min(...one), twoThreadsMs: Math.min(...two) };
}

/** Child mode: one write in a fresh process, prints its peak RSS (so the bench's own memory does not count). */
if (process.argv[2] === '--child') {
  const [, , , image, device] = process.argv;
  const r = await flash(
    { source: { kind: 'file', path: image! }, targets: [device!], verify: true },
    { listDrives: () => listDrives({ extraDevices: [device!], drivelist: async () => [] }) },
  );
  process.stdout.write(JSON.stringify({ ok: r.ok, maxRssKiB: process.resourceUsage().maxRSS }));
  process.exit(0);
}

// Backing files on tmpfs when available: the host disk's writeback (shared with other jobs) would
// otherwise dominate every number; both our writer and the baselines use the same loop device.
const BASE = process.env.NEXUS_BENCH_DIR ?? (existsSync('/dev/shm') ? '/dev/shm' : tmpdir());
const loops = new LoopSet(BASE);
try {
  const dir = await loops.workDir();
  const target = await loops.create(SIZE + 64 * MiB);
  const dev = target.device;
  const list = () => listDrives({ extraDevices: [dev], drivelist: async () => [] });

  // A realistic mix: random blocks (already-compressed data) and text-like blocks (compress well).
  const raw = join(dir, 'image.img');
  {
    const fh = await open(raw, 'w');
    const rnd = patternBytes(8 * MiB, 11);
    const txt = Buffer.from('nexus imager flash bench line 0123456789\n'.repeat(Math.ceil((8 * MiB) / 41))).subarray(0, 8 * MiB);
    for (let off = 0; off < SIZE; off += 8 * MiB) await fh.write((off / (8 * MiB)) % 2 ? txt : rnd, 0, 8 * MiB, off);
    await fh.close();
  }
  // 50 % sparse: 8 MiB of data every 16 MiB, holes are file holes.
  const sparse = join(dir, 'sparse.img');
  {
    const fh = await open(sparse, 'w');
    for (let off = 0; off < SIZE; off += 16 * MiB) await fh.write(patternBytes(8 * MiB, off / MiB + 1), 0, 8 * MiB, off);
    await fh.truncate(SIZE);
    await fh.close();
  }
  const bmap = join(dir, 'sparse.bmap');
  await execa('bmaptool', ['create', '-o', bmap, sparse]);
  // Reference only: the same ranges with their checksums stripped, i.e. the bmap write path minus SHA-256.
  const bmapNoSums = join(dir, 'sparse-nosums.bmap');
  await writeFile(
    bmapNoSums,
    (await readFile(bmap, 'utf8')).replace(/\s+chksum="[0-9a-fA-F]+"/g, '').replace(/<BmapFileChecksum>[^<]*<\/BmapFileChecksum>/, ''),
  );
  const mappedBytes = (await loadBmap(bmap)).mappedBytes;
  await execa('xz', ['-k', '-T0', '-3', raw]);
  await execa('zstd', ['-q', '-k', '-T0', '-3', raw]);

  const dd = (input: string) => execa('dd', [`if=${input}`, `of=${dev}`, 'bs=4M', 'oflag=direct', 'conv=fsync', 'status=none']);
  const ddFrom = (tool: string, file: string) =>
    execa(tool, ['-dc', file], { buffer: false }).pipe('dd', [`of=${dev}`, 'bs=4M', 'iflag=fullblock', 'oflag=direct', 'conv=fsync', 'status=none']);
  const ours = (path: string, verify: boolean, bmapPath: string | null = null, listDrives = list) =>
    flash({ source: { kind: 'file', path }, targets: [dev], verify, bmap: bmapPath }, { listDrives }).then((r) => {
      if (!r.ok) throw new Error(`flash failed: ${JSON.stringify(r.targets[0]?.error)}`);
    });

  // A host without xz (the macOS and Windows apps): PATH empty, so .xz is decoded by liblzma in WebAssembly. The drive
  // list is taken before (lsblk is a host program too).
  const drivesNow = await list();
  const withoutTools = async (fn: () => Promise<void>) => {
    const saved = process.env.PATH;
    process.env.PATH = join(dir, 'no-tools');
    try {
      await fn();
    } finally {
      process.env.PATH = saved;
    }
  };

  const cases: Record<string, () => Promise<unknown>> = {
    'dd raw': () => dd(raw),
    'nexus raw (write only)': () => ours(raw, false),
    'nexus raw (write + verify)': () => ours(raw, true),
    'dd sparse (whole image)': () => dd(sparse),
    'bmaptool copy (sparse + bmap)': () => execa('bmaptool', ['-q', 'copy', '--bmap', bmap, sparse, dev]),
    'nexus sparse + bmap (write only)': () => ours(sparse, false, bmap),
    'nexus sparse + bmap (write + verify)': () => ours(sparse, true, bmap),
    'nexus sparse + bmap, no checksums (ref.)': () => ours(sparse, false, bmapNoSums),
    'xz -dc | dd': () => ddFrom('xz', `${raw}.xz`),
    'nexus .xz (write only)': () => ours(`${raw}.xz`, false),
    'nexus .xz, no xz program (in process)': () => withoutTools(() => ours(`${raw}.xz`, false, null, async () => drivesNow)),
    'zstd -dc | dd': () => ddFrom('zstd', `${raw}.zst`),
    'nexus .zst (write only)': () => ours(`${raw}.zst`, false),
  };
  const times: Record<string, number[]> = Object.fromEntries(Object.keys(cases).map((k) => [k, []]));
  // CPU time of this process (our writer runs in it; the baselines are child processes, not counted).
  const cpus: Record<string, number[]> = Object.fromEntries(Object.keys(cases).map((k) => [k, []]));
  const kcpus: Record<string, number[]> = Object.fromEntries(Object.keys(cases).map((k) => [k, []]));
  for (const fn of Object.values(cases)) await fn(); // warm-up: page cache, recycled buffers, wasm
  for (let i = 0; i < RUNS; i++) {
    for (const [name, fn] of Object.entries(cases)) {
      const k = kernelThreadsCpuMs();
      const c = process.cpuUsage();
      const t = performance.now();
      await fn();
      times[name]!.push(performance.now() - t);
      const d = process.cpuUsage(c);
      cpus[name]!.push((d.user + d.system) / 1000);
      kcpus[name]!.push(kernelThreadsCpuMs() - k);
    }
  }
  const m = (k: string) => median(times[k]!);
  const cpu = (k: string) => median(cpus[k]!);

  process.stdout.write(`image ${SIZE / MiB} MiB on ${dev} (backing file in ${BASE}), median of ${RUNS} runs after a warm-up\n\n`);
  process.stdout.write(`${'case'.padEnd(40)} ${'time'.padStart(9)} ${'throughput'.padStart(12)} ${'our CPU'.padStart(9)}\n`);
  for (const k of Object.keys(cases)) {
    const ownCpu = k.startsWith('nexus') ? `${cpu(k).toFixed(0)} ms` : '';
    process.stdout.write(`${k.padEnd(40)} ${`${m(k).toFixed(0)} ms`.padStart(9)} ${mbps(SIZE, m(k)).padStart(12)} ${ownCpu.padStart(9)}\n`);
  }

  const ratio = (label: string, value: number, target: string, ok: boolean) =>
    process.stdout.write(`${label.padEnd(52)} ${value.toFixed(2).padStart(6)}×  target ${target.padEnd(7)} ${ok ? 'ok' : 'MISSED'}\n`);
  process.stdout.write('\n');
  const r1 = m('dd raw') / m('nexus raw (write only)');
  ratio('raw write speed vs dd', r1, '≥ 1.0', r1 >= 1.0);
  const r2 = m('nexus raw (write + verify)') / m('nexus raw (write only)');
  ratio('write+verify time / write time', r2, '≤ 2.1', r2 <= 2.1);
  const r3 = m('bmaptool copy (sparse + bmap)') / m('nexus sparse + bmap (write only)');
  ratio('bmap write speed vs bmaptool copy', r3, '≥ 1.0', r3 >= 1.0);
  const r4 = m('dd sparse (whole image)') / m('nexus sparse + bmap (write only)');
  ratio('bmap write speed vs dd of the whole image', r4, '≥ 1.8', r4 >= 1.8);
  // Why the bmap target is out of reach on a small machine: the SHA-256 of the mapped bytes alone is
  // CPU work that the 2 cores must do besides reading and writing (measured here, same run).
  const sha = await sha256Throughput(mappedBytes);
  const cores = availableParallelism();
  const ref = 'nexus sparse + bmap, no checksums (ref.)';
  const kcpu = median(kcpus[ref]!);
  const bound = (sha.oneThreadMs + cpu(ref)) / cores; // our process only: a floor
  const boundK = (sha.oneThreadMs + cpu(ref) + kcpu) / cores; // plus kernel threads (loop worker; other jobs' too)
  const best = (ms: number) => (m('dd sparse (whole image)') / ms).toFixed(2);
  process.stdout.write(
    `  why: SHA-256 (node:crypto) of the ${(mappedBytes / MiB).toFixed(0)} MiB mapped takes ${sha.oneThreadMs.toFixed(0)} ms CPU (${mbps(mappedBytes, sha.oneThreadMs)} on 1 thread; ` +
      `${sha.twoThreadsMs.toFixed(0)} ms wall on 2 threads); the write without checksums costs ${cpu(ref).toFixed(0)} ms CPU in this process + ${kcpu.toFixed(0)} ms in kernel threads ` +
      `→ on ${cores} cores a checked bmap write needs ≥ ${bound.toFixed(0)} ms (≤ ${best(bound)}× dd) counting this process only, ≥ ${boundK.toFixed(0)} ms (≤ ${best(boundK)}× dd) with the kernel threads\n`,
  );
  const r5 = m('xz -dc | dd') / m('nexus .xz (write only)');
  ratio('.xz write speed vs xz -dc | dd', r5, '≥ 0.9', r5 >= 0.9);
  const r5b = m('xz -dc | dd') / m('nexus .xz, no xz program (in process)');
  ratio('.xz in process (no xz program) vs xz -dc | dd', r5b, 'printed', true);
  const r6 = m('zstd -dc | dd') / m('nexus .zst (write only)');
  ratio('.zst write speed vs zstd -dc | dd', r6, '≥ 0.9', r6 >= 0.9);

  // Peak memory of a writer process (write + verify), for the image and for one 4× larger (sparse, cheap to make).
  const self = fileURLToPath(import.meta.url);
  const rss = async (image: string, device: string) => {
    const r = await execa(process.execPath, ['--import', 'tsx', self, '--child', image, device]);
    return JSON.parse(r.stdout) as { ok: boolean; maxRssKiB: number };
  };
  const big = join(dir, 'big.img');
  await writeFile(big, Buffer.alloc(0));
  const bigSize = 4 * SIZE;
  {
    const fh = await open(big, 'r+');
    await fh.truncate(bigSize);
    await fh.close();
  }
  const bigTarget = await loops.create(bigSize + 16 * MiB);
  const a = await rss(raw, dev);
  const b = await rss(big, bigTarget.device);
  process.stdout.write(
    `\npeak RSS of the writer (write + verify): ${SIZE / MiB} MiB image ${(a.maxRssKiB / 1024).toFixed(0)} MB, ${bigSize / MiB} MiB image ${(b.maxRssKiB / 1024).toFixed(0)} MB  target < 200 MB ${Math.max(a.maxRssKiB, b.maxRssKiB) < 200 * 1024 ? 'ok' : 'MISSED'}\n`,
  );
  await rm(big, { force: true });
} finally {
  await loops.detachAll();
}
