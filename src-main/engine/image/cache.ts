/**
 * Stage cache: a stage's output files in the store's `image-stages/<stage>/<key>/`, keyed by the hash of
 * everything the stage reads. Entries appear atomically (built in a folder under the store's tmp/, held by this
 * run's lease, then renamed), so a cancelled or failed stage never leaves a half entry behind and `nexus cache
 * clean` never deletes one being built. Each stage keeps its most recently used entries only.
 */
import { existsSync } from 'node:fs';
import { readdir, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { hashCanonical } from '../plan/canonical';
import { ContentStore } from '../store/content-store';
import type { StageContext } from '../runner';

export interface CacheHit {
  dir: string;
  hit: boolean;
}

/** Entries kept per stage; older ones (by last use) are removed when a new one is added. */
export const ENTRIES_PER_STAGE = 8;

async function prune(stageDir: string, keep: string): Promise<void> {
  const entries = (await readdir(stageDir)).filter((n) => !n.startsWith('.'));
  if (entries.length <= ENTRIES_PER_STAGE) return;
  const aged = await Promise.all(
    entries.map(async (n) => ({
      n,
      t: await stat(join(stageDir, n, '.done')).then(
        (s) => s.mtimeMs,
        () => 0,
      ),
    })),
  );
  aged.sort((a, b) => b.t - a.t);
  for (const { n } of aged.slice(ENTRIES_PER_STAGE)) if (n !== keep) await rm(join(stageDir, n), { recursive: true, force: true });
}

/** `root` is a store's image-stages folder (the default store's unless given); its temp folders are the store's. */
export async function cachedStage(
  stage: string,
  key: unknown,
  produce: (dir: string) => Promise<void>,
  root = new ContentStore().stagesRoot(),
): Promise<CacheHit> {
  const store = new ContentStore(dirname(root));
  const id = hashCanonical(key);
  const dir = join(root, stage, id);
  if (existsSync(join(dir, '.done'))) {
    const now = new Date();
    await utimes(join(dir, '.done'), now, now).catch(() => undefined); // last use, for pruning
    return { dir, hit: true };
  }
  const tmp = await store.tempDir(`stage-${id.slice(0, 8)}`);
  try {
    await produce(tmp);
    await writeFile(join(tmp, '.done'), '');
    await rm(dir, { recursive: true, force: true });
    await store.promote(tmp, dir);
  } catch (err) {
    await rm(tmp, { recursive: true, force: true });
    // Another build produced the same entry at the same time: theirs is as good as ours.
    if (existsSync(join(dir, '.done'))) return { dir, hit: true };
    throw err;
  }
  await prune(join(root, stage), id).catch(() => undefined);
  return { dir, hit: false };
}

/** A stage's cached output folder (the default store's), logging a reuse as "STAGE: reused from cache" (tests count these). */
export async function cachedFor(ctx: Pick<StageContext, 'log'>, stage: string, key: unknown, produce: (dir: string) => Promise<void>): Promise<string> {
  const r = await cachedStage(stage, key, produce);
  if (r.hit) ctx.log('info', `${stage}: reused from cache`);
  return r.dir;
}
