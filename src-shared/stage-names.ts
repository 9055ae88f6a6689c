/**
 * Build stages in plain words, and one overall progress figure across the whole build.
 *
 * Each stage's weight is its typical duration in seconds, measured on the development machines (2 cores, Debian's
 * test feed over loopback; see WEIGHTS_MEASURED). The overall bar adds the weights of finished stages and the
 * running stage's own fraction; time left scales the remaining weights of the local stages by how fast this computer
 * has been so far (the downloads report their own byte-based time left, so a slow mirror does not make the local
 * stages look slow). Replaying two real builds (tinybox 7.7 s, cryptobox 17.6 s, 0.5 s samples) the estimate was
 * off by 3.8 s and 3.6 s on average; a single pace for all stages measured 2.7 s on that loopback mirror but would
 * multiply every later stage by a slow download.
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
/** Stages bound by the network: their time says nothing about this computer's pace (they report bytes and a rate). */
const NETWORK = new Set(['packages-fetch', 'official-image']);
/** Weight-seconds of belief that this computer runs at the measured pace, so the first second cannot swing the estimate. */
const PRIOR = 3;

export interface OverallProgress {
  /** 0..1 across every stage of the build. */
  fraction: number;
  /** null until there is enough to go on (the first second of a build). */
  etaSeconds: number | null;
}

/**
 * stages: the latest event of every stage (the runner announces them all as pending first, so the whole build is
 * known from the start); startedAt: per stage, when it started running (ms); now: the clock.
 * Time left: the local stages' remaining weight × this computer's pace so far (local stages only, with a prior);
 * a download still to come counts its weight as measured, a running one its own byte-based estimate.
 */
export function overallProgress(stages: readonly ProgressEvent[], startedAt: Readonly<Record<string, number>>, now: number): OverallProgress {
  if (stages.length === 0) return { fraction: 0, etaSeconds: null };
  const order = Object.entries(startedAt).sort((a, b) => a[1] - b[1]);
  const spentIn = (id: string) => {
    const i = order.findIndex(([s]) => s === id);
    if (i < 0) return 0;
    return Math.max(0, ((order[i + 1]?.[1] ?? now) - order[i]![1]) / 1000);
  };
  let total = 0;
  let doneWeight = 0;
  let localSpent = 0;
  let localExpected = 0;
  let localLeft = 0;
  let networkLeft = 0;
  for (const s of stages) {
    const w = weightOf(s.stage);
    total += w;
    const finished = FINISHED.has(s.status);
    const running = s.status === 'running' && startedAt[s.stage] !== undefined;
    // A stage without its own fraction is estimated from its time against its weight, never shown as finished.
    const f = finished ? 1 : running ? (s.fraction ?? Math.min(0.9, spentIn(s.stage) / w / 2)) : 0;
    doneWeight += w * f;
    if (NETWORK.has(s.stage)) {
      networkLeft += running && s.etaSeconds !== null ? s.etaSeconds : w * (1 - f);
    } else {
      if (finished || running) {
        localSpent += spentIn(s.stage);
        localExpected += w * f;
      }
      localLeft += w * (1 - f);
    }
  }
  const fraction = total > 0 ? Math.min(1, doneWeight / total) : 0;
  if (fraction >= 1) return { fraction: 1, etaSeconds: 0 };
  const first = order[0]?.[1];
  if (first === undefined || now - first < 1000) return { fraction, etaSeconds: null };
  const pace = Math.min(20, Math.max(0.05, (localSpent + PRIOR) / (localExpected + PRIOR)));
  return { fraction, etaSeconds: Math.max(0, Math.round(localLeft * pace + networkLeft)) };
}
