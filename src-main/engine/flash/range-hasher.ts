/**
 * bmap range checksums (SHA-256 / SHA-1) computed in a worker thread, straight out of the shared
 * aligned pool memory (no copy): the write loop's thread only posts {offset, length}. The worker is
 * inline JS using node:crypto only, so it loads the same way under tsx, vitest and a bundled app.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';

const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const mem = new Uint8Array(workerData.sab);
const open = new Map();
parentPort.on('message', (m) => {
  if (m.op === 'update') {
    let h = open.get(m.id);
    if (!h) { h = createHash(m.algo); open.set(m.id, h); }
    h.update(mem.subarray(m.off, m.off + m.len));
    parentPort.postMessage({ seq: m.seq });
  } else if (m.op === 'digest') {
    const h = open.get(m.id);
    open.delete(m.id);
    parentPort.postMessage({ seq: m.seq, hex: h ? h.digest('hex') : null });
  }
});`;

/**
 * SHA-256 runs at ~1.5 GB/s per core, slower than a fast target takes data, so ranges are spread
 * over up to two workers. A range always goes to the same worker (its state lives there); a new
 * range goes to the worker with the fewest bytes queued, so one long range does not hold up others.
 */
export class RangeHasher {
  private readonly workers: Worker[];
  private readonly queued: number[];
  private readonly owner = new Map<number, number>();
  private seq = 0;
  private readonly pending = new Map<number, { resolve: (hex: string | null) => void; reject: (e: Error) => void }>();

  constructor(sab: SharedArrayBuffer, threads = Math.min(2, availableParallelism())) {
    this.workers = Array.from({ length: threads }, () => {
      // execArgv: [] keeps loaders of the parent (tsx) out of the worker: it needs none and they cost ~100 ms.
      const w = new Worker(WORKER_SOURCE, { eval: true, workerData: { sab }, execArgv: [] });
      w.on('message', (m: { seq: number; hex?: string | null }) => {
        const p = this.pending.get(m.seq);
        this.pending.delete(m.seq);
        if (this.pending.size === 0) this.setRef(false);
        p?.resolve(m.hex ?? null);
      });
      w.on('error', (e) => {
        for (const p of this.pending.values()) p.reject(e);
        this.pending.clear();
      });
      return w;
    });
    this.queued = this.workers.map(() => 0);
    this.setRef(false);
  }

  /** Referenced only while a reply is awaited: idle workers must not keep a CLI process alive. */
  private setRef(on: boolean): void {
    for (const w of this.workers) {
      if (on) w.ref();
      else w.unref();
    }
  }

  private workerFor(id: number): number {
    let w = this.owner.get(id);
    if (w === undefined) {
      w = this.queued.indexOf(Math.min(...this.queued));
      this.owner.set(id, w);
    }
    return w;
  }

  private call(w: number, msg: { id: number; op: string; [k: string]: unknown }): Promise<string | null> {
    const seq = ++this.seq;
    return new Promise((resolve, reject) => {
      if (this.pending.size === 0) this.setRef(true);
      this.pending.set(seq, { resolve, reject });
      this.workers[w]!.postMessage({ ...msg, seq });
    });
  }

  /** Resolves once the bytes are hashed (the slot may then be reused). */
  update(id: number, algo: string, buf: Buffer, length: number): Promise<void> {
    const w = this.workerFor(id);
    this.queued[w]! += length;
    const done = () => void (this.queued[w]! -= length);
    return this.call(w, { op: 'update', id, algo, off: buf.byteOffset, len: length }).then(done, (e: unknown) => {
      done();
      throw e;
    });
  }

  digest(id: number): Promise<string | null> {
    const w = this.workerFor(id);
    this.owner.delete(id);
    return this.call(w, { op: 'digest', id });
  }

  /** Stops the threads. */
  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}
