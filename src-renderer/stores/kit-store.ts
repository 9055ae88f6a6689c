/**
 * Offline kits in the app: what a kit for the ticked choices needs (and which stick each choice needs), preparing it
 * (one file + its checksum, with progress), importing one (verified again) and what this machine can then build.
 * Also the ready-made "Rescue stick for a PC" choice.
 */
import { create } from 'zustand';
import type { ErrorInfo, Payload } from '../../src-shared/contract';
import type { KitAttached, KitBuildable, KitChoice, KitImported, KitPlan, KitPrepared, KitProgress } from '../../src-shared/offline-kit';
import { useBuildStore } from './build-store';
import { api, call, errorInfo, newJobId } from './api';
import { cancelJob, runJob, type JobStatus } from './job';
import { useCustomizeStore } from './customize-store';
import { useSelectionStore } from './selection-store';

type Status = JobStatus;

interface Job<T> {
  status: Status;
  jobId: string | null;
  progress: KitProgress | null;
  result: T | null;
  error: ErrorInfo | null;
}

const idle = { status: 'idle' as Status, jobId: null, progress: null, result: null, error: null };

interface KitState {
  /** The "Offline kit" dialog (opened from the toolbar, or from the Build step when no mirror answers). */
  dialogOpen: boolean;
  setDialogOpen(open: boolean): void;
  plan: { status: Status; value: KitPlan | null; error: ErrorInfo | null; key: string | null };
  prepare: Job<KitPrepared>;
  import: Job<KitImported>;
  planFor(choices: KitChoice[]): Promise<void>;
  prepareKit(choices: KitChoice[]): Promise<void>;
  importKit(path: string): Promise<void>;
  cancel(which: 'prepare' | 'import'): Promise<void>;
  attach: { status: Status; result: KitAttached | null; error: ErrorInfo | null };
  /** Puts the kit on a copy of the image just built (a NEXUS-KIT partition); the next steps then write that copy. */
  attachToBuild(kitFile: string): Promise<void>;
  onProgress(p: Payload<'kit.progress'>): void;
}

export const RESCUE_PC: KitChoice = { profile: 'tinybox', target: 'pc', fragments: ['rescue'] };

/** Kit progress events matter only while a kit job runs: listened to for its duration. */
async function withProgress<T>(onProgress: (p: Payload<'kit.progress'>) => void, run: () => Promise<T>): Promise<T> {
  const stop = api()['kit.progress'](onProgress);
  try {
    return await run();
  } finally {
    stop();
  }
}

export const useKitStore = create<KitState>((set, get) => ({
  dialogOpen: false,
  setDialogOpen: (open) => set({ dialogOpen: open }),
  plan: { status: 'idle', value: null, error: null, key: null },
  prepare: { ...idle },
  import: { ...idle },

  async planFor(choices) {
    const key = JSON.stringify(choices);
    set({ plan: { status: 'running', value: null, error: null, key } });
    try {
      const value = await call('kit.plan', { choices });
      if (get().plan.key === key) set({ plan: { status: 'done', value, error: null, key } });
    } catch (err) {
      if (get().plan.key === key) set({ plan: { status: 'failed', value: null, error: errorInfo(err), key } });
    }
  },

  async prepareKit(choices) {
    if (get().prepare.status === 'running') return;
    const jobId = newJobId();
    set({ prepare: { ...idle, status: 'running', jobId } });
    const o = await runJob(() =>
      withProgress(
        (p) => get().onProgress(p),
        () => call('kit.prepare', { jobId, choices }),
      ),
    );
    set({ prepare: { ...get().prepare, status: o.status, ...(o.value ? { result: o.value } : { error: o.error }) } });
  },

  async importKit(path) {
    if (get().import.status === 'running') return;
    const jobId = newJobId();
    set({ import: { ...idle, status: 'running', jobId } });
    const o = await runJob(() =>
      withProgress(
        (p) => get().onProgress(p),
        () => call('kit.import', { jobId, path: path.trim() }),
      ),
    );
    set({ import: { ...get().import, status: o.status, ...(o.value ? { result: o.value } : { error: o.error }) } });
  },

  attach: { status: 'idle', result: null, error: null },
  async attachToBuild(kitFile) {
    const built = useBuildStore.getState().result;
    if (!built || get().attach.status === 'running') return;
    set({ attach: { status: 'running', result: null, error: null } });
    try {
      const result = await call('kit.attach', { historyId: built.historyId, kitFile });
      set({ attach: { status: 'done', result, error: null } });
      useBuildStore.setState({
        result: { ...built, historyId: result.historyId, image: result.image, sha256: result.sha256, size: result.size, files: result.files },
      });
    } catch (err) {
      set({ attach: { status: 'failed', result: null, error: errorInfo(err) } });
    }
  },

  async cancel(which) {
    if (get()[which].status === 'running') await cancelJob(get()[which].jobId);
  },

  onProgress({ jobId, progress }) {
    if (get().prepare.jobId === jobId) set({ prepare: { ...get().prepare, progress } });
    else if (get().import.jobId === jobId) set({ import: { ...get().import, progress } });
  },
}));

/** Whether the cache alone (no mirror) can build `choice`; null when that cannot be asked. */
export async function offlineStatus(choice: KitChoice): Promise<KitBuildable | null> {
  try {
    return (await call('kit.status', { choices: [choice] }))[0] ?? null;
  } catch {
    return null;
  }
}

/** "Rescue stick for a PC": tinybox with the rescue tools for a PC (x86_64, UEFI). */
export function chooseRescueStick(): void {
  const sel = useSelectionStore.getState();
  sel.chooseBox(RESCUE_PC.profile);
  sel.chooseArch('x86_64');
  sel.chooseBoard(RESCUE_PC.target);
  useCustomizeStore.setState({ fragments: [...RESCUE_PC.fragments] });
}
