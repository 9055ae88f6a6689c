/** The live drive list (hot-plug), the drives chosen as targets, and the drives a running write holds. */
import { create } from 'zustand';
import type { ErrorInfo, RunningWrite } from '../../src-shared/contract';
import type { Drive } from '../../src-shared/drives';
import { api, call, errorInfo } from './api';

interface DrivesState {
  drives: Drive[];
  selected: string[];
  /** The write source (WriteSource.key) the selection was made for: a new job starts with nothing ticked. */
  selectionFor: string | null;
  loaded: boolean;
  error: ErrorInfo | null;
  /** Eject the drives when writing and verifying are done. */
  eject: boolean;
  /** Show zram, loop, RAM and other virtual block devices. */
  showVirtual: boolean;
  /** Writes running now (this window's or one started before a reload): their drives are in use. */
  busy: RunningWrite[];
  setEject(eject: boolean): void;
  setShowVirtual(show: boolean): void;
  watch(): () => void;
  refresh(): Promise<void>;
  refreshBusy(): Promise<void>;
  setDrives(drives: Drive[]): void;
  /** Drops a selection made for another job. */
  selectFor(key: string): void;
  toggle(device: string): void;
  clearSelection(): void;
}

export const useDrivesStore = create<DrivesState>((set, get) => ({
  drives: [],
  selected: [],
  selectionFor: null,
  loaded: false,
  error: null,
  eject: true,
  showVirtual: false,
  busy: [],
  setEject(eject) {
    set({ eject });
  },
  setShowVirtual(showVirtual) {
    set({ showVirtual });
  },
  watch() {
    void get().refresh();
    void get().refreshBusy();
    const stops = [api()['drives.changed'](({ drives }) => get().setDrives(drives)), api()['flash.finished'](() => void get().refreshBusy())];
    return () => stops.forEach((s) => s());
  },
  async refresh() {
    try {
      get().setDrives(await call('drives.list', {}));
    } catch (err) {
      set({ error: errorInfo(err), loaded: true });
    }
  },
  async refreshBusy() {
    const busy = await call('flash.running', {}).catch(() => null);
    if (busy) set({ busy, selected: get().selected.filter((d) => !busy.some((w) => w.targets.includes(d))) });
  },
  setDrives(drives) {
    // A drive that disappeared is no longer a target.
    set({ drives, loaded: true, error: null, selected: get().selected.filter((d) => drives.some((x) => x.device === d)) });
  },
  selectFor(key) {
    if (get().selectionFor !== key) set({ selected: [], selectionFor: key });
  },
  toggle(device) {
    const s = get().selected;
    set({ selected: s.includes(device) ? s.filter((d) => d !== device) : [...s, device] });
  },
  clearSelection() {
    set({ selected: [] });
  },
}));
