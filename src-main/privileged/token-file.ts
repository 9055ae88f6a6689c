/**
 * Reading the per-run token as root (helper-main.ts, issue 13). The path comes from the command line, so it is not
 * trusted:
 *  - it is opened with O_NOFOLLOW | O_NONBLOCK (no symlink, no hanging on a FIFO) and must be a small regular file,
 *    mode 0600 or stricter, owned by the user who asked for elevation (PKEXEC_UID / SUDO_UID when set) or by the helper's own user, holding a
 *    token in the launcher's format (64 hex digits) — so no other file can be read as a token;
 *  - it is deleted only when it is the launcher's private file: named "token" in a "nexus-helper-*" directory that
 *    is a real directory (not a symlink), mode 0700, owned by the same user, and the name still points at the file
 *    that was opened — checked and unlinked relative to the held directory (see openHeldDir), so the directory cannot
 *    be swapped in between. Anything else is left alone: the helper never deletes an arbitrary path as root.
 * On Windows (no O_NOFOLLOW, no POSIX modes) only the format check applies and the file is deleted by the launcher.
 */
import { constants, existsSync } from 'node:fs';
import { lstat, open, unlink } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { NexusError } from '../../src-shared/errors';

export const TOKEN_DIR_PREFIX = 'nexus-helper-';
const TOKEN_RE = /^[0-9a-f]{64}$/;

export interface TokenFileOptions {
  /** The unprivileged user who must own the file (default: PKEXEC_UID or SUDO_UID of this process, if set). */
  expectedUid?: number;
  platform?: NodeJS.Platform;
}

export interface TokenFileResult {
  token: string;
  /** Whether the file was deleted (only the launcher's private file is). */
  deleted: boolean;
  /** Why it was not deleted. */
  kept?: string;
}

function refuse(message: string): never {
  throw new NexusError(
    'HELPER_BAD_TOKEN_FILE',
    `The token file ${message}`,
    'Start the helper through the app or "nexus flash"; it creates the token file itself.',
  );
}

export function invokingUid(env: NodeJS.ProcessEnv = process.env): number | undefined {
  for (const v of [env.PKEXEC_UID, env.SUDO_UID]) {
    if (v && /^\d+$/.test(v)) return Number(v);
  }
  return undefined;
}

/** The stats the deletion rule needs. */
type Ident = { dev: number; ino: number; uid: number; mode: number; isDirectory(): boolean; isFile(): boolean };

/** Why the file opened from `path` (stats `file`) in the directory `dir` (stats of the held directory) may not be deleted, or null. */
function keepReason(path: string, dir: Ident | null, file: { uid: number }): string | null {
  if (basename(path) !== 'token') return 'it is not named "token"';
  if (!basename(dirname(path)).startsWith(TOKEN_DIR_PREFIX)) return `its directory is not a ${TOKEN_DIR_PREFIX}* directory`;
  if (!dir || !dir.isDirectory()) return 'its directory is not a real directory';
  if ((dir.mode & 0o077) !== 0) return 'its directory is not private (mode 0700)';
  if (dir.uid !== file.uid) return 'its directory has another owner';
  return null;
}

/**
 * The directory swap window (issue 13): the helper opens the token's directory without following a link and keeps
 * it open; on Linux the file is then opened, re-checked and unlinked relative to that held directory through
 * /proc/self/fd/N (Node has no openat/unlinkat), so renaming the directory or replacing it with a link after the
 * checks cannot redirect the unlink anywhere else. Elsewhere the directory's identity is compared before unlinking.
 */
async function openHeldDir(path: string) {
  try {
    return await open(dirname(path), constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW);
  } catch {
    return null;
  }
}

export interface TakeHooks {
  /** Tests: runs after the checks, just before the unlink (where a swap would have to happen). */
  beforeUnlink?: () => Promise<void>;
  /** Tests: force the portable path (no /proc). */
  noProc?: boolean;
}

export async function takeTokenFile(path: string, o: TokenFileOptions & TakeHooks = {}): Promise<TokenFileResult> {
  const platform = o.platform ?? process.platform;
  if (platform === 'win32') {
    const fh = await open(path, 'r');
    try {
      const token = (await fh.readFile('utf8')).trim();
      if (!TOKEN_RE.test(token)) refuse(`${path} does not hold a helper token.`);
      return { token, deleted: false, kept: 'Windows: the launcher removes it' };
    } finally {
      await fh.close();
    }
  }
  const dirFh = await openHeldDir(path);
  const viaProc = !o.noProc && dirFh !== null && platform === 'linux' && existsSync(`/proc/self/fd/${dirFh.fd}`);
  // Inside the held directory when possible: what is read is what the checks below looked at.
  const inDir = viaProc ? `/proc/self/fd/${dirFh!.fd}/${basename(path)}` : path;
  let fh;
  try {
    try {
      fh = await open(inDir, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
    } catch (err) {
      if ((err as { code?: string }).code === 'ELOOP') refuse(`${path} is a symbolic link.`);
      throw err;
    }
    const st = await fh.stat();
    if (!st.isFile()) refuse(`${path} is not a regular file.`);
    if ((st.mode & 0o077) !== 0) refuse(`${path} is readable or writable by others (it must be mode 0600).`);
    if (st.size > 1024) refuse(`${path} is too large to be a helper token.`);
    const expected = o.expectedUid ?? invokingUid();
    if (expected !== undefined && st.uid !== expected && st.uid !== process.getuid?.()) refuse(`${path} is not owned by the user who started the helper.`);
    const token = (await fh.readFile('utf8')).trim();
    if (!TOKEN_RE.test(token)) refuse(`${path} does not hold a helper token.`);
    const dirSt = dirFh ? await dirFh.stat() : null;
    const why = keepReason(path, dirSt, st);
    if (why) return { token, deleted: false, kept: why };
    await o.beforeUnlink?.();
    // The name must still be the file that was read, in the directory that was checked.
    const now = await lstat(inDir).catch(() => null);
    if (!now?.isFile() || now.dev !== st.dev || now.ino !== st.ino)
      return { token, deleted: false, kept: 'the name no longer points at the file that was read' };
    if (!viaProc) {
      const d = await lstat(dirname(path)).catch(() => null);
      if (!d?.isDirectory() || d.dev !== dirSt!.dev || d.ino !== dirSt!.ino) return { token, deleted: false, kept: 'its directory was replaced' };
    }
    await unlink(inDir);
    return { token, deleted: true };
  } finally {
    await fh?.close();
    await dirFh?.close();
  }
}
