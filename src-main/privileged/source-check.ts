/**
 * The helper's own check of the files a write reads (issue 13): it runs as root, so it applies the shared source rule
 * (src-shared/safety.ts) again to the paths it was sent, and more: the app and the launcher send real paths (links
 * resolved), so a link found now means something was swapped in and is refused; the file must be readable by the
 * user who asked for the write (root's own access does not count); and the write then reads that very inode through
 * a no-follow open (flash/source.ts `pinned`).
 */
import { execa } from 'execa';
import { lstat, realpath } from 'node:fs/promises';
import { NexusError } from '../../src-shared/errors';
import type { FlashRequest } from '../../src-shared/flash';
import { readableBy, sourceFileProblem, type SourceFileKind } from '../../src-shared/safety';
import type { PinnedFile } from '../engine/flash/source';

export interface InvokingUser {
  uid: number;
  gids: number[];
}

/** The user a privileged helper acts for: PKEXEC_UID / SUDO_UID and their groups (`id -G`), or null when unknown. */
export async function invokingUser(uid: number | undefined): Promise<InvokingUser | null> {
  if (uid === undefined) return null;
  const r = await execa('id', ['-G', String(uid)], { reject: false });
  const gids =
    r.exitCode === 0
      ? String(r.stdout)
          .trim()
          .split(/\s+/)
          .filter((g) => /^\d+$/.test(g))
          .map(Number)
      : [];
  return { uid, gids };
}

async function pin(kind: SourceFileKind, path: string, user: InvokingUser | null): Promise<PinnedFile> {
  const what = kind === 'image' ? 'image' : 'block map';
  const st = await lstat(path).catch(() => null);
  if (st?.isSymbolicLink() || (st && (await realpath(path).catch(() => path)) !== path)) {
    throw new NexusError(
      'SOURCE_CHANGED',
      `The ${what} path ${path} now goes through a symbolic link; the app resolved links before the write started.`,
      'Choose the file again; nothing was written.',
    );
  }
  const problem = sourceFileProblem(kind, { path, stat: st ? { isFile: st.isFile(), size: st.size } : null, realPath: path });
  if (problem) throw new NexusError(problem.code, problem.message, problem.hint);
  if (user && !readableBy({ file: { uid: st!.uid, gid: st!.gid, mode: st!.mode }, user })) {
    throw new NexusError(
      'SOURCE_NOT_READABLE',
      `You cannot read ${path} yourself, so the writer (which runs as administrator) will not read it for you.`,
      'Copy the image somewhere you can read it, or make it readable to your user.',
    );
  }
  return { dev: st!.dev, ino: st!.ino };
}

/** Checks the request's local files; returns the inodes the write must read (FlashRunOptions pinnedSource/pinnedBmap). */
export async function pinSources(
  req: Pick<FlashRequest, 'source' | 'bmap'>,
  user: InvokingUser | null,
): Promise<{ pinnedSource?: PinnedFile; pinnedBmap?: PinnedFile }> {
  return {
    ...(req.source.kind === 'file' ? { pinnedSource: await pin('image', req.source.path, user) } : {}),
    ...(req.bmap ? { pinnedBmap: await pin('bmap', req.bmap, user) } : {}),
  };
}
