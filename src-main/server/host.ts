/** Builds the real app and serves it: what `nexus serve` runs, and what the end-to-end tests start. */
import { join } from 'node:path';
import { NEXUS_VERSION } from '../../src-shared/version';
import { createApp } from '../app/create-app';
import { defaultPorts } from '../app/default-ports';
import { defaultOutputDir } from '../app/handlers';
import type { AppPorts } from '../app/ports';
import { appRoot, cacheDir, configDir } from '../engine/paths';
import { startServer, type RunningServer } from './server';
import { DEFAULT_MAX_UPLOAD } from './upload';

export interface HostOptions {
  host?: string;
  port?: number;
  allowRemote?: boolean;
  token?: string;
  rendererDir?: string;
  configDir?: string;
  outputDir?: string;
  mirror?: string;
  keysDir?: string;
  /** Replaces single engine ports (tests only). */
  ports?: Partial<AppPorts>;
  checkResponses?: boolean;
}

export const defaultRendererDir = () => join(appRoot(), 'build', 'renderer');

export async function hostApp(options: HostOptions = {}): Promise<RunningServer> {
  const dispatcher = createApp(
    { ...defaultPorts(), ...options.ports },
    {
      version: NEXUS_VERSION,
      transport: 'websocket',
      configDir: options.configDir ?? configDir(),
      outputDir: options.outputDir ?? defaultOutputDir(cacheDir()),
      ...(options.mirror ? { mirror: options.mirror } : {}),
      ...(options.keysDir ? { keysDir: options.keysDir } : {}),
    },
    { checkResponses: options.checkResponses ?? false },
  );
  const server = await startServer({
    dispatcher,
    rendererDir: options.rendererDir ?? defaultRendererDir(),
    ...(options.host ? { host: options.host } : {}),
    ...(options.port !== undefined ? { port: options.port } : {}),
    ...(options.token ? { token: options.token } : {}),
    ...(options.allowRemote ? { allowRemote: true } : {}),
    upload: { dir: join(options.outputDir ?? defaultOutputDir(cacheDir()), 'uploads'), maxBytes: DEFAULT_MAX_UPLOAD },
  });
  return {
    ...server,
    close: async () => {
      dispatcher.close();
      await server.close();
    },
  };
}
