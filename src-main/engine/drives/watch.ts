/** Hot-plug: polls the drive list and emits only when it changed. */
import { drivesFingerprint, type Drive } from '../../../src-shared/drives';
import { listDrives, type ListOptions } from './list';

export interface WatchOptions extends ListOptions {
  intervalMs?: number;
  signal?: AbortSignal;
  /** Replaces listDrives (tests). */
  list?: () => Promise<Drive[]>;
}

/**
 * Yields the current list at once, then each time it changes. Ends when the signal aborts.
 * Listing errors are skipped (a drive vanishing mid-enumeration must not end the stream).
 */
export async function* watchDrives(options: WatchOptions = {}): AsyncGenerator<Drive[]> {
  const list = options.list ?? (() => listDrives(options));
  const interval = options.intervalMs ?? 1000;
  let last: string | null = null;
  while (!options.signal?.aborted) {
    try {
      const drives = await list();
      const fp = drivesFingerprint(drives);
      if (fp !== last) {
        last = fp;
        yield drives;
      }
    } catch {
      /* transient: try again next tick */
    }
    await sleep(interval, options.signal);
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
