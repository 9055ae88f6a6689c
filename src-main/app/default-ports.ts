/** The real engine behind the app's ports. */
import { ARCHES, type Arch } from '../../src-shared/arch';
import { NexusError } from '../../src-shared/errors';
import { loadCatalog } from '../engine/catalog/load';
import { listDrives, watchDrives } from '../engine/drives';
import { whichTool } from '../engine/host-tools';
import { resourcesDir } from '../engine/paths';
import type { AppPorts } from './ports';

const QEMU: Record<Arch, string> = { x86_64: 'qemu-system-x86_64', arm64: 'qemu-system-aarch64', riscv64: 'qemu-system-riscv64' };

export function defaultPorts(): AppPorts {
  // profiles/ is read once per process (it ships with the app); a failed load is retried next time.
  let catalog: ReturnType<typeof loadCatalog> | null = null;
  return {
    loadCatalog: () => {
      catalog ??= loadCatalog().catch((err) => {
        catalog = null;
        throw err;
      });
      return catalog;
    },
    resourcesDir,
    build: async (plan, options) => {
      const { buildImage } = await import('../engine/build');
      return buildImage(plan, options);
    },
    bootTest: async (image, arch, signal, vm) => {
      const { bootTest } = await import('../engine/vm/boot-test');
      // A kept-running VM ("Try in a VM") ends at Stop; 30 min is the backstop for a forgotten one.
      const r = await bootTest(image, { arch, signal, ...(vm ? { ...vm, timeoutSeconds: vm.keepRunning ? 1800 : 180 } : {}) });
      return { passed: r.passed, seconds: r.seconds, log: r.log };
    },
    imageSize: async (path, { count, signal, onProgress }) => {
      const { recordedImageSize, countImageSize } = await import('../engine/flash/image-size');
      if (!count) return recordedImageSize(path);
      return countImageSize(path, { ...(signal ? { signal } : {}), ...(onProgress ? { onProgress } : {}) });
    },
    backup: async (device, output, { signal, onProgress }) => {
      const { backupDrive } = await import('../engine/backup/backup');
      return backupDrive(device, output, { signal, onProgress });
    },
    listDrives: () => listDrives(),
    watchDrives: (signal) => watchDrives({ signal, intervalMs: 1000 }),
    // The write runs in the privileged helper (pkexec / admin prompt / UAC; in-process children when already root).
    flash: async (request, { signal, onProgress, onLog }) => {
      const { startFlash } = await import('../privileged/launcher');
      return startFlash(request, { signal, onProgress, ...(onLog ? { onLog } : {}) });
    },
    pickImage: async () => {
      throw new NexusError('NOT_AVAILABLE', 'A file dialog needs the desktop app.', 'Type the path of the image on the computer running Nexus Imager.');
    },
    qemuArches: async () => {
      const found = await Promise.all(ARCHES.map(async (a) => ((await whichTool(QEMU[a])) ? a : null)));
      return found.filter((a): a is Arch => a !== null);
    },
  };
}
