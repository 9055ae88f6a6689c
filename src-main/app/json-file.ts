/**
 * Small JSON files in the config dir (settings, build history), written so that no reader ever sees half a file
 * and no two writers of this process collide: each write goes to its own temporary name (pid + random), is
 * flushed, then renamed over the file; writers of one file run one after another (a promise chain per file).
 */
import { randomUUID } from 'node:crypto';
import { mkdir, open, rename, unlink } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';

const chains = new Map<string, Promise<void>>();

/** Runs `fn` after every earlier `serialized` call for the same file has settled (in this process). */
export function serialized<T>(file: string, fn: () => Promise<T>): Promise<T> {
  const key = resolve(file);
  const run = (chains.get(key) ?? Promise.resolve()).then(fn);
  const tail = run.then(
    () => undefined,
    () => undefined,
  );
  chains.set(key, tail);
  void tail.then(() => {
    if (chains.get(key) === tail) chains.delete(key);
  });
  return run;
}

/** Replaces `file` with `value` as JSON, atomically (call it inside `serialized` when it is a read-modify-write). */
export async function writeJsonAtomic(file: string, value: unknown, mode = 0o600): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.${randomUUID()}.tmp`;
  try {
    const handle = await open(tmp, 'wx', mode);
    try {
      await handle.writeFile(JSON.stringify(value, null, 2));
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(tmp, file);
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
}
