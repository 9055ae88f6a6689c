/**
 * Stage cache: a stage's output files in `cacheDir()/image-stages/<stage>/<key>/`, keyed by the hash of
 * everything the stage reads. Entries appear atomically (built in a temp dir, renamed), so a cancelled or
 * failed stage never leaves a half entry behind.
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { hashCanonical } from '../plan/canonical';
import { cacheDir } from '../paths';

export interface CacheHit {
  dir: string;
  hit: boolean;
}

export async function cachedStage(stage: string, key: unknown, produce: (dir: string) => Promise<void>, root = join(cacheDir(), 'image-stages')): Promise<CacheHit> {
  const id = hashCanonical(key);
  const dir = join(root, stage, id);
  if (existsSync(join(dir, '.done'))) return { dir, hit: true };
  await mkdir(join(root, stage), { recursive: true });
  const tmp = await mkdtemp(join(root, stage, `.tmp-${id.slice(0, 8)}-`));
  try {
    await produce(tmp);
    await writeFile(join(tmp, '.done'), '');
    await rm(dir, { recursive: true, force: true });
    await rename(tmp, dir);
  } catch (err) {
    await rm(tmp, { recursive: true, force: true });
    // Another build produced the same entry at the same time: theirs is as good as ours.
    if (existsSync(join(dir, '.done'))) return { dir, hit: true };
    throw err;
  }
  return { dir, hit: false };
}
