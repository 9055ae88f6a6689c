/** Writing and verifying one or several drives; a write still running after a reload is picked up again. */
import { create } from 'zustand';
import type { ErrorInfo, Payload } from '../../src-shared/contract';
import type { FlashProgress, FlashResult, FlashSource } from '../../src-shared/flash';
import { call, newJobId } from './api';
import type { LogEvent, ProgressEvent } from '../../src-shared/progress';
import { cancelJob, runJob, withLogLine, withStage, type JobStatus } from './job';
import { useDrivesStore } from './drives-store';

interface FlashState {
  status: JobStatus;
  jobId: string | null;
  targets: string[];
  /** The image being written (shown for a write picked up after a reload). */
  source: string | null;
  progress: FlashProgress | null;
  /** The write's stages and log lines, reported like a build's (write, verify, finish). */
  stages: ProgressEvent[];
  log: LogEvent[];
  result: FlashResult | null;
  error: ErrorInfo | null;
  cancelling: boolean;
  start(source: FlashSource, bmap: string | null, targets: string[], options: { verify: boolean; eject: boolean }): Promise<void>;
  /** Finds a write started before this page was loaded; true when there is one (it is then followed). */
  resume(): Promise<boolean>;
  cancel(): Promise<void>;
  onProgress(p: Payload<'flash.progress'>): void;
  onStage(p: Payload<'flash.stage'>): void;
  onLog(p: Payload<'flash.log'>): void;
  onFinished(p: Payload<'flash.finished'>): void;
  reset(): void;
}

const initial = {
  status: 'idle' as JobStatus,
  jobId: null,
  targets: [],
  source: null,
  progress: null,
  stages: [],
  log: [],
  result: null,
  error: null,
  cancelling: false,
};

function outcome(result: FlashResult): Partial<FlashState> {
  const failed = result.targets.find((t) => t.error);
  return {
    status: result.cancelled ? 'cancelled' : result.ok ? 'done' : 'failed',
    result,
    error: result.ok ? null : (failed?.error ?? null),
    cancelling: false,
  };
}

export const useFlashStore = create<FlashState>((set, get) => ({
  ...initial,
  async start(source, bmap, targets, { verify, eject }) {
    if (get().status === 'running') return;
    const jobId = newJobId();
    set({ ...initial, status: 'running', jobId, targets, source: source.kind === 'file' ? source.path : source.url });
    // The next job starts with no drive ticked: these were for this image.
    useDrivesStore.getState().clearSelection();
    const o = await runJob(() => call('flash.start', { jobId, source, bmap, targets, verify, eject }));
    if (get().jobId === jobId) set(o.status === 'done' ? outcome(o.value) : { status: o.status, error: o.error, cancelling: false });
  },
  async resume() {
    if (get().status === 'running') return true;
    const running = await call('flash.running', {}).catch(() => []);
    const w = running[0];
    if (!w) return false;
    set({ ...initial, status: 'running', jobId: w.jobId, targets: w.targets, source: w.source, progress: w.progress });
    return true;
  },
  async cancel() {
    const { jobId, status } = get();
    if (!jobId || status !== 'running') return;
    set({ cancelling: true });
    await cancelJob(jobId);
  },
  onProgress({ jobId, progress }) {
    if (jobId === get().jobId) set({ progress });
  },
  onStage({ jobId, event }) {
    if (jobId === get().jobId) set({ stages: withStage(get().stages, event) });
  },
  onLog({ jobId, event }) {
    if (jobId === get().jobId) set({ log: withLogLine(get().log, event) });
  },
  onFinished({ jobId, result, error }) {
    // Only a write this page did not start itself needs this: start() has the response.
    if (jobId !== get().jobId || get().status !== 'running') return;
    if (result) set(outcome(result));
    else if (error) set({ status: error.code === 'CANCELLED' ? 'cancelled' : 'failed', error, cancelling: false });
  },
  reset() {
    if (get().status !== 'running') set({ ...initial });
  },
}));
