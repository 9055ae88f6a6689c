/**
 * The pipeline runner: typed stages chained input → output, progress and log events (throttled),
 * cancellation through AbortSignal, and cleanup that always runs. No process.exit here: callers decide.
 */
import { rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CancelledError, NexusError, isCancelled, toErrorInfo } from '../../src-shared/errors';
import { atExit } from './exit-cleanup';
import type { LogLevel, PipelineEvent, ProgressEvent, StageStatus } from '../../src-shared/progress';
import { RateWindow } from './net/rate-meter';

export interface ProgressUpdate {
  fraction?: number | null;
  bytesDone?: number | null;
  bytesTotal?: number | null;
  message?: string;
}

export interface StageContext {
  readonly stage: string;
  readonly signal: AbortSignal;
  progress(update: ProgressUpdate): void;
  log(level: LogLevel, message: string): void;
  /** A fresh temporary directory removed when the pipeline ends, whatever the outcome. */
  tempDir(prefix?: string): Promise<string>;
  /** Registers cleanup run when the pipeline ends (last registered, first run). */
  onCleanup(fn: () => unknown): void;
  throwIfCancelled(): void;
}

export interface Stage<I, O> {
  id: string;
  title: string;
  run(input: I, ctx: StageContext): Promise<O>;
}

export interface RunOptions {
  signal?: AbortSignal;
  onEvent?: (event: PipelineEvent) => void;
  /** Minimum interval between progress events of one stage; status changes are never held back. */
  throttleMs?: number;
  /** Where temporary directories go (default: the OS temp dir). */
  tempRoot?: string;
  /** Clock, for tests. */
  now?: () => number;
}

export class Pipeline<I, O> {
  private constructor(private readonly stages: ReadonlyArray<Stage<unknown, unknown>>) {}

  static start<T>(): Pipeline<T, T> {
    return new Pipeline<T, T>([]);
  }

  then<N>(stage: Stage<O, N>): Pipeline<I, N> {
    return new Pipeline<I, N>([...this.stages, stage as Stage<unknown, unknown>]);
  }

  get stageList(): ReadonlyArray<{ id: string; title: string }> {
    return this.stages.map(({ id, title }) => ({ id, title }));
  }

  async run(input: I, options: RunOptions = {}): Promise<O> {
    return runStages(this.stages, input, options) as Promise<O>;
  }
}

async function runStages(stages: ReadonlyArray<Stage<unknown, unknown>>, input: unknown, options: RunOptions): Promise<unknown> {
  const signal = options.signal ?? new AbortController().signal;
  const emit = options.onEvent ?? (() => {});
  const now = options.now ?? Date.now;
  const throttleMs = options.throttleMs ?? 200;
  const cleanups: Array<() => unknown> = [];

  const progressEvent = (stage: string, status: StageStatus, extra: Partial<ProgressEvent> = {}): ProgressEvent => ({
    type: 'progress',
    stage,
    status,
    fraction: null,
    bytesDone: null,
    bytesTotal: null,
    rate: null,
    etaSeconds: null,
    message: '',
    ...extra,
  });
  for (const s of stages) emit(progressEvent(s.id, 'pending', { message: s.title }));

  let value: unknown = input;
  let current = 0;
  try {
    for (; current < stages.length; current++) {
      const stage = stages[current]!;
      if (signal.aborted) throw new CancelledError();
      const meter = new RateWindow();
      let lastEmit = -Infinity;
      let last: ProgressEvent = progressEvent(stage.id, 'running', { fraction: 0, message: stage.title });
      emit(last);
      const ctx: StageContext = {
        stage: stage.id,
        signal,
        progress(update) {
          const t = now();
          const bytesDone = update.bytesDone !== undefined ? update.bytesDone : last.bytesDone;
          const bytesTotal = update.bytesTotal !== undefined ? update.bytesTotal : last.bytesTotal;
          const rate = bytesDone !== null ? meter.add(t, bytesDone) : null;
          let fraction = update.fraction !== undefined ? update.fraction : last.fraction;
          if (update.fraction === undefined && bytesDone !== null && bytesTotal) fraction = Math.min(1, bytesDone / bytesTotal);
          const etaSeconds = rate && bytesTotal !== null && bytesDone !== null ? Math.max(0, (bytesTotal - bytesDone) / rate) : null;
          last = progressEvent(stage.id, 'running', {
            fraction: fraction === null ? null : Math.min(1, Math.max(0, fraction)),
            bytesDone,
            bytesTotal,
            rate,
            etaSeconds,
            message: update.message ?? last.message,
          });
          if (t - lastEmit >= throttleMs) {
            lastEmit = t;
            emit(last);
          }
        },
        log(level, message) {
          emit({ type: 'log', stage: stage.id, level, message, time: now() });
        },
        async tempDir(prefix = 'nexus-') {
          const dir = await mkdtemp(join(options.tempRoot ?? tmpdir(), prefix));
          // If the process ends before the cleanup runs, the exit hook removes it: a crash leaves no temp dir behind.
          const forget = atExit(() => rmSync(dir, { recursive: true, force: true }));
          cleanups.push(async () => {
            await rm(dir, { recursive: true, force: true });
            forget();
          });
          return dir;
        },
        onCleanup(fn) {
          cleanups.push(fn);
        },
        throwIfCancelled() {
          if (signal.aborted) throw new CancelledError();
        },
      };
      value = await stage.run(value, ctx);
      if (signal.aborted) throw new CancelledError();
      emit({ ...last, status: 'done', fraction: 1, etaSeconds: 0, message: `${stage.title}: done` });
    }
    return value;
  } catch (err) {
    const cancelled = isCancelled(err) || signal.aborted;
    const info = toErrorInfo(err);
    const stage = stages[current];
    if (stage) {
      emit(progressEvent(stage.id, cancelled ? 'cancelled' : 'failed', { message: cancelled ? 'Cancelled' : info.message }));
      emit({
        type: 'log',
        stage: stage.id,
        level: cancelled ? 'warn' : 'error',
        message: cancelled ? 'Cancelled by the user.' : `${info.message}${info.hint ? ` (${info.hint})` : ''}`,
        time: now(),
      });
      for (const rest of stages.slice(current + 1)) emit(progressEvent(rest.id, 'skipped', { message: rest.title }));
    }
    if (cancelled) throw err instanceof CancelledError ? err : new CancelledError();
    throw err instanceof NexusError ? err : new NexusError(info.code, info.message, info.hint, { cause: err });
  } finally {
    for (const fn of cleanups.reverse()) {
      try {
        await fn();
      } catch (err) {
        emit({ type: 'log', stage: 'cleanup', level: 'warn', message: `cleanup failed: ${toErrorInfo(err).message}`, time: now() });
      }
    }
  }
}

/** Resolves after ms, or rejects with CancelledError when the signal fires. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new CancelledError());
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(new CancelledError());
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
