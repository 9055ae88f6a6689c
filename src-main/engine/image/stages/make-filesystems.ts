/** Stage "filesystems": the root (EROFS + dm-verity, or ext4) and the F2FS state partition, each cached by its inputs. */
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Stage } from '../../runner';
import { f2fsMetadataPrefix } from '../fs-extent';
import { writeErofs } from '../erofs/writer';
import { writeEmptyF2fs } from '../f2fs/empty-f2fs';
import { writeVerityTree } from '../verity-tree';
import { writeExt4 } from '../ext4/writer';
import { NexusError } from '../../../../src-shared/errors';
import { cachedFor } from '../cache';
import { VerityRootSchema, type FilesystemsMade, type InitramfsBuilt, type PartitionContent, type VerityRoot } from './image-parts';

export const makeFilesystemsStage: Stage<InitramfsBuilt, FilesystemsMade> = {
  id: 'filesystems',
  title: 'Make the filesystems',
  async run(input, ctx) {
    const { plan, seed, epoch, configured, rootHash } = input;
    const fs = plan.filesystems;
    const contents = new Map<'root' | 'root-verity' | 'state', PartitionContent>();
    let verity: VerityRoot | null = null;
    if (fs.root.type === 'erofs') {
      const uuid = seed.uuid('root-fs');
      const salt = seed.hex('verity-salt', 32);
      const vuuid = seed.uuid('verity');
      // v4: written in-process by erofs/writer.ts from the manifest (v3 and before: mkfs.erofs over a staging tree).
      const key = { v: 4, tree: rootHash, uuid, salt, vuuid, epoch, compression: fs.root.compression ?? 'none', verity: fs.root.verity };
      const dir = await cachedFor(ctx, 'root-erofs', key, async (d) => {
        ctx.progress({ message: 'writing the EROFS root' });
        const r = await writeErofs(join(d, 'root.erofs'), configured.rootfs, {
          uuid,
          epoch,
          compression: fs.root.compression,
          signal: ctx.signal,
        });
        if (r.skippedXattrs.length) ctx.log('warn', `EROFS has no namespace for these xattrs, left out: ${r.skippedXattrs.join(', ')}`);
        // EROFS images need not be 4 KiB multiples; verity works in 4 KiB blocks.
        const size = (await stat(join(d, 'root.erofs'))).size;
        if (size % 4096) await writeFile(join(d, 'root.erofs'), Buffer.alloc(4096 - (size % 4096)), { flag: 'a' });
        if (fs.root.verity) {
          ctx.progress({ message: 'dm-verity hash tree' });
          const v = await writeVerityTree(join(d, 'root.erofs'), join(d, 'root.verity'), { salt, uuid: vuuid }, ctx.signal);
          await writeFile(join(d, 'verity.json'), JSON.stringify(v));
        }
      });
      contents.set('root', { path: join(dir, 'root.erofs'), policy: { kind: 'all' } });
      if (fs.root.verity) {
        contents.set('root-verity', { path: join(dir, 'root.verity'), policy: { kind: 'all' } });
        verity = VerityRootSchema.parse(JSON.parse(await readFile(join(dir, 'verity.json'), 'utf8')));
      }
    } else if (fs.root.type === 'ext4') {
      const uuid = seed.uuid('root-fs');
      const hashSeed = seed.uuid('root-htree');
      // v3: written in-process by ext4/writer.ts (v2 and before: mke2fs -d).
      const key = { v: 3, tree: rootHash, uuid, hashSeed, epoch };
      const dir = await cachedFor(ctx, 'root-ext4', key, async (d) => {
        // Content plus a third and 64 MiB of room to grow: "auto" sizes a writable root for use, not just to fit.
        const content = [...configured.rootfs.values()].reduce((n, e) => n + (e.type === 'file' ? Math.ceil(e.size / 4096) * 4096 + 256 : 256), 0);
        const sizeBytes = Math.ceil((content * 1.34 + 64 * 1048576) / 1048576) * 1048576;
        ctx.progress({ message: 'writing the ext4 root' });
        const written = await writeExt4(join(d, 'root.ext4'), configured.rootfs, {
          sizeBytes,
          uuid,
          hashSeed,
          label: 'root',
          epoch,
          signal: ctx.signal,
        });
        if (written.droppedXattrs.length)
          ctx.log(
            'warn',
            `ext4 root: ${written.droppedXattrs.length} extended attributes not stored (ACLs or no room in the inode): ${written.droppedXattrs.slice(0, 5).join(', ')}`,
          );
      });
      contents.set('root', { path: join(dir, 'root.ext4'), policy: { kind: 'all' } });
    }
    if (fs.overlay) {
      const part = plan.partitions.find((p) => p.role === 'state');
      if (!part) throw new NexusError('PLAN_INVALID', `${plan.box.name} has a state overlay but no state partition.`, 'Fix the plan or the Box definition.');
      const sizeBytes = (part.sizeMiB === 'auto' ? fs.overlay.sizeMiB : part.sizeMiB) * 1024 * 1024;
      const uuid = seed.uuid('state-fs');
      // v3: written in-process (the bytes mkfs.f2fs wrote, built again so no cached tool output stands in for it).
      const dir = await cachedFor(ctx, 'state-f2fs', { v: 3, sizeBytes, uuid, epoch }, async (d) => {
        await writeEmptyF2fs(join(d, 'state.f2fs'), sizeBytes, { uuid, label: 'state', epoch });
      });
      const path = join(dir, 'state.f2fs');
      contents.set('state', { path, policy: { kind: 'prefix', bytes: await f2fsMetadataPrefix(path) } });
    }
    return { ...input, contents, verity };
  },
};
