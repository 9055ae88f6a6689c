/**
 * Flash benchmarks on one loop device, baselines measured in the same run (printed, never asserted):
 *  1. raw image: our write vs `dd bs=4M oflag=direct conv=fsync`            (target ≥ 1.0×)
 *  2. write + verify vs our write alone                                       (target ≤ 2.1× the time)
 *  3. 50 %-sparse image with a bmap: vs `bmaptool copy` and vs dd of the whole image (≥ 1.0× and ≥ 1.8×)
 *  4. .xz and .zst sources vs `xz -dc | dd` and `zstd -dc | dd`              (≥ 0.9×)
 *  5. peak RSS of the writer process for two image sizes                       (< 200 MB, flat)
 * Loop devices are page-cache backed: these numbers compare implementations, not card speeds.
 * Run: npm run bench flash   (root; needs xz, zstd, bmaptool)
 */
import { execa } from 'execa';
import { existsSync } from 'node:fs';
import { open, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { flash } from '../../src-main/engine/flash';
import { listDrives } from '../../src-main/engine/drives';
import { LoopSet, patternBytes } from '../support/loop-devices';

const MiB = 1 << 20;
const SIZE = Number(process.env.NEXUS_BENCH_MIB ?? 512) * MiB;
const RUNS = Number(process.env.NEXUS_BENCH_RUNS ?? 3);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const mbps = (bytes: number, ms: number) => `${((bytes / MiB) / (ms / 1000)).toFixed(0)} MiB/s`;

/** Child mode: one write in a fresh process, prints its peak RSS (so the bench's own memory does not count). */
if (process.argv[2] === '--child') {
  const [, , , image, device] = process.argv;
  const r = await flash({ source: { kind: 'file', path: image! }, targets: [device!], verify: true }, { listDrives: () => listDrives({ extraDevices: [device!], drivelist: async () => [] }) });
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
  await execa('xz', ['-k', '-T0', '-3', raw]);
  await execa('zstd', ['-q', '-k', '-T0', '-3', raw]);

  const dd = (input: string) => execa('dd', [`if=${input}`, `of=${dev}`, 'bs=4M', 'oflag=direct', 'conv=fsync', 'status=none']);
  const ddFrom = (tool: string, file: string) => execa(tool, ['-dc', file], { buffer: false }).pipe('dd', [`of=${dev}`, 'bs=4M', 'iflag=fullblock', 'oflag=direct', 'conv=fsync', 'status=none']);
  const ours = (path: string, verify: boolean, bmapPath: string | null = null) => flash({ source: { kind: 'file', path }, targets: [dev], verify, bmap: bmapPath }, { listDrives: list }).then((r) => {
    if (!r.ok) throw new Error(`flash failed: ${JSON.stringify(r.targets[0]?.error)}`);
  });

  const cases: Record<string, () => Promise<unknown>> = {
    'dd raw': () => dd(raw),
    'nexus raw (write only)': () => ours(raw, false),
    'nexus raw (write + verify)': () => ours(raw, true),
    'dd sparse (whole image)': () => dd(sparse),
    'bmaptool copy (sparse + bmap)': () => execa('bmaptool', ['-q', 'copy', '--bmap', bmap, sparse, dev]),
    'nexus sparse + bmap (write only)': () => ours(sparse, false, bmap),
    'nexus sparse + bmap (write + verify)': () => ours(sparse, true, bmap),
    'xz -dc | dd': () => ddFrom('xz', `${raw}.xz`),
    'nexus .xz (write only)': () => ours(`${raw}.xz`, false),
    'zstd -dc | dd': () => ddFrom('zstd', `${raw}.zst`),
    'nexus .zst (write only)': () => ours(`${raw}.zst`, false),
  };
  const times: Record<string, number[]> = Object.fromEntries(Object.keys(cases).map((k) => [k, []]));
  for (const fn of Object.values(cases)) await fn(); // warm-up: page cache, recycled buffers, wasm
  for (let i = 0; i < RUNS; i++) {
    for (const [name, fn] of Object.entries(cases)) {
      const t = performance.now();
      await fn();
      times[name]!.push(performance.now() - t);
    }
  }
  const m = (k: string) => median(times[k]!);

  process.stdout.write(`image ${SIZE / MiB} MiB on ${dev} (backing file in ${BASE}), median of ${RUNS} runs after a warm-up\n\n`);
  process.stdout.write(`${'case'.padEnd(40)} ${'time'.padStart(9)} ${'throughput'.padStart(12)}\n`);
  for (const k of Object.keys(cases)) process.stdout.write(`${k.padEnd(40)} ${`${m(k).toFixed(0)} ms`.padStart(9)} ${mbps(SIZE, m(k)).padStart(12)}\n`);

  const ratio = (label: string, value: number, target: string, ok: boolean) => process.stdout.write(`${label.padEnd(52)} ${value.toFixed(2).padStart(6)}×  target ${target.padEnd(7)} ${ok ? 'ok' : 'MISSED'}\n`);
  process.stdout.write('\n');
  const r1 = m('dd raw') / m('nexus raw (write only)');
  ratio('raw write speed vs dd', r1, '≥ 1.0', r1 >= 1.0);
  const r2 = m('nexus raw (write + verify)') / m('nexus raw (write only)');
  ratio('write+verify time / write time', r2, '≤ 2.1', r2 <= 2.1);
  const r3 = m('bmaptool copy (sparse + bmap)') / m('nexus sparse + bmap (write only)');
  ratio('bmap write speed vs bmaptool copy', r3, '≥ 1.0', r3 >= 1.0);
  const r4 = m('dd sparse (whole image)') / m('nexus sparse + bmap (write only)');
  ratio('bmap write speed vs dd of the whole image', r4, '≥ 1.8', r4 >= 1.8);
  const r5 = m('xz -dc | dd') / m('nexus .xz (write only)');
  ratio('.xz write speed vs xz -dc | dd', r5, '≥ 0.9', r5 >= 0.9);
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
  process.stdout.write(`\npeak RSS of the writer (write + verify): ${SIZE / MiB} MiB image ${(a.maxRssKiB / 1024).toFixed(0)} MB, ${bigSize / MiB} MiB image ${(b.maxRssKiB / 1024).toFixed(0)} MB  target < 200 MB ${Math.max(a.maxRssKiB, b.maxRssKiB) < 200 * 1024 ? 'ok' : 'MISSED'}\n`);
  await rm(big, { force: true });
} finally {
  await loops.detachAll();
}
