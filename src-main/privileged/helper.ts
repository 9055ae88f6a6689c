/**
 * The privileged helper: started (as root) only for one write, it talks newline-delimited JSON
 * over stdio or a private Unix socket / named pipe. It trusts nothing it is sent:
 *  - every message must carry the per-run token the launcher put in a 0600 file (wrong token → exit);
 *  - every message is validated with the zod schemas in src-shared/flash (malformed → rejected);
 *  - flash() enumerates drives itself and re-checks every target against the safety policy;
 *  - the image and block map are re-checked with the shared source rule and read without following links (source-check.ts).
 * It exits when the app stops sending heartbeats or closes the channel, cancelling any write first.
 */
import type { Readable, Writable } from 'node:stream';
import { NexusError, toErrorInfo } from '../../src-shared/errors';
import { AppToHelper, HELPER_PROTOCOL_VERSION, type HelperToApp } from '../../src-shared/flash';
import type { Drive } from '../../src-shared/drives';
import { listDrives } from '../engine/drives/list';
import { flash, type FlashRunOptions } from '../engine/flash/flash';
import { HEARTBEAT_TIMEOUT_MS, MAX_LINE, encode, readLines, tokensEqual } from './protocol';
import { pinSources, type InvokingUser } from './source-check';

export interface HelperIo {
  input: Readable;
  output: Writable;
}

export interface HelperOptions {
  token: string;
  /** Test hook devices (loops) passed on the helper's command line, never from a message. */
  extraDevices?: readonly string[];
  heartbeatTimeoutMs?: number;
  /** The user who asked for the write: files they cannot read are refused (null: unknown, e.g. started as root). */
  invokingUser?: InvokingUser | null;
  /** Overrides for tests. */
  flashOptions?: Partial<FlashRunOptions>;
}

/** Runs the helper until it should exit; resolves with the process exit code. */
export async function runHelper(io: HelperIo, o: HelperOptions): Promise<number> {
  const send = (m: HelperToApp) => io.output.write(encode(m));
  const controller = new AbortController();
  let running: Promise<void> | null = null;
  let exitCode = 0;
  let lastPing = Date.now();
  let finished: () => void = () => undefined;
  const done = new Promise<void>((r) => (finished = r));

  const stop = (code: number, why: string) => {
    exitCode = code;
    if (why) send({ type: 'log', level: code ? 'error' : 'info', message: why });
    controller.abort();
    finished();
  };

  const watchdog = setInterval(() => {
    if (Date.now() - lastPing > (o.heartbeatTimeoutMs ?? HEARTBEAT_TIMEOUT_MS)) stop(3, 'No heartbeat from the application: cancelling and exiting.');
  }, 250);

  const listForPolicy = (): Promise<Drive[]> => listDrives({ extraDevices: o.extraDevices ?? [] });

  const onLine = (line: string) => {
    if (line.length > MAX_LINE) return void send({ type: 'rejected', error: { code: 'MALFORMED_MESSAGE', message: 'Message too large.' } });
    let raw: unknown;
    try {
      raw = JSON.parse(line);
    } catch {
      return void send({ type: 'rejected', error: { code: 'MALFORMED_MESSAGE', message: 'Message is not JSON.' } });
    }
    // Token first, before looking at anything else: an unauthenticated peer learns nothing.
    const token = (raw as { token?: unknown } | null)?.token;
    if (typeof token !== 'string' || !tokensEqual(token, o.token)) {
      send({ type: 'rejected', error: { code: 'BAD_TOKEN', message: 'Wrong or missing token; the helper exits.' } });
      return stop(2, '');
    }
    const parsed = AppToHelper.safeParse(raw);
    if (!parsed.success) {
      return void send({
        type: 'rejected',
        error: { code: 'MALFORMED_MESSAGE', message: `Invalid message: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}` },
      });
    }
    const msg = parsed.data;
    lastPing = Date.now();
    switch (msg.type) {
      case 'ping':
        return void send({ type: 'pong' });
      case 'cancel':
        return void controller.abort();
      case 'shutdown':
        return stop(0, '');
      case 'flash':
        if (running) return void send({ type: 'rejected', error: { code: 'BUSY', message: 'A write is already running.' } });
        // The image and bmap are checked again here, then read through a no-follow open of the checked inode.
        running = pinSources(msg.request, o.invokingUser ?? null)
          .then((pins) =>
            flash(msg.request, {
              listDrives: listForPolicy,
              signal: controller.signal,
              onProgress: (progress) => send({ type: 'progress', progress }),
              log: (level, message) => send({ type: 'log', level, message }),
              ...pins,
              ...o.flashOptions,
            }),
          )
          .then(
            (result) => {
              send({ type: 'result', result });
              stop(0, '');
            },
            (err) => {
              const info = toErrorInfo(err);
              send({ type: info.code === 'CANCELLED' ? 'fatal' : 'rejected', error: info });
              stop(1, '');
            },
          );
        return;
    }
  };

  const ended = readLines(io.input, onLine).then(() => {
    if (!controller.signal.aborted) stop(running ? 4 : 0, running ? 'The application closed the channel: cancelling and exiting.' : '');
  });
  send({ type: 'ready', protocol: HELPER_PROTOCOL_VERSION, pid: process.pid, uid: process.getuid?.() ?? -1 });
  await Promise.race([done, ended]);
  await running; // a cancelled write still zeroes nothing new and closes the device: wait for it
  clearInterval(watchdog);
  return exitCode;
}

export function assertRoot(): void {
  if (process.platform !== 'win32' && process.getuid?.() !== 0) {
    throw new NexusError(
      'HELPER_NOT_PRIVILEGED',
      'The flash helper is not running with administrator rights.',
      'Start it through the app (it asks for your password) or run the CLI with sudo.',
    );
  }
}
