/** Stage "initramfs": the whole root (initramfs roots) or the small disk-root initramfs, packed as cpio + gzip. */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Stage } from '../../runner';
import { cachedFor } from '../cache';
import { buildDiskInitramfs, packInitramfs } from '../initramfs';
import { manifestHash } from '../manifest-ops';
import type { InitramfsBuilt, RootConfigured } from './image-parts';

export const buildInitramfsStage: Stage<RootConfigured, InitramfsBuilt> = {
  id: 'initramfs',
  title: 'Build the initramfs',
  async run(input, ctx) {
    const { configured: cfg, plan, epoch } = input;
    const ram = plan.filesystems.root.type === 'initramfs';
    const source = ram ? cfg.rootfs : await buildDiskInitramfs(cfg.rootfs, plan, cfg.modules.files, epoch);
    const key = { v: 3, kind: ram ? 'ram' : 'disk', tree: ram ? input.rootHash : manifestHash(source) };
    const dir = await cachedFor(ctx, 'initramfs', key, async (d) => {
      ctx.progress({ message: `packing ${source.size} entries` });
      await writeFile(join(d, 'initramfs.img'), await packInitramfs(source));
    });
    return { ...input, initramfs: join(dir, 'initramfs.img') };
  },
};
