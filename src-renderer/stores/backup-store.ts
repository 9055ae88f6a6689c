/** "Back up a card": read a drive into NAME.img.zst (+ .bmap) in the app's output directory, with progress. */
import { create } from 'zustand';
import type { BackupProgress, BackupResult } from '../../src-shared/backup';
import type { ErrorInfo, Payload } from '../../src-shared/contract';
import { call, newJobId } from './api';
import { cancelJob, runJob, type JobStatus } from './job';

interface BackupState {
  status: JobStatus;
  jobId: string | null;
  device: string | null;
  progress: BackupProgress | null;
  result: BackupResult | null;
  error: ErrorInfo | null;
  start(device: string, name: string): Promise<void>;
  cancel(): Promise<void>;
  onProgress(p: Payload<'backup.progress'>): void;
  reset(): void;
}

const initial = { status: 'idle' as JobStatus, jobId: null, device: null, progress: null, result: null, error: null };

/** A default backup name: the drive's name and today's date, e.g. sdb-2026-12-03.img.zst. */
export function defaultBackupName(device: string, now = new Date()): string {
  const base =
    device
      .split('/')
      .at(-1)!
      .replace(/[^A-Za-z0-9_-]/g, '') || 'card';
  return `${base}-${now.toISOString().slice(0, 10)}.img.zst`;
}

export const useBackupStore = create<BackupState>((set, get) => ({
  ...initial,
  async start(device, name) {
    if (get().status === 'running') return;
    const jobId = newJobId();
    set({ ...initial, status: 'running', jobId, device });
    const o = await runJob(() => call('backup.start', { jobId, device, name }));
    if (get().jobId === jobId) set(o.status === 'done' ? { status: 'done', result: o.value } : { status: o.status, error: o.error });
  },
  async cancel() {
    const { jobId, status } = get();
    if (status === 'running') await cancelJob(jobId);
  },
  onProgress({ jobId, progress }) {
    if (jobId === get().jobId) set({ progress });
  },
  reset() {
    if (get().status !== 'running') set({ ...initial });
  },
}));
