/**
 * CPU-heavy engine work on a worker thread, so the main thread (in the app: the Electron main process, which also
 * serves the window) never stalls for long. One lazily started worker runs the tasks in worker-tasks.ts in turn.
 *
 * Where the worker's code comes from: from the sources (tsx registered inside the worker) when this module runs
 * from a .ts file (tsx, vitest), else from the bundle's sibling `engine-worker.mjs` / `engine-worker.cjs` (made by
 * src-main/cli/bundle.mjs and src-main/electron/bundle.mjs). NEXUS_WORKERS=0, or a worker that cannot start, runs
 * the tasks on the calling thread instead (same results, only the responsiveness differs).
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { NexusError } from '../../../src-shared/errors';
import type { TaskName, Tasks } from './worker-tasks';

interface Pending {
  task: TaskName;
  args: unknown[];
  resolve: (value: unknown) => void;
  reject: (err: unknown) => void;
}

export interface WireError {
  name: string;
  message: string;
  code?: string;
  hint?: string;
}

/** Errors cross the thread boundary as data; NexusErrors come back as NexusErrors (code and hint kept). */
export function toWire(err: unknown): WireError {
  const e = err as Partial<NexusError>;
  return { name: e?.name ?? 'Error', message: e?.message ?? String(err), ...(e?.code ? { code: e.code } : {}), ...(e?.hint ? { hint: e.hint } : {}) };
}

function fromWire(w: WireError): Error {
  if (w.code) return new NexusError(w.code, w.message, w.hint);
  return Object.assign(new Error(w.message), { name: w.name });
}

/** The worker's boot code: a bundle's sibling file, or the sources through tsx. Null: run on this thread. */
function workerSource(): { code: string } | null {
  if (process.env.NEXUS_WORKERS === '0') return null;
  const here = import.meta.url;
  if (here.endsWith('.ts')) {
    const entry = new URL('./worker-main.ts', here).href;
    // tsx's ESM entry (the CommonJS one registers a path that does not resolve inside a worker).
    const tsx = pathToFileURL(
      createRequire(here)
        .resolve('tsx/esm/api')
        .replace(/\.cjs$/, '.mjs'),
    ).href;
    return { code: `import(${JSON.stringify(tsx)}).then(({ register }) => { register(); return import(${JSON.stringify(entry)}); })` };
  }
  const ext = here.endsWith('.cjs') ? 'cjs' : 'mjs';
  const file = fileURLToPath(new URL(`./engine-worker.${ext}`, here));
  if (!existsSync(file)) return null;
  return { code: ext === 'cjs' ? `require(${JSON.stringify(file)})` : `import(${JSON.stringify(pathToFileURL(file).href)})` };
}

let worker: Worker | null = null;
let booted = false;
let unavailable = false;
let seq = 0;
const pending = new Map<number, Pending>();

async function inThread(task: TaskName, args: unknown[]): Promise<unknown> {
  const { tasks } = await import('./worker-tasks');
  return (tasks[task] as (...a: unknown[]) => Promise<unknown>)(...args);
}

/** The worker died. One that never booted (a packaging or loader problem) is given up for good, and what it was
 * asked runs here instead; one that ran and then died fails its pending calls (the next call starts a new one). */
function workerGone(err: unknown): void {
  worker = null;
  const calls = [...pending.values()];
  pending.clear();
  if (!booted) {
    unavailable = true;
    for (const c of calls) inThread(c.task, c.args).then(c.resolve, c.reject);
  } else for (const c of calls) c.reject(err);
}

function getWorker(): Worker | null {
  if (worker || unavailable) return worker;
  const src = workerSource();
  if (!src) {
    unavailable = true;
    return null;
  }
  // execArgv: [] keeps the parent's loaders out (the source mode registers tsx itself).
  const w = new Worker(src.code, { eval: true, execArgv: [] });
  w.on('message', (m: { ready?: true; id: number; ok: boolean; value?: unknown; error?: WireError }) => {
    if (m.ready) {
      booted = true;
      return;
    }
    const p = pending.get(m.id);
    pending.delete(m.id);
    if (pending.size === 0) w.unref();
    if (m.ok) p?.resolve(m.value);
    else p?.reject(fromWire(m.error ?? { name: 'Error', message: 'the worker failed' }));
  });
  w.on('error', (err) => workerGone(err));
  w.on('exit', () => workerGone(new Error('the engine worker exited')));
  w.unref(); // an idle worker never keeps a CLI process alive
  worker = w;
  return w;
}

/**
 * Runs `task` on the engine worker (transferring `transfer`), or on this thread when no worker can run.
 * Arguments and results are structured-cloned: plain data, Buffers, Maps, KeyObjects.
 */
type TaskResult<K extends TaskName> = Awaited<ReturnType<Tasks[K]>>;

export async function offThread<K extends TaskName>(task: K, args: Parameters<Tasks[K]>, transfer: ArrayBuffer[] = []): Promise<TaskResult<K>> {
  const w = getWorker();
  if (!w) return (await inThread(task, args)) as TaskResult<K>;
  const id = ++seq;
  return new Promise<TaskResult<K>>((resolve, reject) => {
    pending.set(id, { task, args, resolve: resolve as (v: unknown) => void, reject });
    w.ref();
    w.postMessage({ id, task, args }, transfer);
  });
}
