/**
 * How long the main thread was blocked: a timer that should fire every `intervalMs` measures how late each tick is
 * (the longest lateness is the longest task that ran meanwhile), and perf_hooks' event-loop delay histogram gives the
 * distribution. Used by the bench to show that a build leaves the Electron main process responsive.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';

export interface MainThreadReport {
  /** The longest time the event loop could not run a timer (ms): the longest task. */
  longestTaskMs: number;
  /** 99th percentile of the event-loop delay (ms). */
  p99Ms: number;
  /** Ticks later than 50 ms (what a user notices as a stall). */
  stallsOver50Ms: number;
  /** What `where()` said when the longest task ended (for example the running stage). */
  longestAt: string;
}

export function probeMainThread(where: () => string = () => '', intervalMs = 10): { stop(): MainThreadReport } {
  const histogram = monitorEventLoopDelay({ resolution: 10 });
  histogram.enable();
  let longest = 0;
  let stalls = 0;
  let longestAt = '';
  let last = performance.now();
  const timer = setInterval(() => {
    const now = performance.now();
    const late = now - last - intervalMs;
    if (late > longest) {
      longest = late;
      longestAt = where();
    }
    if (late > 50) stalls++;
    last = now;
  }, intervalMs);
  timer.unref();
  return {
    stop() {
      clearInterval(timer);
      histogram.disable();
      return { longestTaskMs: Math.max(0, longest), p99Ms: histogram.percentile(99) / 1e6, stallsOver50Ms: stalls, longestAt };
    },
  };
}
