/** Stage "configure": install scripts, generated /etc, services, kernel modules (../configure.ts). */
import type { Stage } from '../../runner';
import { configureRoot } from '../configure';
import { manifestHash } from '../manifest-ops';
import { layoutSeed, type ComposeState } from './compose-state';

export const configureRootStage: Stage<ComposeState, ComposeState> = {
  id: 'configure',
  title: 'Configure the root filesystem',
  async run(state, ctx) {
    state.seed = layoutSeed(state.plan, state.epoch);
    state.configured = await configureRoot(state.manifest, state.plan, state.epoch, state.scripts, state.apk);
    for (const l of state.configured.log) ctx.log('info', l);
    state.rootHash = manifestHash(state.configured.rootfs);
    state.warnings.push(...state.configured.warnings);
    return state;
  },
};
