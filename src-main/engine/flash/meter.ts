/** Speed / average / ETA for one target and one phase. */
export class Meter {
  private samples: Array<[number, number]> = [];
  private start = 0;
  done = 0;
  total: number | null = null;

  constructor(private readonly now: () => number = () => performance.now()) {
    this.reset(null);
  }

  reset(total: number | null): void {
    this.start = this.now();
    this.samples = [[this.start, 0]];
    this.done = 0;
    this.total = total;
  }

  add(n: number): void {
    this.done += n;
  }

  snapshot(): { bytesDone: number; bytesTotal: number | null; speed: number; avgSpeed: number; etaSeconds: number | null } {
    const t = this.now();
    this.samples.push([t, this.done]);
    while (this.samples.length > 2 && t - this.samples[0]![0] > 2000) this.samples.shift();
    const [t0, b0] = this.samples[0]!;
    const speed = t - t0 > 50 ? ((this.done - b0) * 1000) / (t - t0) : 0;
    const avgSpeed = t - this.start > 50 ? (this.done * 1000) / (t - this.start) : 0;
    const rate = speed || avgSpeed;
    const etaSeconds = this.total !== null && rate > 0 ? Math.max(0, (this.total - this.done) / rate) : null;
    return { bytesDone: this.done, bytesTotal: this.total, speed, avgSpeed, etaSeconds };
  }
}
