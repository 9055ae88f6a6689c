/** Stage "configure": install scripts, generated /etc, services, kernel modules (../configure.ts). */
import type { Stage } from '../../runner';
import { configureRoot } from '../configure';
import { manifestHash } from '../manifest-ops';
import type { RootCollected, RootConfigured } from './image-parts';

export const configureRootStage: Stage<RootCollected, RootConfigured> = {
  id: 'configure',
  title: 'Configure the root filesystem',
  async run({ plan, epoch, seed, lock, manifest, scripts, apk }, ctx) {
    const configured = await configureRoot(manifest, plan, epoch, scripts, apk);
    for (const l of configured.log) ctx.log('info', l);
    return { plan, epoch, seed, lock, configured, rootHash: manifestHash(configured.rootfs), warnings: [...configured.warnings] };
  },
};
