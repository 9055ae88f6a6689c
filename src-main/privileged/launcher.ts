/**
 * startFlash(): what the Electron main process (and a non-root CLI) call to write drives.
 * It starts the privileged helper for this one run, hands it a fresh random token through a 0600
 * file, streams progress back, sends heartbeats, forwards cancel, and cleans up whatever happens.
 * The write itself never runs in the calling process, so its event loop is never blocked.
 */
import { chmod, mkdtemp, realpath, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { execa, type ResultPromise } from 'execa';
import { CancelledError, NexusError } from '../../src-shared/errors';
import { FlashRequest, HelperToApp, type FlashProgress, type FlashRequestInput, type FlashResult } from '../../src-shared/flash';
import { extraDevicesFromEnv } from '../engine/drives/list';
import { requireTool } from '../engine/host-tools';
import { chooseElevation, classifyElevationFailure, elevatedCommand, helperProgram, type Elevation } from './elevate';
import { HEARTBEAT_INTERVAL_MS, encode, newToken, readLines } from './protocol';
import { TOKEN_DIR_PREFIX } from './token-file';

export interface StartFlashOptions {
  signal?: AbortSignal;
  onProgress?: (p: FlashProgress) => void;
  onLog?: (level: 'debug' | 'info' | 'warn' | 'error', message: string) => void;
  /** Default: chosen from the platform and uid. */
  elevation?: Elevation;
  /** Helper program (tests); default helperProgram(). */
  program?: string[];
  /** Test hook devices passed to the helper (default: NEXUS_EXTRA_DRIVES of this process). */
  extraDevices?: string[];
}

export async function startFlash(input: FlashRequestInput, o: StartFlashOptions = {}): Promise<FlashResult> {
  const parsed = FlashRequest.parse(input);
  // The helper reads only real paths (it refuses a link it meets: source-check.ts), so links are resolved here, as the user.
  const real = (p: string) => realpath(resolve(p)).catch(() => resolve(p));
  const request: FlashRequest = {
    ...parsed,
    source: parsed.source.kind === 'file' ? { ...parsed.source, path: await real(parsed.source.path) } : parsed.source,
    bmap: parsed.bmap === null ? null : await real(parsed.bmap),
  };
  const elevation = o.elevation ?? chooseElevation();
  if (elevation === 'pkexec') await requireTool('pkexec', 'the privileged writer');
  const dir = await mkdtemp(join(tmpdir(), TOKEN_DIR_PREFIX)); // the helper deletes only <that dir>/token (token-file.ts)
  await chmod(dir, 0o700);
  const token = newToken();
  const tokenFile = join(dir, 'token');
  await writeFile(tokenFile, token, { mode: 0o600 });
  const useSocket = elevation === 'osascript' || elevation === 'uac';
  const socketPath = process.platform === 'win32' ? `\\\\.\\pipe\\nexus-${token.slice(0, 16)}` : join(dir, 'helper.sock');
  const extra = o.extraDevices ?? extraDevicesFromEnv();
  const args = ['--token-file', tokenFile, ...(useSocket ? ['--socket', socketPath] : []), ...(extra.length ? ['--extra-drives', extra.join(',')] : [])];
  const cmd = elevatedCommand(elevation, o.program ?? helperProgram(), args);

  let server: Server | null = null;
  const channel = useSocket ? new Promise<Socket>((resolve) => (server = createServer((s) => resolve(s)).listen(socketPath))) : null;
  const child: ResultPromise = execa(cmd.command, cmd.args, {
    stdin: useSocket ? 'ignore' : 'pipe',
    stdout: useSocket ? 'ignore' : 'pipe',
    stderr: 'pipe',
    reject: false,
    buffer: { stdout: false, stderr: true },
    env: { UV_THREADPOOL_SIZE: '8' },
  });

  let heartbeat: NodeJS.Timeout | undefined;
  try {
    const io = useSocket
      ? await Promise.race([channel!.then((s) => ({ input: s as Readable, output: s as Writable })), child.then(() => null)])
      : { input: child.readable({ binary: true, preserveNewlines: true }), output: child.stdin as Writable };
    if (!io) {
      const r = await child;
      throw classifyElevationFailure(elevation, r.exitCode, String(r.stderr ?? ''));
    }
    return await converse(io, child, token, request, elevation, o, (t) => (heartbeat = t));
  } finally {
    clearInterval(heartbeat);
    if (child.exitCode === null) {
      await Promise.race([child, new Promise((r) => setTimeout(r, 3000))]);
      if (child.exitCode === null) child.kill('SIGKILL');
    }
    (server as Server | null)?.close();
    await rm(dir, { recursive: true, force: true });
  }
}

function converse(
  io: { input: Readable; output: Writable },
  child: ResultPromise,
  token: string,
  request: FlashRequest,
  elevation: Elevation,
  o: StartFlashOptions,
  setHeartbeat: (t: NodeJS.Timeout) => void,
): Promise<FlashResult> {
  return new Promise<FlashResult>((resolve, reject) => {
    const send = (m: object) => {
      if (!io.output.destroyed) io.output.write(encode({ ...m, token }));
    };
    io.output.on('error', () => undefined); // helper gone: reported through its exit
    let settled = false;
    const settle = (fn: () => void) => {
      if (!settled) {
        settled = true;
        fn();
      }
    };
    const onAbort = () => send({ type: 'cancel' });
    o.signal?.addEventListener('abort', onAbort, { once: true });

    void readLines(io.input, (line) => {
      const parsed = HelperToApp.safeParse(
        (() => {
          try {
            return JSON.parse(line);
          } catch {
            return null;
          }
        })(),
      );
      if (!parsed.success) return o.onLog?.('debug', `helper: ${line}`);
      const m = parsed.data;
      switch (m.type) {
        case 'ready':
          setHeartbeat(setInterval(() => send({ type: 'ping' }), HEARTBEAT_INTERVAL_MS));
          send({ type: 'flash', request });
          if (o.signal?.aborted) onAbort();
          return;
        case 'progress':
          return o.onProgress?.(m.progress);
        case 'log':
          return o.onLog?.(m.level, m.message);
        case 'result':
          settle(() => resolve(m.result));
          io.output.end();
          return;
        case 'rejected':
        case 'fatal':
          settle(() => reject(m.error.code === 'CANCELLED' ? new CancelledError() : new NexusError(m.error.code, m.error.message, m.error.hint)));
          io.output.end();
          return;
        case 'pong':
          return;
      }
    });
    void child.then((r) => {
      o.signal?.removeEventListener('abort', onAbort);
      settle(() => reject(classifyElevationFailure(elevation, r.exitCode, String(r.stderr ?? ''))));
    });
  });
}
