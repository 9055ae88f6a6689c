/**
 * The one job life cycle the stores share: a long command runs under a fresh jobId, ends "done" with its value
 * or "failed"/"cancelled" with its error (never a throw), and job.cancel stops it.
 */
import type { ErrorInfo } from '../../src-shared/contract';
import type { LogEvent, ProgressEvent } from '../../src-shared/progress';
import { call, errorInfo } from './api';

export type JobStatus = 'idle' | 'running' | 'done' | 'failed' | 'cancelled';

export type JobOutcome<T> = { status: 'done'; value: T; error: null } | { status: 'failed' | 'cancelled'; value: null; error: ErrorInfo };

/** Runs a job's command (or the steps leading to it) and settles with its outcome. */
export async function runJob<T>(run: () => Promise<T>): Promise<JobOutcome<T>> {
  try {
    return { status: 'done', value: await run(), error: null };
  } catch (err) {
    const error = errorInfo(err);
    return { status: error.code === 'CANCELLED' ? 'cancelled' : 'failed', value: null, error };
  }
}

/** A job's stages (a build's, a write's): each stage's latest event, in the order the stages first reported. */
export function withStage(stages: readonly ProgressEvent[], event: ProgressEvent): ProgressEvent[] {
  const i = stages.findIndex((s) => s.stage === event.stage);
  return i >= 0 ? stages.map((s, j) => (j === i ? event : s)) : [...stages, event];
}

/** Lines kept of a job's log (older ones scroll away; the full log is in the files next to the image). */
export const MAX_LOG_LINES = 2000;
export function withLogLine(log: readonly LogEvent[], event: LogEvent): LogEvent[] {
  return [...(log.length >= MAX_LOG_LINES ? log.slice(-MAX_LOG_LINES + 1) : log), event];
}

/** Asks the main side to stop a job; a job that ended meanwhile has nothing left to stop. */
export async function cancelJob(jobId: string | null): Promise<void> {
  if (jobId) await call('job.cancel', { jobId }).catch(() => undefined);
}
