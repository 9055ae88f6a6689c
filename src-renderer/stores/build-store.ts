/** A build: its stages with progress, the live log, the result or the error, cancellation, "Try in a VM". */
import { create } from 'zustand';
import type { BuildOutcome, ErrorInfo, Payload, Req, Res } from '../../src-shared/contract';

type BuildRequest = Req<'build.start'>['build'];
import type { LogEvent, ProgressEvent } from '../../src-shared/progress';
import { call, errorInfo, newJobId } from './api';
import { cancelJob, runJob, withLogLine, withStage, type JobStatus } from './job';

export type { JobStatus } from './job';

interface BuildState {
  status: JobStatus;
  jobId: string | null;
  /** In the order the stages first reported. */
  stages: ProgressEvent[];
  /** When each stage started running (ms since the epoch), for the overall time left. */
  startedAt: Record<string, number>;
  log: LogEvent[];
  result: BuildOutcome | null;
  error: ErrorInfo | null;
  /** The selection the result was built from, so a changed selection means "build again". */
  builtKey: string | null;
  cancelling: boolean;
  vm: { status: JobStatus; jobId: string | null; passed?: boolean; seconds?: number; error?: ErrorInfo };
  /** What the selection resolves to, before building (checks it early, shows packages and partitions). */
  plan: { value: Res<'plan.resolve'> | null; error: ErrorInfo | null };
  resolvePlan(request: BuildRequest): Promise<void>;
  /** offline: from the cache only (an imported offline kit), no mirror asked. */
  start(request: BuildRequest | (() => Promise<BuildRequest>), key: string, opts?: { offline?: boolean }): Promise<void>;
  cancel(): Promise<void>;
  tryInVm(): Promise<void>;
  onProgress(p: Payload<'build.progress'>): void;
  onLog(p: Payload<'build.log'>): void;
  reset(): void;
}

const initial = {
  status: 'idle' as JobStatus,
  jobId: null,
  stages: [],
  startedAt: {},
  log: [],
  result: null,
  error: null,
  builtKey: null,
  cancelling: false,
  vm: { status: 'idle' as JobStatus, jobId: null },
};
const noPlan = { value: null, error: null };

export const useBuildStore = create<BuildState>((set, get) => ({
  ...initial,
  plan: noPlan,
  async resolvePlan(request) {
    try {
      set({ plan: { value: await call('plan.resolve', request), error: null } });
    } catch (err) {
      set({ plan: { value: null, error: errorInfo(err) } });
    }
  },
  async start(request, key, opts) {
    if (get().status === 'running') return;
    const jobId = newJobId();
    set({ ...initial, status: 'running', jobId });
    const o = await runJob(async () => {
      const build = typeof request === 'function' ? await request() : request;
      return call('build.start', { jobId, build, ...(opts?.offline ? { offline: true } : {}) });
    });
    set(o.status === 'done' ? { status: 'done', result: o.value, builtKey: key, cancelling: false } : { status: o.status, error: o.error, cancelling: false });
  },
  async cancel() {
    const { jobId, status } = get();
    if (!jobId || status !== 'running') return;
    set({ cancelling: true });
    await cancelJob(jobId);
  },
  async tryInVm() {
    const result = get().result;
    if (!result || get().vm.status === 'running') return;
    const jobId = newJobId();
    set({ vm: { status: 'running', jobId } });
    const o = await runJob(() => call('vm.try', { jobId, historyId: result.historyId }));
    if (o.status === 'done') set({ vm: { status: o.value.passed ? 'done' : 'failed', jobId, passed: o.value.passed, seconds: o.value.seconds } });
    else set({ vm: { status: 'failed', jobId, error: o.error } });
  },
  onProgress({ jobId, event }) {
    if (jobId !== get().jobId) return;
    const stages = withStage(get().stages, event);
    const startedAt =
      event.status === 'running' && get().startedAt[event.stage] === undefined ? { ...get().startedAt, [event.stage]: Date.now() } : get().startedAt;
    set({ stages, startedAt });
  },
  onLog({ jobId, event }) {
    if (jobId !== get().jobId) return;
    set({ log: withLogLine(get().log, event) });
  },
  reset() {
    if (get().status !== 'running') set({ ...initial });
  },
}));
