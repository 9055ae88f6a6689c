/**
 * Cross-check only (the build writes ext4 roots in-process, ../ext4/writer.ts): the bench compares against it.
 * ext4 with `mke2fs -d` from a staging tree. mke2fs copies the tree's ownership; when the tree could not carry
 * it (not root), debugfs sets uid/gid afterwards, so a user build still gets root-owned system files.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { FsEntry } from '../../rootfs/entries';
import { runTool } from './run';

export interface Ext4Options {
  sizeBytes: number;
  uuid: string;
  hashSeed: string;
  label: string;
  epoch: number;
  /** Entries whose ownership the staging tree does not carry. */
  fixOwnership: FsEntry[];
  scratch: string;
  signal?: AbortSignal;
}

export async function makeExt4(out: string, tree: string, o: Ext4Options): Promise<void> {
  // E2FSPROGS_FAKE_TIME fixes the superblock and inode timestamps mke2fs would take from the clock.
  const env = { E2FSPROGS_FAKE_TIME: String(o.epoch), SOURCE_DATE_EPOCH: String(o.epoch) };
  await runTool(
    'mke2fs',
    [
      '-q',
      '-F',
      '-t',
      'ext4',
      '-L',
      o.label,
      '-U',
      o.uuid,
      '-E',
      `hash_seed=${o.hashSeed},lazy_itable_init=0,root_owner=0:0`,
      '-d',
      tree,
      out,
      `${Math.floor(o.sizeBytes / 1024)}k`,
    ],
    'making the ext4 root filesystem',
    { signal: o.signal, env },
  );
  if (o.fixOwnership.length) {
    const script = o.fixOwnership.flatMap((e) => [`sif "${e.path}" uid ${e.uid}`, `sif "${e.path}" gid ${e.gid}`]).join('\n') + '\n';
    const f = join(o.scratch, 'debugfs.cmds');
    await writeFile(f, script);
    await runTool('debugfs', ['-w', '-f', f, out], 'setting file ownership in the ext4 root filesystem', { signal: o.signal, env });
  }
}
