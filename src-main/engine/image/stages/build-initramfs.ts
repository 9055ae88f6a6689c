/** Stage "initramfs": the whole root (initramfs roots) or the small disk-root initramfs, packed as cpio + gzip. */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Stage } from '../../runner';
import { buildDiskInitramfs, packInitramfs } from '../initramfs';
import { manifestHash } from '../manifest-ops';
import { cached, type ComposeState } from './compose-state';

export const buildInitramfsStage: Stage<ComposeState, ComposeState> = {
  id: 'initramfs',
  title: 'Build the initramfs',
  async run(state, ctx) {
    const cfg = state.configured!;
    const ram = state.plan.filesystems!.root.type === 'initramfs';
    const source = ram ? cfg.rootfs : await buildDiskInitramfs(cfg.rootfs, state.plan, cfg.modules.files, state.epoch);
    const key = { v: 3, kind: ram ? 'ram' : 'disk', tree: ram ? state.rootHash : manifestHash(source) };
    const dir = await cached(state, ctx, 'initramfs', key, async (d) => {
      ctx.progress({ message: `packing ${source.size} entries` });
      await writeFile(join(d, 'initramfs.img'), await packInitramfs(source));
    });
    state.initramfs = join(dir, 'initramfs.img');
    return state;
  },
};
