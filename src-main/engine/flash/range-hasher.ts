/**
 * bmap range checksums (SHA-256 / SHA-1) computed in a worker thread, straight out of the shared
 * aligned pool memory (no copy): the write loop's thread only posts {offset, length}. The worker is
 * inline JS using node:crypto only, so it loads the same way under tsx, vitest and a bundled app.
 */
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

export class RangeHasher {
  private readonly worker: Worker;
  private seq = 0;
  private readonly pending = new Map<number, { resolve: (hex: string | null) => void; reject: (e: Error) => void }>();

  constructor(sab: SharedArrayBuffer) {
    this.worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { sab } });
    this.worker.on('message', (m: { seq: number; hex?: string | null }) => {
      const p = this.pending.get(m.seq);
      this.pending.delete(m.seq);
      p?.resolve(m.hex ?? null);
    });
    this.worker.on('error', (e) => {
      for (const p of this.pending.values()) p.reject(e);
      this.pending.clear();
    });
  }

  private call(msg: object): Promise<string | null> {
    const seq = ++this.seq;
    return new Promise((resolve, reject) => {
      this.pending.set(seq, { resolve, reject });
      this.worker.postMessage({ ...msg, seq });
    });
  }

  /** Resolves once the bytes are hashed (the slot may then be reused). */
  update(id: number, algo: string, buf: Buffer, length: number): Promise<void> {
    return this.call({ op: 'update', id, algo, off: buf.byteOffset, len: length }).then(() => undefined);
  }

  digest(id: number): Promise<string | null> {
    return this.call({ op: 'digest', id });
  }

  /** Stops the thread (an idle worker would keep a CLI process from exiting, unref() or not). */
  close(): Promise<number> {
    return this.worker.terminate();
  }
}
