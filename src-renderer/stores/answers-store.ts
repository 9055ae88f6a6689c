/** Sharing an openbox build's install answers with OpenBSD's installer on the local network (answers.serve). */
import { create } from 'zustand';
import type { ErrorInfo, Payload } from '../../src-shared/contract';
import { call, newJobId } from './api';
import { cancelJob, runJob } from './job';

export type AnswersStatus = 'idle' | 'starting' | 'serving' | 'failed';

interface AnswersState {
  status: AnswersStatus;
  jobId: string | null;
  /** The history entry whose answers are shared. */
  historyId: string | null;
  urls: string[];
  fetches: Payload<'answers.request'>['request'][];
  error: ErrorInfo | null;
  start(historyId: string, port: number): Promise<void>;
  stop(): Promise<void>;
  onReady(p: Payload<'answers.ready'>): void;
  onRequest(p: Payload<'answers.request'>): void;
}

export const useAnswersStore = create<AnswersState>((set, get) => ({
  status: 'idle',
  jobId: null,
  historyId: null,
  urls: [],
  fetches: [],
  error: null,
  async start(historyId, port) {
    if (get().status === 'starting' || get().status === 'serving') return;
    const jobId = newJobId();
    set({ status: 'starting', jobId, historyId, urls: [], fetches: [], error: null });
    const o = await runJob(() => call('answers.serve', { jobId, historyId, port }));
    if (get().jobId !== jobId) return;
    set(o.status === 'failed' ? { status: 'failed', jobId: null, urls: [], error: o.error } : { status: 'idle', jobId: null, urls: [] });
  },
  async stop() {
    await cancelJob(get().jobId);
  },
  onReady(p) {
    if (p.jobId === get().jobId) set({ status: 'serving', urls: p.urls });
  },
  onRequest(p) {
    if (p.jobId === get().jobId) set({ fetches: [...get().fetches, p.request].slice(-20) });
  },
}));
