/**
 * Builds the renderer bundle once for the end-to-end tests (CI starts from a clean clone). A stamp of the
 * sources' sizes and mtimes skips the build when nothing changed; a lock directory serialises parallel workers.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, readdir, rmdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';

const ROOT = join(import.meta.dirname, '..', '..', '..');
export const RENDERER_DIR = join(ROOT, 'build', 'renderer');
const STAMP = join(ROOT, 'build', '.renderer-stamp');
const LOCK = join(ROOT, 'build', '.renderer-lock');
/** Bump when the way the bundle is built changes. */
const RECIPE = 2;

async function walk(dir: string, out: string[]): Promise<void> {
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) await walk(p, out);
    else out.push(p);
  }
}

async function fingerprint(): Promise<string> {
  const files: string[] = [join(ROOT, 'vite.config.ts'), join(ROOT, 'package-lock.json')];
  await walk(join(ROOT, 'src-renderer'), files);
  await walk(join(ROOT, 'src-shared'), files);
  const h = createHash('sha256').update(`recipe ${RECIPE}\n`);
  for (const f of files.sort()) {
    const st = await stat(f);
    h.update(`${f}\0${st.size}\0${st.mtimeMs}\n`);
  }
  return h.digest('hex');
}

const fresh = async (fp: string) =>
  (await readFile(STAMP, 'utf8').catch(() => '')) === fp &&
  (await stat(join(RENDERER_DIR, 'index.html')).then(
    () => true,
    () => false,
  ));

export async function ensureRendererBuilt(): Promise<string> {
  const fp = await fingerprint();
  if (await fresh(fp)) return RENDERER_DIR;
  await mkdir(join(ROOT, 'build'), { recursive: true });
  const deadline = Date.now() + 180_000;
  for (;;) {
    try {
      await mkdir(LOCK);
      break;
    } catch {
      if (Date.now() > deadline) throw new Error(`Timed out waiting for ${LOCK}; remove it if no build is running.`);
      await new Promise((r) => setTimeout(r, 500));
    }
  }
  try {
    if (!(await fresh(fp))) {
      // vitest sets NODE_ENV=test, which would give a development React in the bundle.
      await execa('npx', ['vite', 'build'], { cwd: ROOT, stdio: 'inherit', env: { NODE_ENV: 'production' } });
      await writeFile(STAMP, fp);
    }
  } finally {
    await rmdir(LOCK);
  }
  return RENDERER_DIR;
}
