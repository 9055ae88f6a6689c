/**
 * "Try in a VM": one QEMU boot of a built image, kept running until Stop, its serial console streamed in as
 * text (terminal escape sequences removed), the boot marker's line remembered so the view can highlight it.
 */
import { create } from 'zustand';
import type { ErrorInfo, Payload } from '../../src-shared/contract';
import { call, errorInfo, newJobId } from './api';
import { cancelJob, runJob } from './job';

/** Lines kept on screen (older ones scroll away; the full log stays next to the image). */
export const VM_CONSOLE_LINES = 2000;

// eslint-disable-next-line no-control-regex -- terminal escape sequences are what is removed
const ANSI = /\x1b(\[[0-9;?=]*[ -/]*[@-~]|\][^\x07\x1b]*(\x07|\x1b\\)|[()][A-Z0-9]|[=>78cDEHM])/g;
// eslint-disable-next-line no-control-regex -- other control characters (bell, backspace…) have no place in the view
const CONTROL = /[\x00-\x08\x0b-\x1f\x7f]/g;

/**
 * An escape sequence cut off at the end of a chunk (QEMU's serial port may send byte by byte), or a CR whose LF
 * may come next: held back until the next chunk completes it.
 */
// eslint-disable-next-line no-control-regex -- the escape character is what is matched
const PARTIAL_ANSI = /(\x1b(\[[0-9;?=]*[ -/]*|\][^\x07\x1b]*|[()])?|\r)$/;

/** Console bytes → display text: escape sequences and stray control characters removed, CRLF → LF. */
export function consoleText(raw: string): string {
  return raw.replace(ANSI, '').replace(/\r\n?/g, '\n').replace(CONTROL, '');
}

interface VmState {
  historyId: string | null;
  jobId: string | null;
  status: 'idle' | 'booting' | 'running' | 'stopping' | 'stopped' | 'failed';
  lines: string[];
  /** The unfinished last line. */
  partial: string;
  /** An escape sequence whose end has not arrived yet (raw). */
  pendingEscape: string;
  marker: string | null;
  seconds: number | null;
  error: ErrorInfo | null;
  start(historyId: string): Promise<void>;
  stop(): Promise<void>;
  type(text: string): Promise<void>;
  onConsole(p: Payload<'vm.console'>): void;
  /** Forgets a finished run (a new build or Start over). */
  reset(): void;
}

const initial = { historyId: null, jobId: null, status: 'idle' as const, lines: [], partial: '', pendingEscape: '', marker: null, seconds: null, error: null };

export const useVmStore = create<VmState>((set, get) => ({
  ...initial,
  async start(historyId) {
    if (get().status === 'booting' || get().status === 'running') return;
    const jobId = newJobId();
    set({ ...initial, historyId, jobId, status: 'booting' });
    const o = await runJob(() => call('vm.try', { jobId, historyId, keepRunning: true }));
    if (get().jobId !== jobId) return;
    const r = o.value;
    if (!r) set({ status: o.status === 'cancelled' ? 'stopped' : 'failed', error: o.status === 'cancelled' ? null : o.error });
    else
      set({
        status: r.passed ? 'stopped' : 'failed',
        seconds: r.seconds,
        error: r.passed
          ? null
          : { code: 'VM_NO_MARKER', message: 'The image did not reach its boot marker in QEMU.', hint: `The whole console is in ${r.log}.` },
      });
  },
  async stop() {
    const { jobId, status } = get();
    if (!jobId || (status !== 'booting' && status !== 'running')) return;
    set({ status: 'stopping' });
    await cancelJob(jobId);
  },
  async type(text) {
    const { jobId, status } = get();
    if (jobId && status === 'running') await call('vm.input', { jobId, text }).catch((err) => set({ error: errorInfo(err) }));
  },
  onConsole({ jobId, text, marker }) {
    if (jobId !== get().jobId) return;
    if (marker) {
      set({ marker: consoleText(marker).trim(), status: get().status === 'booting' ? 'running' : get().status });
      return;
    }
    const raw = get().pendingEscape + text;
    const cut = PARTIAL_ANSI.exec(raw);
    const pendingEscape = cut ? cut[0] : '';
    const all = get().partial + consoleText(cut ? raw.slice(0, cut.index) : raw);
    const parts = all.split('\n');
    const partial = parts.pop() ?? '';
    const lines = parts.length ? [...get().lines, ...parts].slice(-VM_CONSOLE_LINES) : get().lines;
    set({ lines, partial, pendingEscape });
  },
  reset() {
    if (get().status !== 'booting' && get().status !== 'running') set({ ...initial });
  },
}));
