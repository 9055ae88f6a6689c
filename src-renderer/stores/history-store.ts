/** Recent builds, to write a card again without rebuilding. */
import { create } from 'zustand';
import type { ErrorInfo, HistoryEntry } from '../../src-shared/contract';
import { call, errorInfo } from './api';

interface HistoryState {
  entries: HistoryEntry[];
  error: ErrorInfo | null;
  load(): Promise<void>;
  remove(id: string): Promise<void>;
}

export const useHistoryStore = create<HistoryState>((set, get) => ({
  entries: [],
  error: null,
  async load() {
    try {
      set({ entries: await call('history.list', {}), error: null });
    } catch (err) {
      set({ error: errorInfo(err) });
    }
  },
  async remove(id) {
    await call('history.remove', { id }).catch(() => undefined);
    await get().load();
  },
}));
