/** The offline-kit commands (kit.*) over the engine's offline-kit module; spread into createHandlers. */
import { mkdir, realpath, stat } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import type { Handlers } from '../../src-shared/contract';
import { NexusError } from '../../src-shared/errors';
import { buildableOffline, imageWithKit, importKit, kitFileName, planKit, prepareKit } from '../engine/offline-kit/index';
import { HistoryStore } from './history-store';
import type { AppConfig } from './handlers';
import type { AppPorts } from './ports';

type KitHandlers = Pick<Handlers, 'kit.plan' | 'kit.prepare' | 'kit.import' | 'kit.status' | 'kit.attach'>;

/** A kit is a .tar by name and a regular file (links followed): a UI cannot have any other file read as one. */
async function checkKitPath(path: string): Promise<string> {
  const abs = resolve(path.replace(/^~(?=\/|$)/, process.env.HOME ?? '~'));
  const st = await stat(abs).catch(() => null);
  if (!st)
    throw new NexusError(
      'NOT_FOUND',
      `${abs} does not exist.`,
      'Type the path of the kit file on the computer running Nexus Imager (for example on the mounted USB stick).',
    );
  const real = await realpath(abs);
  if (!st.isFile() || !/\.tar$/i.test(basename(real))) {
    throw new NexusError(
      'NOT_A_KIT',
      `${abs} is not an offline kit file.`,
      'Choose the nexus-kit-….tar file made by "Prepare an offline kit" (its .sha256 file next to it).',
    );
  }
  return real;
}

export function kitHandlers(ports: AppPorts, config: AppConfig): KitHandlers {
  const feedOpts = () => ({ ...(config.mirror ? { mirror: config.mirror } : {}), ...(config.keysDir ? { keysDir: config.keysDir } : {}) });
  const apkKeysDir = () => config.keysDir ?? join(ports.resourcesDir(), 'keys', 'alpine');
  const history = new HistoryStore(config.configDir);
  return {
    'kit.plan': async ({ choices }) => {
      const { resolved: _r, indexIds: _i, ...plan } = await planKit(await ports.loadCatalog(), choices, feedOpts());
      return plan;
    },

    'kit.prepare': async ({ jobId, choices }, { signal, emit }) => {
      const dir = join(config.outputDir, 'kits');
      await mkdir(dir, { recursive: true });
      return prepareKit(await ports.loadCatalog(), choices, join(dir, kitFileName(choices)), {
        ...feedOpts(),
        apkKeysDir: apkKeysDir(),
        signal,
        onProgress: (progress) => emit('kit.progress', { jobId, progress }),
      });
    },

    'kit.import': async ({ jobId, path }, { signal, emit }) => {
      const file = await checkKitPath(path);
      return importKit(await ports.loadCatalog(), file, {
        ...feedOpts(),
        apkKeysDir: apkKeysDir(),
        signal,
        onProgress: (progress) => emit('kit.progress', { jobId, progress }),
      });
    },

    'kit.status': async ({ choices }) => buildableOffline(await ports.loadCatalog(), choices, feedOpts()),

    // Only an image this app built (found through its history) is copied, next to it in the output folder.
    'kit.attach': async ({ historyId, kitFile }) => {
      const entry = await history.get(historyId);
      if (!entry) throw new NexusError('NO_SUCH_BUILD', 'That build is no longer in the history.', 'Build the image again.');
      const kit = await checkKitPath(kitFile);
      const out = entry.image.replace(/(\.img)?$/, '-with-kit.img');
      const r = await imageWithKit(entry.image, kit, out);
      const id = `${historyId.split('-')[0]}-kit-${Date.now().toString(36)}`;
      await history.add({ ...entry, id, time: Date.now(), image: r.image, sha256: r.sha256, size: r.size, manifest: null, bmap: null, answers: null });
      return {
        historyId: id,
        image: r.image,
        sha256: r.sha256,
        size: r.size,
        files: [
          { kind: 'image' as const, path: r.image, size: r.size },
          { kind: 'checksum' as const, path: r.checksumFile, size: (await stat(r.checksumFile)).size },
        ],
      };
    },
  };
}
