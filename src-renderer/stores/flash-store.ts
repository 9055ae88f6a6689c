/** Writing and verifying one or several drives. */
import { create } from 'zustand';
import type { ErrorInfo, Payload } from '../../src-shared/contract';
import type { FlashProgress, FlashResult, FlashSource } from '../../src-shared/flash';
import { call, errorInfo, newJobId } from './api';
import type { JobStatus } from './build-store';

interface FlashState {
  status: JobStatus;
  jobId: string | null;
  targets: string[];
  progress: FlashProgress | null;
  result: FlashResult | null;
  error: ErrorInfo | null;
  cancelling: boolean;
  start(source: FlashSource, bmap: string | null, targets: string[], options: { verify: boolean; eject: boolean }): Promise<void>;
  cancel(): Promise<void>;
  onProgress(p: Payload<'flash.progress'>): void;
  reset(): void;
}

const initial = { status: 'idle' as JobStatus, jobId: null, targets: [], progress: null, result: null, error: null, cancelling: false };

export const useFlashStore = create<FlashState>((set, get) => ({
  ...initial,
  async start(source, bmap, targets, { verify, eject }) {
    if (get().status === 'running') return;
    const jobId = newJobId();
    set({ ...initial, status: 'running', jobId, targets });
    try {
      const result = await call('flash.start', { jobId, source, bmap, targets, verify, eject });
      const failed = result.targets.find((t) => t.error);
      set({
        status: result.cancelled ? 'cancelled' : result.ok ? 'done' : 'failed',
        result,
        error: result.ok ? null : (failed?.error ?? null),
        cancelling: false,
      });
    } catch (err) {
      const error = errorInfo(err);
      set({ status: error.code === 'CANCELLED' ? 'cancelled' : 'failed', error, cancelling: false });
    }
  },
  async cancel() {
    const { jobId, status } = get();
    if (!jobId || status !== 'running') return;
    set({ cancelling: true });
    await call('flash.cancel', { jobId }).catch(() => undefined);
  },
  onProgress({ jobId, progress }) {
    if (jobId === get().jobId) set({ progress });
  },
  reset() {
    if (get().status !== 'running') set({ ...initial });
  },
}));
