/** Stage "rootfs": the unpacked packages, their install-script records and apk's view of them, handed to the image stages. */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { BuildOptions } from '../../build-types';
import type { UnpackedFeed } from '../../feeds/index';
import type { Stage } from '../../runner';
import { layoutSeed, sourceDateEpoch } from '../reproducible';
import type { RootCollected } from './image-parts';

/** The public keys in the feed's key directories (name → PEM), as the build trusted them. */
async function trustedKeyFiles(dirs: string[]): Promise<Array<{ name: string; pem: string }>> {
  const keys = new Map<string, string>();
  for (const d of dirs) {
    for (const name of (await readdir(d).catch((): string[] => [])).filter((n) => n.endsWith('.pub')).sort()) {
      if (!keys.has(name)) keys.set(name, await readFile(join(d, name), 'utf8'));
    }
  }
  return [...keys].map(([name, pem]) => ({ name, pem }));
}

export function collectRootStage(options: Pick<BuildOptions, 'sourceDateEpoch'>): Stage<UnpackedFeed, RootCollected> {
  return {
    id: 'rootfs',
    title: 'Collect the root filesystem',
    async run(feed) {
      const epoch = sourceDateEpoch(options.sourceDateEpoch);
      return {
        plan: feed.plan,
        epoch,
        seed: layoutSeed(feed.plan, epoch),
        lock: feed.lock,
        manifest: feed.manifest,
        // Effects and script records go on to the configure stage, which applies, emulates, defers or refuses each
        // script (image/script-effects.ts) and logs what it did.
        scripts: { effects: feed.effects, scripts: feed.skippedScripts, ownerNames: feed.ownerNames },
        // apk on the device: the packages as the indexes describe them and the keys this build trusted.
        apk: { packages: feed.resolution.packages.map((p) => p.pkg), keys: await trustedKeyFiles(feed.feed.keyDirs) },
      };
    },
  };
}
