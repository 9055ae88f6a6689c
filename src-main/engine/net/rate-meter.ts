/**
 * The one rate estimate (downloads in the runner's progress, flash speed and ETA): bytes per second over a moving
 * window of recent samples, so an ETA follows the current speed rather than the average since the start.
 */
export class RateWindow {
  private samples: Array<[number, number]> = [];

  constructor(private readonly windowMs = 3000) {}

  /** Forgets every sample (a new phase starts). */
  reset(): void {
    this.samples = [];
  }

  /** Records `bytes` done at time `t` (ms); returns the rate in bytes/s, or null until 50 ms of samples exist. */
  add(t: number, bytes: number): number | null {
    this.samples.push([t, bytes]);
    while (this.samples.length > 2 && t - this.samples[0]![0] > this.windowMs) this.samples.shift();
    const [t0, b0] = this.samples[0]!;
    return t - t0 > 50 ? Math.max(0, ((bytes - b0) * 1000) / (t - t0)) : null;
  }
}
