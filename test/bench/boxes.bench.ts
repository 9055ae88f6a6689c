/**
 * The three larger Boxes on their three VMs (issue 16), printed, never asserted: dragonbox, nexbox and linbox's
 * kiosk session (the CI-sized linbox of test/support/linbox-kiosk.ts) for qemu-x86_64, qemu-arm64 and qemu-riscv64,
 * each built cold (empty Nexus cache: every package fetched from the loopback test mirror and verified) and then warm
 * (same plan, every stage cached), with the package count, the image's apparent and allocated size and the main
 * thread's longest task during the cold build. Baseline in the same run: `cp --sparse=always` of the image.
 *
 * The test feeds (Debian payloads in Alpine replica packages) are built or reused first and not timed: they stand in
 * for Alpine's mirror. Boot times to login come from the VM tests (dragonbox-*, nexbox-*, linbox-*), which print them.
 *   npm run bench boxes                 all nine
 *   NEXUS_BENCH_BOXES=nexbox NEXUS_BENCH_TARGETS=qemu-arm64 npm run bench boxes
 */
import { execa } from 'execa';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BuildPlan } from '../../src-shared/plan';
import { probeMainThread } from '../../src-main/engine/workers/main-thread-probe';
import { debianTestFeed } from '../support/debian-test-feed';
import { buildFromTestFeed, FEED_ARCH, planFor, TEST_USER } from '../support/image-build';
import { ciLinboxPlan } from '../support/linbox-kiosk';

const MiB = 1024 * 1024;
const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const mib = (b: number) => `${(b / MiB).toFixed(1)} MiB`;
const list = (env: string | undefined, all: string[]) => (env ? env.split(',').filter((x) => all.includes(x)) : all);

const BOXES: Record<string, { packs: Array<'dragonbox' | 'nexbox' | 'linbox'>; plan: (target: string, out: string) => Promise<BuildPlan> }> = {
  dragonbox: { packs: ['dragonbox', 'nexbox'], plan: (t, o) => planFor('dragonbox', t, o, TEST_USER) },
  nexbox: { packs: ['dragonbox', 'nexbox'], plan: (t, o) => planFor('nexbox', t, o, TEST_USER) },
  'linbox kiosk': { packs: ['linbox'], plan: (t, o) => ciLinboxPlan(t, o, TEST_USER) },
};
const boxes = list(process.env.NEXUS_BENCH_BOXES, Object.keys(BOXES));
const targets = list(process.env.NEXUS_BENCH_TARGETS, ['qemu-x86_64', 'qemu-arm64', 'qemu-riscv64']);

const dir = await mkdtemp(join(tmpdir(), 'nexus-bench-boxes-'));
const rows: string[][] = [['Box', 'target', 'packages', 'cold build', 'warm build', 'apparent', 'allocated', 'cp --sparse', 'longest task (cold)']];
try {
  for (const box of boxes) {
    for (const target of targets) {
      const spec = BOXES[box]!;
      const feed = await debianTestFeed(FEED_ARCH[target]!, { packs: spec.packs });
      process.env.NEXUS_CACHE_DIR = join(dir, `cache-${box}-${target}`.replace(/\s/g, '-'));
      const image = join(dir, 'box.img');
      const plan = await spec.plan(target, image);
      let stage = '(before the first stage)';
      const probe = probeMainThread(() => stage);
      let t = performance.now();
      const cold = await buildFromTestFeed(plan, {
        feed,
        onEvent: (e) => {
          if (e.type === 'progress' && e.status === 'running') stage = e.stage;
        },
      });
      const coldMs = performance.now() - t;
      const block = probe.stop();
      t = performance.now();
      const warm = await buildFromTestFeed(plan, { feed });
      const warmMs = performance.now() - t;
      const st = await stat(image);
      t = performance.now();
      await execa('cp', ['--sparse=always', image, join(dir, 'copy.img')]);
      const cpMs = performance.now() - t;
      rows.push([
        box,
        target,
        String(cold.result.packageCount),
        s(coldMs),
        `${s(warmMs)} (${warm.reused.length} stages reused)`,
        mib(st.size),
        mib(st.blocks * 512),
        s(cpMs),
        `${block.longestTaskMs.toFixed(0)} ms in ${block.longestAt} (load ${loadavg()[0]!.toFixed(1)} on ${availableParallelism()} cores)`,
      ]);
      process.stdout.write(`${rows.at(-1)!.join(' | ')}\n`);
      await rm(process.env.NEXUS_CACHE_DIR, { recursive: true, force: true });
      await rm(image, { force: true });
    }
  }
} finally {
  await rm(dir, { recursive: true, force: true });
}
const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
process.stdout.write(`\n${rows.map((r) => r.map((c, i) => c.padEnd(widths[i]!)).join('  ')).join('\n')}\n`);
