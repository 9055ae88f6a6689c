/** Copies profiles/ into a temp dir so a test can break one file and check the error. */
import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { profilesDir } from '../../src-main/engine/paths';

export async function withCatalogCopy<T>(edit: (dir: string) => Promise<void>, run: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'nexus-catalog-'));
  try {
    await cp(profilesDir(), dir, { recursive: true });
    await edit(dir);
    return await run(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export const writeYaml = (dir: string, rel: string, text: string) => writeFile(join(dir, rel), text);
