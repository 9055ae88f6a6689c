import { RateWindow } from '../net/rate-meter';

/** Speed / average / ETA for one target and one phase. */
export class Meter {
  private readonly window = new RateWindow(2000);
  private start = 0;
  done = 0;
  total: number | null = null;

  constructor(private readonly now: () => number = () => performance.now()) {
    this.reset(null);
  }

  reset(total: number | null): void {
    this.start = this.now();
    this.window.reset();
    this.window.add(this.start, 0);
    this.done = 0;
    this.total = total;
  }

  add(n: number): void {
    this.done += n;
  }

  snapshot(): { bytesDone: number; bytesTotal: number | null; speed: number; avgSpeed: number; etaSeconds: number | null } {
    const t = this.now();
    const speed = this.window.add(t, this.done) ?? 0;
    const avgSpeed = t - this.start > 50 ? (this.done * 1000) / (t - this.start) : 0;
    const rate = speed || avgSpeed;
    const etaSeconds = this.total !== null && rate > 0 ? Math.max(0, (this.total - this.done) / rate) : null;
    return { bytesDone: this.done, bytesTotal: this.total, speed, avgSpeed, etaSeconds };
  }
}
