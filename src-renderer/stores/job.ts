/**
 * The one job life cycle the stores share: a long command runs under a fresh jobId, ends "done" with its value
 * or "failed"/"cancelled" with its error (never a throw), and job.cancel stops it.
 */
import type { ErrorInfo } from '../../src-shared/contract';
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

/** Asks the main side to stop a job; a job that ended meanwhile has nothing left to stop. */
export async function cancelJob(jobId: string | null): Promise<void> {
  if (jobId) await call('job.cancel', { jobId }).catch(() => undefined);
}
