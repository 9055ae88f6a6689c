/** The engine worker's entry (pool.ts starts it): runs one task per message and answers with its result or error. */
import { parentPort } from 'node:worker_threads';
import { toWire } from './pool';
import { tasks, type TaskName } from './worker-tasks';

const port = parentPort;
if (!port) throw new Error('worker-main.ts runs only as a worker thread');
port.on('message', async (m: { id: number; task: TaskName; args: unknown[] }) => {
  try {
    const value = await (tasks[m.task] as (...a: unknown[]) => Promise<unknown>)(...m.args);
    port.postMessage({ id: m.id, ok: true, value });
  } catch (err) {
    port.postMessage({ id: m.id, ok: false, error: toWire(err) });
  }
});
port.postMessage({ ready: true });
