/** Sharing an openbox build's install answers with OpenBSD's installer on the local network (answers.serve). */
import { create } from 'zustand';
import type { ErrorInfo, Payload } from '../../src-shared/contract';
import { call, errorInfo, newJobId } from './api';

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
    try {
      await call('answers.serve', { jobId, historyId, port });
      if (get().jobId === jobId) set({ status: 'idle', jobId: null, urls: [] });
    } catch (err) {
      if (get().jobId === jobId) set({ status: 'failed', jobId: null, urls: [], error: errorInfo(err) });
    }
  },
  async stop() {
    const { jobId } = get();
    if (!jobId) return;
    await call('answers.stop', { jobId }).catch(() => undefined);
  },
  onReady(p) {
    if (p.jobId === get().jobId) set({ status: 'serving', urls: p.urls });
  },
  onRequest(p) {
    if (p.jobId === get().jobId) set({ fetches: [...get().fetches, p.request].slice(-20) });
  },
}));
