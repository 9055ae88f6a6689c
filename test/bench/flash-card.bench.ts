/**
 * Flash on a card-speed device (../shared/tools/slow-card: a loop device throttled like a good microSD card, 40 MB/s
 * write and 80 MB/s read by default), printed beside the physical floor of each case: the bytes it must write at
 * the card's write speed plus the bytes it must read back at its read speed. On page-cache loops (flash.bench.ts)
 * hashing dominates; here the medium does, as it does for a user. One run per case, a 128 MiB image: ~20 s.
 * Run: npm run bench flash-card   (root; needs bmaptool and the cgroup v1 blkio controller)
 */
import { execa } from 'execa';
import { existsSync } from 'node:fs';
import { mkdtemp, open, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { flash, loadBmap } from '../../src-main/engine/flash';
import { listDrives } from '../../src-main/engine/drives';
import { patternBytes } from '../support/loop-devices';

const MiB = 1 << 20;
const MB = 1_000_000;
const SIZE = Number(process.env.NEXUS_BENCH_CARD_MIB ?? 128) * MiB;
const WRITE_MBPS = Number(process.env.NEXUS_BENCH_CARD_WRITE ?? 40);
const READ_MBPS = Number(process.env.NEXUS_BENCH_CARD_READ ?? 80);
const SLOW_CARD = process.env.NEXUS_SLOW_CARD ?? join(import.meta.dirname, '..', '..', '..', 'shared', 'tools', 'slow-card');

if (!existsSync(SLOW_CARD)) {
  process.stdout.write(`skipped: ${SLOW_CARD} not found (set NEXUS_SLOW_CARD)\n`);
  process.exit(0);
}

// Backing files in RAM: the throttle, not the host disk, is then the only slow part.
const base = existsSync('/dev/shm') ? '/dev/shm' : undefined;
const dir = await mkdtemp(join(base ?? '/tmp', 'nexus-bench-card-'));
let card: string | null = null;
try {
  // 50 % sparse: 4 MiB of data every 8 MiB.
  const sparse = join(dir, 'sparse.img');
  const fh = await open(sparse, 'w');
  for (let off = 0; off < SIZE; off += 8 * MiB) await fh.write(patternBytes(4 * MiB, off / MiB + 1), 0, 4 * MiB, off);
  await fh.truncate(SIZE);
  await fh.close();
  const bmap = join(dir, 'sparse.bmap');
  await execa('bmaptool', ['create', '-o', bmap, sparse]);
  const mapped = (await loadBmap(bmap)).mappedBytes;

  const made = await execa(SLOW_CARD, ['create', `${SIZE / MiB + 16}M`, String(WRITE_MBPS), String(READ_MBPS)], {
    env: base ? { TMPDIR: base } : {},
    reject: false,
  });
  if (made.exitCode !== 0) {
    process.stdout.write(`skipped: slow-card could not make a device here (${made.stderr.trim()})\n`);
    process.exit(0);
  }
  card = made.stdout.trim();
  const dev = card;
  const list = () => listDrives({ extraDevices: [dev], drivelist: async () => [] });
  const ours = (verify: boolean, withBmap: boolean) => async () => {
    const r = await flash({ source: { kind: 'file', path: sparse }, targets: [dev], verify, bmap: withBmap ? bmap : null }, { listDrives: list });
    if (!r.ok) throw new Error(`flash failed: ${JSON.stringify(r.targets[0]?.error)}`);
  };
  // [case, run, bytes written, bytes read back]
  const cases: Array<[string, () => Promise<unknown>, number, number]> = [
    ['dd bs=4M oflag=direct (whole image)', () => execa('dd', [`if=${sparse}`, `of=${dev}`, 'bs=4M', 'oflag=direct', 'conv=fsync', 'status=none']), SIZE, 0],
    ['bmaptool copy', () => execa('bmaptool', ['-q', 'copy', '--bmap', bmap, sparse, dev]), mapped, 0],
    ['nexus, whole image (write only)', ours(false, false), SIZE, 0],
    ['nexus, whole image (write + verify)', ours(true, false), SIZE, SIZE],
    ['nexus + bmap (write only)', ours(false, true), mapped, 0],
    ['nexus + bmap (write + verify)', ours(true, true), mapped, mapped],
  ];
  process.stdout.write(
    `card ${dev}: ${WRITE_MBPS} MB/s write, ${READ_MBPS} MB/s read; image ${SIZE / MiB} MiB, ${(mapped / MiB).toFixed(0)} MiB mapped; one run per case\n\n`,
  );
  process.stdout.write(`${'case'.padEnd(40)} ${'time'.padStart(8)} ${'floor'.padStart(8)} ${'time/floor'.padStart(11)}\n`);
  for (const [name, run, written, readBack] of cases) {
    const floor = (written / (WRITE_MBPS * MB) + readBack / (READ_MBPS * MB)) * 1000;
    const t = performance.now();
    await run();
    const ms = performance.now() - t;
    process.stdout.write(
      `${name.padEnd(40)} ${`${(ms / 1000).toFixed(2)} s`.padStart(8)} ${`${(floor / 1000).toFixed(2)} s`.padStart(8)} ${`${(ms / floor).toFixed(2)}×`.padStart(11)}\n`,
    );
  }
  process.stdout.write('\nfloor = bytes written at the write speed + bytes read back at the read speed (the medium alone, no CPU)\n');
} finally {
  if (card) await execa(SLOW_CARD, ['remove', card], { reject: false });
  await rm(dir, { recursive: true, force: true });
}
