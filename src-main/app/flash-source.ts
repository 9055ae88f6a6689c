/**
 * The files a write reads, checked where the request arrives (flash.start, image.inspect) with the shared rule in
 * src-shared/safety.ts: the privileged helper applies the same rule again to what it opens (privileged/source-check.ts).
 * The write is handed the real path (links resolved here), so the helper can refuse any link it meets later.
 */
import type { Stats } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { expandHome } from '../engine/paths-home';
import { NexusError } from '../../src-shared/errors';
import { sourceFileProblem, type SourceFileKind } from '../../src-shared/safety';

export interface CheckedSource {
  /** The absolute path as given. */
  abs: string;
  /** The path with every link resolved (= abs when it does not exist). */
  real: string;
  st: Stats | null;
}

/** Applies the source rule to `path`; throws its refusal as a NexusError. A missing file passes unless `mustExist`. */
export async function checkSourceFile(kind: SourceFileKind, path: string, mustExist: boolean): Promise<CheckedSource> {
  const abs = resolve(expandHome(path));
  const st = await stat(abs).catch(() => null);
  const real = st ? await realpath(abs).catch(() => abs) : abs;
  const problem = sourceFileProblem(kind, { path: abs, stat: st ? { isFile: st.isFile(), size: st.size } : null, realPath: real }, mustExist);
  if (problem) throw new NexusError(problem.code, problem.message, problem.hint);
  return { abs, real, st };
}
