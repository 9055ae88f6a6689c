/**
 * Issue 17, printed, never asserted: the empty F2FS state partition (f2fs/empty-f2fs.ts vs mkfs.f2fs) at cryptobox's
 * 256 MiB and linbox's 4 GiB, and image compression (compress/compress-file.ts: WASM zstd and liblzma on the engine
 * worker vs the host's `zstd -10 -T0` and `xz -6 -T1`) of a 256 MiB image-like file (32 MiB random, 32 MiB text,
 * the rest zeros), with the main thread's longest task and the process's peak RSS (worker included). Outputs are
 * compared in the same run.
 */
import { execa } from 'execa';
import { randomBytes } from 'node:crypto';
import { mkdtemp, open, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compressFile } from '../../src-main/engine/compress/compress-file';
import { writeEmptyF2fs } from '../../src-main/engine/image/f2fs/empty-f2fs';
import { makeF2fs } from '../../src-main/engine/image/tools/f2fs';
import { probeMainThread } from '../../src-main/engine/workers/main-thread-probe';

const MiB = 1024 * 1024;
const row = (label: string, value: string, note = '') => process.stdout.write(`${label.padEnd(52)} ${value.padStart(14)}  ${note}\n`);
const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

async function timed<T>(fn: () => Promise<T>): Promise<{ ms: number; longestTaskMs: number; peakRssMiB: number; value: T }> {
  const probe = probeMainThread();
  let peak = process.memoryUsage().rss;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 50);
  const t = performance.now();
  const value = await fn();
  const ms = performance.now() - t;
  clearInterval(sampler);
  return { ms, longestTaskMs: probe.stop().longestTaskMs, peakRssMiB: Math.round(peak / MiB), value };
}

const dir = await mkdtemp(join(tmpdir(), 'nexus-bench-f2fs-compress-'));
try {
  const o = { uuid: '6f1c1a52-3d9e-4c1b-9f4e-2b7f4f0a9d11', label: 'state', epoch: 1_700_000_000 };
  for (const mib of [256, 4096]) {
    const ours = await timed(() => writeEmptyF2fs(join(dir, 'ours.f2fs'), mib * MiB, o));
    const tool = await timed(() => makeF2fs(join(dir, 'tool.f2fs'), mib * MiB, o));
    const same = (await execa('cmp', [join(dir, 'ours.f2fs'), join(dir, 'tool.f2fs')], { reject: false })).exitCode === 0;
    row(`F2FS ${mib} MiB: in-process`, s(ours.ms), `longest main-thread task ${ours.longestTaskMs.toFixed(0)} ms`);
    row(`F2FS ${mib} MiB: mkfs.f2fs`, s(tool.ms), `identical: ${same}`);
  }
  const image = join(dir, 'image.img');
  const fh = await open(image, 'w');
  await fh.write(randomBytes(32 * MiB), 0, 32 * MiB, 0);
  await fh.write(Buffer.from('nexus imager state partition '.repeat((32 * MiB) / 29 + 1)).subarray(0, 32 * MiB), 0, 32 * MiB, 32 * MiB);
  await fh.truncate(256 * MiB);
  await fh.close();
  for (const [kind, toolArgs] of [
    ['zst', ['zstd', '-q', '-f', '-10', '-T0', '-o', join(dir, 'tool.zst'), image]],
    ['xz', ['sh', '-c', `xz -6 -T1 -c '${image}' > '${join(dir, 'tool.xz')}'`]],
  ] as const) {
    const ours = await timed(() => compressFile(image, join(dir, `ours.${kind}`), kind));
    const tool = await timed(() => execa(toolArgs[0], toolArgs.slice(1)));
    const [a, b] = [(await stat(join(dir, `ours.${kind}`))).size, (await stat(join(dir, `tool.${kind}`))).size];
    const same = (await readFile(join(dir, `ours.${kind}`))).equals(await readFile(join(dir, `tool.${kind}`)));
    row(
      `${kind} 256 MiB image: in-process (worker)`,
      s(ours.ms),
      `${(a / MiB).toFixed(1)} MiB; longest main-thread task ${ours.longestTaskMs.toFixed(0)} ms; peak RSS ${ours.peakRssMiB} MiB`,
    );
    row(
      `${kind} 256 MiB image: ${toolArgs[0] === 'sh' ? 'xz -6 -T1' : 'zstd -10 -T0'}`,
      s(tool.ms),
      `${(b / MiB).toFixed(1)} MiB; ratio ${(ours.ms / tool.ms).toFixed(2)}; identical: ${same}`,
    );
  }
} finally {
  await rm(dir, { recursive: true, force: true });
  process.exit(0); // the engine worker would keep the process alive
}
