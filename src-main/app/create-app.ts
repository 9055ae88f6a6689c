/** Wires handlers, the job registry, the dispatcher and the drive watcher: what both transports host. */
import { NexusError } from '../../src-shared/errors';
import { Dispatcher, JobRegistry } from './dispatcher';
import { createHandlers, type AppConfig } from './handlers';
import type { AppPorts } from './ports';

export interface AppOptions {
  checkResponses?: boolean;
  throttleMs?: number;
}

export function createApp(ports: AppPorts, config: AppConfig, options: AppOptions = {}): Dispatcher {
  const jobs = new JobRegistry();
  const handlers = createHandlers(ports, config, jobs);
  return new Dispatcher(handlers, jobs, {
    checkResponses: options.checkResponses ?? false,
    throttleMs: options.throttleMs ?? 100,
    sources: {
      'drives.changed': (emit) => {
        const controller = new AbortController();
        void (async () => {
          try {
            for await (const drives of ports.watchDrives(controller.signal)) emit({ drives });
          } catch (err) {
            if (!controller.signal.aborted) console.error(new NexusError('DRIVE_WATCH_FAILED', String(err)).message);
          }
        })();
        return () => controller.abort();
      },
    },
  });
}
