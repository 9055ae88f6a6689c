/**
 * Streaming xz and zstd compressors in WebAssembly, kept as sessions so the caller feeds a file chunk by chunk
 * (never the whole image in memory) and can stop between chunks. These run on the engine's worker thread
 * (workers/worker-tasks.ts); each call handles one chunk and returns the compressed bytes produced so far.
 *
 * - xz: liblzma 5.8 compiled to WASM (node-liblzma/wasm): the same encoder as xz-utils, so preset 6 with a
 *   CRC64 check gives exactly `xz -6 -T1`'s bytes (one stream, one block).
 * - zstd: zstd 1.5.7 compiled to WASM (@hpcc-js/wasm-zstd), its streaming compressor (ZSTD_compressStream2):
 *   one frame with the content checksum. One instance holds one stream at a time, so zstd sessions queue.
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';

export type CodecKind = 'xz' | 'zst';

interface Session {
  push(chunk: Uint8Array): Promise<Uint8Array[]>;
  end(): Promise<Uint8Array[]>;
  abort(): void;
}

const sessions = new Map<number, Session>();
let nextId = 1;

let xzReady: Promise<typeof import('node-liblzma/wasm')> | null = null;
/** liblzma's WASM, loaded from the package's own .wasm file (its default loader fetches a URL, which Node cannot). */
export function xzModule(): Promise<typeof import('node-liblzma/wasm')> {
  xzReady ??= (async () => {
    const lib = await import('node-liblzma/wasm');
    const { default: createLZMA } = (await import('node-liblzma/wasm/liblzma.js')) as { default: (o: { wasmBinary: Uint8Array }) => Promise<unknown> };
    const wasmBinary = await readFile(createRequire(import.meta.url).resolve('node-liblzma/wasm/liblzma.wasm'));
    await lib.initModule(() => createLZMA({ wasmBinary }) as ReturnType<NonNullable<Parameters<typeof lib.initModule>[0]>>);
    return lib;
  })();
  return xzReady;
}

/** Drives a Web TransformStream one chunk at a time: what it emitted for a chunk is returned with that chunk. */
function transformSession(t: TransformStream<Uint8Array, Uint8Array>): Session {
  const writer = t.writable.getWriter();
  const reader = t.readable.getReader();
  let out: Uint8Array[] = [];
  let failed: unknown = null;
  const pump = (async () => {
    for (;;) {
      const r = await reader.read();
      if (r.done) return;
      out.push(r.value);
    }
  })().catch((e: unknown) => {
    failed = e;
  });
  const take = () => {
    if (failed) throw failed instanceof Error ? failed : new Error(String(failed));
    const got = out;
    out = [];
    return got;
  };
  return {
    async push(chunk) {
      await writer.write(chunk);
      await new Promise((r) => setImmediate(r)); // let the pump collect what the transform enqueued
      return take();
    },
    async end() {
      await writer.close();
      await pump;
      return take();
    },
    abort() {
      void writer.abort().catch(() => undefined);
      void reader.cancel().catch(() => undefined);
    },
  };
}

let zstdTurn: Promise<void> = Promise.resolve();

async function zstdSession(level: number): Promise<Session> {
  const { Zstd } = await import('@hpcc-js/wasm-zstd');
  const z = await Zstd.load();
  // One streaming state per instance: wait for the previous zstd session to finish.
  let release!: () => void;
  const previous = zstdTurn;
  zstdTurn = new Promise((r) => (release = r));
  await previous;
  z.reset();
  z.setCompressionLevel(level);
  let open = true;
  const done = () => {
    if (open) {
      open = false;
      release();
    }
  };
  return {
    async push(chunk) {
      return [z.compressChunk(chunk)];
    },
    async end() {
      try {
        return [z.compressEnd()];
      } finally {
        done();
      }
    },
    abort() {
      z.reset();
      done();
    },
  };
}

export async function codecOpen(kind: CodecKind, level: number): Promise<number> {
  if (kind !== 'xz' && kind !== 'zst') throw new Error(`unknown compression "${String(kind)}"`);
  const session = kind === 'xz' ? transformSession((await xzModule()).createXz({ preset: level })) : await zstdSession(level);
  const id = nextId++;
  sessions.set(id, session);
  return id;
}

function session(id: number): Session {
  const s = sessions.get(id);
  if (!s) throw new Error(`no compression session ${id}`);
  return s;
}

/** Compresses one chunk; returns the output bytes it produced (possibly none), joined. */
export async function codecPush(id: number, chunk: Uint8Array): Promise<Uint8Array> {
  return Buffer.concat(await session(id).push(chunk));
}

export async function codecEnd(id: number): Promise<Uint8Array> {
  try {
    return Buffer.concat(await session(id).end());
  } finally {
    sessions.delete(id);
  }
}

export async function codecAbort(id: number): Promise<void> {
  sessions.get(id)?.abort();
  sessions.delete(id);
}
