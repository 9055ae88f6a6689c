/**
 * A write as a runner pipeline, so it has the same life cycle and progress model as a build: stages
 * (write → verify → finish) with ProgressEvents (bytes, rate, ETA) and LogEvents, cleanup that always runs,
 * and a failed or cancelled write marking its stage failed/cancelled and the rest skipped. The write itself is
 * one call (the privileged helper, or in-process `flash()` when already root) that reports per-drive
 * FlashProgress; each stage follows it until the write reaches the next phase. The per-drive detail still goes
 * to `onProgress` unchanged, and the job resolves with the FlashResult as before (a cancelled or failed write is
 * a result saying what is on each drive, not a throw).
 */
import { CancelledError, NexusError, isCancelled } from '../../../src-shared/errors';
import type { FlashPhase, FlashProgress, FlashRequestInput, FlashResult } from '../../../src-shared/flash';
import type { LogLevel, PipelineEvent } from '../../../src-shared/progress';
import { Pipeline, type Stage, type StageContext } from '../runner';

export interface FlashWriterOptions {
  signal: AbortSignal;
  onProgress(progress: FlashProgress): void;
  onLog(level: LogLevel, message: string): void;
}
/** What performs the write: startFlash (privileged helper) or flash (in-process). */
export type FlashWriter = (request: FlashRequestInput, o: FlashWriterOptions) => Promise<FlashResult>;

export interface FlashJobOptions {
  signal?: AbortSignal;
  /** The write's per-drive progress, as the helper reports it. */
  onProgress?: (progress: FlashProgress) => void;
  /** Stage progress and log lines, as a build reports them. */
  onEvent?: (event: PipelineEvent) => void;
  throttleMs?: number;
}

/** How far along a phase is: a stage ends when the write reaches the next stage's first phase. */
// The end phases (done, failed, cancelled) rank nowhere: only the write's own end (its result) moves past them.
const RANK: Record<FlashPhase, number> = { starting: 0, decompressing: 0, writing: 0, verifying: 1, finishing: 2, done: -1, failed: -1, cancelled: -1 };

/** Follows one running write: its latest progress, its end, and waiting for a phase. */
class WriteFollower {
  latest: FlashProgress | null = null;
  result: FlashResult | null = null;
  private ended = false;
  private error: unknown = null;
  private readonly wake = new Set<() => void>();
  /** The stage following the write now: it gets the progress and the log lines. */
  private stage: StageContext | null = null;

  constructor(
    private readonly writer: FlashWriter,
    private readonly request: FlashRequestInput,
  ) {}

  start(signal: AbortSignal, onProgress: ((p: FlashProgress) => void) | undefined): Promise<void> {
    const progress = (p: FlashProgress) => {
      this.latest = p;
      onProgress?.(p);
      if (this.stage) report(this.stage, p);
      this.notify();
    };
    const onLog = (level: LogLevel, message: string) => this.stage?.log(level, message);
    return this.writer(this.request, { signal, onProgress: progress, onLog })
      .then(
        (r) => void (this.result = r),
        (err: unknown) => void (this.error = err ?? new Error('the write failed')),
      )
      .finally(() => {
        this.ended = true;
        this.notify();
      });
  }

  follow(stage: StageContext): void {
    this.stage = stage;
  }

  /**
   * Resolves when the write reached `rank`; when it ended before, the stage running now is where it stopped:
   * the write's error, a cancellation or a drive's failure is thrown there.
   */
  async reach(rank: number): Promise<void> {
    await new Promise<void>((resolve) => {
      const check = () => {
        if (!this.ended && (!this.latest || RANK[this.latest.phase] < rank)) return;
        this.wake.delete(check);
        resolve();
      };
      this.wake.add(check);
      check();
    });
    if (this.error) throw this.error;
    const r = this.result;
    if (r?.cancelled) throw new CancelledError();
    if (r && !r.ok) {
      const failed = r.targets.find((t) => t.error)?.error;
      throw new NexusError(failed?.code ?? 'FLASH_FAILED', failed?.message ?? 'The write failed.', failed?.hint);
    }
  }

  private notify(): void {
    for (const w of [...this.wake]) w();
  }
}

/** Bytes of the current phase summed over the drives (the slowest drive sets the pace). */
function report(ctx: StageContext, p: FlashProgress): void {
  const done = p.targets.reduce((s, t) => s + t.bytesDone, 0);
  const totals = p.targets.map((t) => t.bytesTotal);
  const total = totals.every((t) => t !== null) ? totals.reduce<number>((s, t) => s + (t ?? 0), 0) : null;
  ctx.progress({ bytesDone: done, bytesTotal: total, message: `${p.phase} ${p.targets.length} drive${p.targets.length === 1 ? '' : 's'}` });
}

function followUntil(rank: number, id: string, title: string): Stage<WriteFollower, WriteFollower> {
  return {
    id,
    title,
    async run(w, ctx) {
      w.follow(ctx);
      await w.reach(rank);
      return w;
    },
  };
}

export async function runFlashJob(request: FlashRequestInput, writer: FlashWriter, o: FlashJobOptions = {}): Promise<FlashResult> {
  const write = new WriteFollower(writer, request);
  // The write gets the caller's signal itself: a cancelled write still ends with a result (drives left blank),
  // which the finish stage then reports as a cancellation.
  const signal = o.signal ?? new AbortController().signal;
  const start: Stage<FlashRequestInput, WriteFollower> = {
    id: 'flash-write',
    title: 'Write the image',
    async run(_req, ctx) {
      write.follow(ctx);
      const ended = write.start(signal, o.onProgress);
      // Whatever happens to the pipeline, the job ends only after the write (and the helper) did.
      ctx.onCleanup(() => ended);
      await write.reach(RANK.verifying);
      return write;
    },
  };
  const finish: Stage<WriteFollower, FlashResult> = {
    id: 'flash-finish',
    title: 'Flush and finish',
    async run(w, ctx) {
      w.follow(ctx);
      await w.reach(Infinity); // the write's end
      if (!w.result) throw new NexusError('FLASH_NO_RESULT', 'The write ended without a result.', 'Write the image again.');
      return w.result;
    },
  };
  const verifies = request.verify ?? true;
  const pipeline = verifies
    ? Pipeline.start<FlashRequestInput>()
        .then(start)
        .then(followUntil(RANK.finishing, 'flash-verify', 'Verify the drives'))
        .then(finish)
    : Pipeline.start<FlashRequestInput>().then(start).then(finish);
  try {
    return await pipeline.run(request, { ...(o.onEvent ? { onEvent: o.onEvent } : {}), ...(o.throttleMs !== undefined ? { throttleMs: o.throttleMs } : {}) });
  } catch (err) {
    // A write that ended with a result (cancelled, or a drive failed) resolves with it, as before.
    if (write.result && (isCancelled(err) || err instanceof NexusError)) return write.result;
    throw err;
  }
}
