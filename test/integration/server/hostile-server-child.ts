/**
 * The real `nexus serve` server (startServer + the real dispatcher and handlers) in its own process, so a test can
 * see it die. Engine ports are stand-ins: flash is a write that reports progress every 100 ms until it is cancelled
 * (the "heartbeat" a crash would end). Prints one JSON line {origin, token, port} when listening.
 * Usage: node --import tsx hostile-server-child.ts <dir>   (dir: renderer/, config/ and out/ go there)
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CancelledError } from '../../../src-shared/errors';
import type { FlashProgress } from '../../../src-shared/flash';
import { createApp } from '../../../src-main/app/create-app';
import { startServer } from '../../../src-main/server/server';

const dir = process.argv[2];
if (!dir) throw new Error('usage: hostile-server-child.ts <dir>');
const rendererDir = join(dir, 'renderer');
await mkdir(rendererDir, { recursive: true });
await writeFile(join(rendererDir, 'index.html'), '<!doctype html><title>Nexus Imager</title><p>wizard</p>\n');

const dispatcher = createApp(
  {
    loadCatalog: async () => {
      throw new Error('not in this test');
    },
    resourcesDir: () => dir,
    build: async () => {
      throw new Error('not in this test');
    },
    bootTest: async () => ({ passed: true, seconds: 0, log: '' }),
    listDrives: async () => [],
    async *watchDrives() {},
    qemuArches: async () => [],
    pickImage: async () => null,
    imageSize: async () => ({ size: null, exact: false }),
    backup: async () => {
      throw new Error('not in this test');
    },
    flash: (request, { signal, onProgress }) =>
      new Promise((_, reject) => {
        const started = Date.now();
        let bytes = 0;
        const tick = setInterval(() => {
          bytes += 1 << 20;
          const progress: FlashProgress = {
            type: 'flash.progress',
            phase: 'writing',
            sourceBytesRead: bytes,
            sourceBytesTotal: null,
            elapsedMs: Date.now() - started,
            targets: request.targets.map((device) => ({
              device,
              phase: 'writing',
              bytesDone: bytes,
              bytesTotal: null,
              speed: 1 << 20,
              avgSpeed: 1 << 20,
              etaSeconds: null,
            })),
          };
          onProgress(progress);
        }, 100);
        signal.addEventListener(
          'abort',
          () => {
            clearInterval(tick);
            reject(new CancelledError());
          },
          { once: true },
        );
      }),
  },
  { version: '0.0.0-test', transport: 'websocket', configDir: join(dir, 'config'), outputDir: join(dir, 'out') },
  { checkResponses: true, throttleMs: 50 },
);

const server = await startServer({ dispatcher, rendererDir, host: '127.0.0.1', port: 0 });
process.stdout.write(`${JSON.stringify({ origin: server.origin, token: server.token, port: server.port })}\n`);
process.once('SIGTERM', () => {
  dispatcher.close();
  void server.close().then(() => process.exit(0));
});
