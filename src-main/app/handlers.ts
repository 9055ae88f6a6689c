/** The implementation of every contract command over the engine, shared by the Electron and the WebSocket adapters. */
import { mkdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Handlers, HistoryEntry, RunningWrite, SystemInfo } from '../../src-shared/contract';
import { toErrorInfo } from '../../src-shared/errors';
import { CancelledError, NexusError } from '../../src-shared/errors';
import { serveAnswers } from '../engine/official/serve';
import { redactSecrets } from '../../src-shared/plan';
import { runFlashJob } from '../engine/flash/flash-job';
import { siblingBmap } from '../engine/flash/sibling-bmap';
import { resolvePlan } from '../engine/plan/resolve';
import { catalogView } from './catalog-view';
import { checkSourceFile } from './flash-source';
import type { JobRegistry } from './dispatcher';
import { HistoryStore } from './history-store';
import { kitHandlers } from './kit-handlers';
import type { AppPorts } from './ports';
import { SettingsStore } from './settings-store';
import { sha512Crypt } from './sha512-crypt';

export interface AppConfig {
  version: string;
  transport: SystemInfo['transport'];
  /** Settings and build history live here. */
  configDir: string;
  /** Built images go here. */
  outputDir: string;
  /** Mirror override for every build (a feed URL or directory); `nexus serve --mirror`. */
  mirror?: string;
  keysDir?: string;
}

const COMPRESSED = /\.(xz|gz|zst|zip|bz2)$/i;

export function createHandlers(ports: AppPorts, config: AppConfig, jobs: JobRegistry): Handlers {
  const settings = new SettingsStore(config.configDir);
  const history = new HistoryStore(config.configDir);
  // Writes in progress (listed to a UI that reloads) and the consoles of running VMs (for vm.input).
  const writes = new Map<string, RunningWrite>();
  const vmConsoles = new Map<string, { write(text: string): void }>();

  return {
    'system.info': async () => ({ version: config.version, platform: process.platform, transport: config.transport, qemu: await ports.qemuArches() }),

    'catalog.get': async () => catalogView(await ports.loadCatalog(), ports.resourcesDir()),

    'plan.resolve': async (request) => redactSecrets(resolvePlan(await ports.loadCatalog(), { ...request, output: undefined }, { cwd: config.outputDir })),

    'password.hash': async ({ password }) => ({ hash: sha512Crypt(password) }),

    'job.cancel': async ({ jobId }) => {
      if (!jobs.cancel(jobId)) throw new NexusError('NO_SUCH_JOB', `No job "${jobId}" is running.`, 'It may have finished already.');
      return { ok: true as const };
    },

    'build.start': async ({ jobId, build, bootTest, offline }, { signal, emit }) => {
      const catalog = await ports.loadCatalog();
      // The UI never chooses where files go: outputs stay in the output directory.
      const plan = resolvePlan(catalog, { ...build, output: undefined }, { cwd: config.outputDir });
      const result = await ports.build(plan, {
        signal,
        onEvent: (event) => (event.type === 'log' ? emit('build.log', { jobId, event }) : emit('build.progress', { jobId, event })),
        bootTest,
        // The app chooses every output name itself, inside its own output directory: replacing its earlier image is
        // what a rebuild means there (the CLI asks for --force instead).
        force: true,
        ...(offline ? { offline: true } : {}),
        ...(config.mirror ? { mirror: config.mirror } : {}),
        ...(config.keysDir ? { keysDir: config.keysDir } : {}),
      });
      const file = (kind: string) => result.files.find((f) => f.kind === kind)?.path ?? null;
      const historyId = `${plan.planHash.slice(0, 12)}-${Date.now().toString(36)}`;
      await history.add({
        id: historyId,
        time: Date.now(),
        box: plan.box.name,
        arch: plan.arch,
        board: plan.board.name,
        fragments: plan.fragments,
        image: result.image,
        sha256: result.sha256,
        size: result.size,
        manifest: file('manifest'),
        bmap: file('bmap'),
        answers: file('answers'),
      });
      return {
        historyId,
        planHash: plan.planHash,
        image: result.image,
        sha256: result.sha256,
        size: result.size,
        files: result.files,
        packageCount: result.packageCount,
        warnings: result.warnings,
        ...(result.bootTest ? { bootTest: { passed: result.bootTest.passed, seconds: result.bootTest.seconds } } : {}),
      };
    },

    'vm.try': async ({ jobId, historyId, keepRunning }, { signal, emit }) => {
      const entry = await history.get(historyId);
      if (!entry) throw new NexusError('NO_SUCH_BUILD', 'That build is no longer in the history.', 'Build the image again.');
      const catalog = await ports.loadCatalog();
      if (catalog.boxes.get(entry.box)?.recipe === 'official-image') {
        throw new NexusError(
          'VM_UNSUPPORTED',
          `${entry.box} is an installer image: it does not boot to a Nexus system by itself.`,
          'Follow the next steps shown after writing (they include a QEMU command line for the installer).',
        );
      }
      // The history entry already says what was built for which board and architecture: nothing is re-resolved.
      const board = catalog.boards.get(entry.board);
      if (!board) throw new NexusError('NO_SUCH_BOARD', `The board "${entry.board}" of that build is no longer known.`, 'Build the image again.');
      // Only VM boards: the Pi 5 and VisionFive 2 start from their own firmware (which QEMU cannot run) and the PC
      // image's console is the screen, so their boot would only ever end in a timeout.
      if (board.kind !== 'vm') {
        throw new NexusError(
          'VM_UNSUPPORTED',
          `The ${board.title} image is made for that hardware: QEMU cannot boot it to its console.`,
          `Build the same Box for qemu-${entry.arch} to try it in a VM.`,
        );
      }
      // The serial port delivers a few bytes at a time: the console goes out in batches of up to 50 ms.
      let pending = '';
      let timer: ReturnType<typeof setTimeout> | null = null;
      const flush = () => {
        if (timer) clearTimeout(timer);
        timer = null;
        if (pending) emit('vm.console', { jobId, text: pending, marker: null });
        pending = '';
      };
      try {
        return await ports.bootTest(entry.image, entry.arch, signal, {
          keepRunning,
          onOutput: (text) => {
            pending += text;
            timer ??= setTimeout(flush, 50);
          },
          onMarker: (line) => {
            flush();
            emit('vm.console', { jobId, text: '', marker: line });
          },
          onStart: (console) => vmConsoles.set(jobId, console),
        });
      } finally {
        flush();
        vmConsoles.delete(jobId);
      }
    },

    'vm.input': async ({ jobId, text }) => {
      const console = vmConsoles.get(jobId);
      if (!console) throw new NexusError('NO_SUCH_JOB', 'That VM is not running.', 'Start it again with "Try in a VM".');
      console.write(text);
      return { ok: true as const };
    },

    'image.pick': async () => ({ path: await ports.pickImage() }),

    'image.inspect': async ({ path }) => {
      const { abs, st } = await checkSourceFile('image', path, true);
      if (!st) throw new NexusError('IMAGE_NOT_FOUND', `${abs} is not a file.`, 'Check the path; it is a path on the computer running Nexus Imager.');
      const recorded = await ports.imageSize(abs, { count: false });
      return { path: abs, size: st.size, compressed: COMPRESSED.test(abs), bmap: siblingBmap(abs), imageSize: recorded.size };
    },

    'image.measure': async ({ jobId, path }, { signal, emit }) => {
      const { abs, st } = await checkSourceFile('image', path, true);
      if (!st) throw new NexusError('IMAGE_NOT_FOUND', `${abs} is not a file.`, 'Check the path; it is a path on the computer running Nexus Imager.');
      const r = await ports.imageSize(abs, {
        count: true,
        signal,
        onProgress: (bytesRead, bytesTotal) => emit('image.progress', { jobId, bytesRead, bytesTotal }),
      });
      return { imageSize: r.size ?? 0, exact: r.exact };
    },

    'image.fetch': async ({ jobId, url, sha256 }, { signal, emit }) => {
      const { fetchImage } = await import('../engine/flash/fetch-image');
      const path = await fetchImage(url, sha256, join(config.outputDir, 'downloads'), {
        signal,
        onBytes: (done) => emit('image.progress', { jobId, bytesRead: done, bytesTotal: 0 }),
      });
      const st = await stat(path);
      const recorded = await ports.imageSize(path, { count: false });
      return { path, size: st.size, compressed: COMPRESSED.test(path), bmap: siblingBmap(path), imageSize: recorded.size };
    },

    'drives.list': async () => ports.listDrives(),

    'flash.start': async ({ source, bmap, targets, verify, eject, jobId }, { signal, emit }) => {
      // The same rule as image.inspect, for the image and its block map: the write reads both with the helper's
      // rights. It gets the real paths (links resolved), so the helper refuses any link it finds there later.
      const checked = source.kind === 'file' ? { ...source, path: (await checkSourceFile('image', source.path, false)).real } : source;
      const checkedBmap = bmap === null ? null : (await checkSourceFile('bmap', bmap, true)).real;
      const running: RunningWrite = { jobId, targets, source: checked.kind === 'file' ? checked.path : checked.url, startedAt: Date.now(), progress: null };
      writes.set(jobId, running);
      try {
        // Through the runner, like a build: stages and log lines as flash.stage / flash.log, the per-drive detail as flash.progress.
        const result = await runFlashJob(
          { source: checked, bmap: checkedBmap, targets, verify, eject, includeSystem: false, confirmedSystemDevices: [] },
          (request, o) => ports.flash(request, o),
          {
            signal,
            onProgress: (progress) => {
              running.progress = progress;
              emit('flash.progress', { jobId, progress });
            },
            onEvent: (event) => (event.type === 'log' ? emit('flash.log', { jobId, event }) : emit('flash.stage', { jobId, event })),
          },
        );
        emit('flash.finished', { jobId, result, error: null });
        return result;
      } catch (err) {
        emit('flash.finished', { jobId, result: null, error: toErrorInfo(err) });
        throw err;
      } finally {
        writes.delete(jobId);
      }
    },

    'flash.running': async () => [...writes.values()],

    'backup.start': async ({ jobId, device, name }, { signal, emit }) => {
      const drive = (await ports.listDrives()).find((d) => d.device === device);
      if (!drive) throw new NexusError('DRIVE_NOT_FOUND', `${device} is not a drive.`, 'Pick the drive from the list; it may have been removed.');
      if (drive.system)
        throw new NexusError(
          'SYSTEM_DRIVE',
          `${device} is a system drive.`,
          'Back up removable drives only (SD cards, USB sticks); use nexus backup for anything else.',
        );
      if ([...writes.values()].some((w) => w.targets.includes(device)))
        throw new NexusError('DRIVE_BUSY', `${device} is being written right now.`, 'Wait for the write to finish.');
      await mkdir(config.outputDir, { recursive: true });
      return ports.backup(device, join(config.outputDir, name), { signal, onProgress: (progress) => emit('backup.progress', { jobId, progress }) });
    },

    // Only a file this process wrote (found through the build history) is ever shared on the network.
    'answers.serve': async ({ jobId, historyId, port }, { signal, emit }) => {
      const entry = await history.get(historyId);
      if (!entry) throw new NexusError('NO_SUCH_BUILD', 'That build is no longer in the history.', 'Build the image again.');
      if (!entry.answers)
        throw new NexusError(
          'NO_ANSWERS',
          `The ${entry.box} build has no install answers: only openbox builds have them.`,
          'Build openbox to get an answers file.',
        );
      const text = await readFile(entry.answers, 'utf8').catch(() => {
        throw new NexusError('ANSWERS_MISSING', `${entry.answers} is gone.`, 'Build the image again: the answers file is written next to it.');
      });
      if (signal.aborted) throw new CancelledError();
      const server = await serveAnswers(text, { port, onRequest: (request) => emit('answers.request', { jobId, request }) });
      try {
        emit('answers.ready', { jobId, port: server.port, urls: server.urls });
        await new Promise<void>((resolve) => (signal.aborted ? resolve() : signal.addEventListener('abort', () => resolve(), { once: true })));
      } finally {
        await server.close();
      }
      return { fetches: server.requests.filter((r) => r.status === 200).length };
    },

    'history.list': async (): Promise<HistoryEntry[]> => history.list(),

    'history.remove': async ({ id }) => {
      await history.remove(id);
      return { ok: true as const };
    },

    'settings.get': async () => settings.get(),
    'settings.save': async (s) => settings.save(s),
    ...kitHandlers(ports, config),
  };
}

export const defaultOutputDir = (cacheDir: string) => join(cacheDir, 'images');
