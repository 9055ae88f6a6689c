/** Reading the bytes behind a manifest entry, wherever they live (cache blob, generated, host file). */
import { readFile } from 'node:fs/promises';
import { NexusError } from '../../../src-shared/errors';
import type { FsEntry } from '../rootfs/entries';

export async function readEntry(entry: FsEntry): Promise<Buffer> {
  const c = entry.content;
  if (!c) {
    if (entry.type === 'file' && entry.size === 0) return Buffer.alloc(0);
    throw new NexusError('ROOTFS_NO_CONTENT', `${entry.path} has no content reference.`, 'This is a bug in the feed stage; please report it.');
  }
  if (c.kind === 'inline') return Buffer.from(c.data.buffer, c.data.byteOffset, c.data.byteLength);
  return readFile(c.path);
}
