/**
 * Build stages in plain words, and one overall progress figure across the whole build.
 *
 * Each stage's weight is its typical duration in seconds, measured on the development machines (2 cores, Debian's
 * test feed over loopback; see WEIGHTS_MEASURED). The overall bar adds the weights of finished stages and the
 * running stage's own fraction; time left scales the remaining weights by how fast this build has been so far
 * compared with the measurement, so a slow mirror or a slow computer is accounted for after the first stages.
 */
import type { ProgressEvent } from './progress';

export interface StageInfo {
  /** What a newcomer reads. */
  name: string;
  /** Typical seconds (cold cache, tinybox/cryptobox); only the ratios between stages matter. */
  weight: number;
}

/** When and how the weights were measured (shown nowhere; here so the next person can redo it). */
export const WEIGHTS_MEASURED =
  '2026-12-03, 2 shared cores under load ~8: tinybox on qemu-x86_64 and rpi5, cryptobox on qemu-x86_64, cold cache, ' +
  'test feed over loopback (mean of the three; fetch is longer from a real mirror, which the pace factor absorbs). ' +
  'compress, boot-test and the official-image stages are estimates (not measured here).';

export const STAGES: Readonly<Record<string, StageInfo>> = {
  'packages-resolve': { name: 'Choosing the packages', weight: 0.3 },
  'packages-fetch': { name: 'Downloading the packages', weight: 1.3 },
  'packages-unpack': { name: 'Unpacking the packages', weight: 1.6 },
  'packages-lock': { name: 'Recording the exact versions', weight: 0.1 },
  rootfs: { name: 'Collecting the system files', weight: 0.1 },
  configure: { name: 'Applying your settings', weight: 1.8 },
  initramfs: { name: 'Preparing the start-up files', weight: 2.5 },
  filesystems: { name: 'Making the filesystems', weight: 1 },
  boot: { name: 'Making the boot partition', weight: 1.7 },
  pack: { name: 'Writing the image file', weight: 2.9 },
  compress: { name: 'Compressing the image', weight: 5 },
  'boot-test': { name: 'Test-starting it in a virtual machine', weight: 30 },
  'official-checksums': { name: 'Checking the official signatures', weight: 1 },
  'official-image': { name: 'Downloading the official image', weight: 30 },
  'official-answers': { name: 'Preparing the install answers', weight: 0.5 },
  'official-output': { name: 'Saving the image', weight: 2 },
};

/** A stage's plain name; an unknown stage keeps the title the engine gave it. */
export function stageName(id: string, title?: string): string {
  return STAGES[id]?.name ?? (title || id);
}

const weightOf = (id: string) => STAGES[id]?.weight ?? 1;
const FINISHED = new Set(['done', 'skipped']);

export interface OverallProgress {
  /** 0..1 across every stage of the build. */
  fraction: number;
  /** null until there is enough to go on (the first second of a build). */
  etaSeconds: number | null;
}

/**
 * stages: the latest event of every stage (the runner announces them all as pending first, so the whole build is
 * known from the start); startedAt: per stage, when it started running (ms); now: the clock.
 */
export function overallProgress(stages: readonly ProgressEvent[], startedAt: Readonly<Record<string, number>>, now: number): OverallProgress {
  if (stages.length === 0) return { fraction: 0, etaSeconds: null };
  let total = 0;
  let doneWeight = 0;
  let expectedSoFar = 0;
  let runningLeft = 0;
  for (const s of stages) {
    const w = weightOf(s.stage);
    total += w;
    const started = startedAt[s.stage];
    if (FINISHED.has(s.status)) {
      doneWeight += w;
      expectedSoFar += w;
    } else if (s.status === 'running' && started !== undefined) {
      const spent = Math.max(0, (now - started) / 1000);
      // A stage without its own fraction is estimated from its time against its weight, never shown as finished.
      const f = s.fraction ?? Math.min(0.9, spent / w / 2);
      doneWeight += w * f;
      expectedSoFar += w * f;
      runningLeft = s.etaSeconds ?? NaN;
    }
  }
  const first = Math.min(...Object.values(startedAt));
  const elapsed = Number.isFinite(first) ? Math.max(0, (now - first) / 1000) : 0;
  const fraction = total > 0 ? Math.min(1, doneWeight / total) : 0;
  if (fraction >= 1) return { fraction: 1, etaSeconds: 0 };
  if (elapsed < 1 || expectedSoFar <= 0) return { fraction, etaSeconds: null };
  // How this build compares with the measurement so far (bounded: one odd stage must not make the estimate absurd).
  const pace = Math.min(20, Math.max(0.05, elapsed / expectedSoFar));
  let eta = (total - doneWeight) * pace;
  // A running stage that knows its bytes and rate knows its own time left better than the weights do.
  if (Number.isFinite(runningLeft)) {
    const running = stages.find((s) => s.status === 'running');
    if (running && running.fraction !== null) eta += runningLeft - weightOf(running.stage) * (1 - running.fraction) * pace;
  }
  return { fraction, etaSeconds: Math.max(0, Math.round(eta)) };
}
