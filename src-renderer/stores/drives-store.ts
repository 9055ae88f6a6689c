/** The live drive list (hot-plug) and the drives chosen as targets. */
import { create } from 'zustand';
import type { ErrorInfo } from '../../src-shared/contract';
import type { Drive } from '../../src-shared/drives';
import { api, call, errorInfo } from './api';

interface DrivesState {
  drives: Drive[];
  selected: string[];
  loaded: boolean;
  error: ErrorInfo | null;
  /** Eject the drives when writing and verifying are done. */
  eject: boolean;
  setEject(eject: boolean): void;
  watch(): () => void;
  refresh(): Promise<void>;
  setDrives(drives: Drive[]): void;
  toggle(device: string): void;
  clearSelection(): void;
}

export const useDrivesStore = create<DrivesState>((set, get) => ({
  drives: [],
  selected: [],
  loaded: false,
  error: null,
  eject: true,
  setEject(eject) {
    set({ eject });
  },
  watch() {
    void get().refresh();
    return api()['drives.changed'](({ drives }) => get().setDrives(drives));
  },
  async refresh() {
    try {
      get().setDrives(await call('drives.list', {}));
    } catch (err) {
      set({ error: errorInfo(err), loaded: true });
    }
  },
  setDrives(drives) {
    // A drive that disappeared is no longer a target.
    set({ drives, loaded: true, error: null, selected: get().selected.filter((d) => drives.some((x) => x.device === d)) });
  },
  toggle(device) {
    const s = get().selected;
    set({ selected: s.includes(device) ? s.filter((d) => d !== device) : [...s, device] });
  },
  clearSelection() {
    set({ selected: [] });
  },
}));
