/**
 * Boot test: start the image in QEMU, keep the serial console in a log file next to the image, and pass when
 * the booted system's service manager prints the boot marker. Fails on the failure marker, on QEMU exiting
 * first, or at the timeout; QEMU is always stopped.
 */
import { execa } from 'execa';
import { copyFile, mkdtemp, rm } from 'node:fs/promises';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createWriteStream, existsSync, type WriteStream } from 'node:fs';
import { CancelledError, NexusError } from '../../../src-shared/errors';
import type { Arch } from '../../../src-shared/arch';
import { requireTool } from '../host-tools';
import { BOOT_FAILED_MARKER, BOOT_MARKER } from '../image/config/scripts';
import { ConsoleSession, type ConsoleCommandResult, type ConsoleSessionPlan } from './console-session';
import { qemuSetup, type QemuOptions } from './qemu';
import { composeOutputs } from '../../../src-shared/plan';

export interface BootTestOptions {
  arch: Arch;
  timeoutSeconds?: number;
  /** Where the console log goes (default: IMAGE.console.log). */
  logPath?: string;
  signal?: AbortSignal;
  onLine?: (line: string) => void;
  /** Every console chunk as it arrives (raw text, escape sequences included): the app's live console. */
  onOutput?: (text: string) => void;
  /** The boot marker's line, when it appears. */
  onMarker?: (line: string) => void;
  /** Called once QEMU runs, with a way to type on its serial console (stdin is then a pipe). */
  onStart?: (console: { write(text: string): void }) => void;
  /**
   * "Try in a VM": after the boot marker the VM keeps running (console live, input accepted) until the signal
   * aborts, QEMU exits or `timeoutSeconds` pass; the result is then the boot's (passed), not "cancelled".
   */
  keepRunning?: boolean;
  /** After the marker, log in on the serial console and run these commands (what a user does next). */
  session?: ConsoleSessionPlan;
  /**
   * Boot the image file writably (no QEMU snapshot): the guest's writes stay in the file, so a second boot sees
   * them. Only for a copy of an image made for the purpose (tests across reboots).
   */
  writable?: boolean;
  /** Host ports forwarded to the guest over QEMU's user network (qemu.ts); without them the VM has no network. */
  forwardPorts?: QemuOptions['forwardPorts'];
  /** The display adapter (qemu.ts: 'none' or 'virtio-gpu'). */
  display?: QemuOptions['display'];
  /** A QMP socket path (qmp.ts reads the screen through it while the VM runs). */
  qmpSocket?: string;
  /** Guest RAM in MiB (default 512). */
  memoryMiB?: number;
}

export interface BootTestResult {
  passed: boolean;
  seconds: number;
  log: string;
  /** Why it failed: "timeout", "qemu exited", or the failure marker line. */
  reason?: string;
  markerLine?: string;
  /** The commands run after the marker, with their output and exit status. */
  commands?: ConsoleCommandResult[];
}

/** IMAGE's console log, named as a build names it (src-shared/plan.ts). */
export function consoleLogPath(image: string): string {
  return composeOutputs(image).consoleLog;
}

export async function bootTest(image: string, o: BootTestOptions): Promise<BootTestResult> {
  if (!existsSync(image)) throw new NexusError('IMAGE_NOT_FOUND', `${image} does not exist.`, 'Build it first with nexus build, or check the path.');
  const log = o.logPath ?? consoleLogPath(image);
  const scratch = await mkdtemp(join(tmpdir(), 'nexus-vm-'));
  const vars = join(scratch, 'vars.fd');
  const setup = qemuSetup(o.arch, image, vars, {
    writable: o.writable ?? false,
    ...(o.forwardPorts ? { forwardPorts: o.forwardPorts } : {}),
    ...(o.display ? { display: o.display } : {}),
    ...(o.qmpSocket ? { qmpSocket: o.qmpSocket } : {}),
    ...(o.memoryMiB ? { memoryMiB: o.memoryMiB } : {}),
  });
  // A stream keeps the chunks in order (unawaited FileHandle writes may land out of order and scramble the log).
  let opened: WriteStream | null = null;
  let bin: string;
  try {
    if (setup.varsTemplate) await copyFile(setup.varsTemplate, vars);
    bin = await requireTool(setup.binary, `booting ${o.arch} images`);
    opened = createWriteStream(log);
    await once(opened, 'open');
    // Stopped while QEMU was being prepared: it is never started, and nothing is left behind.
    if (o.signal?.aborted) throw new CancelledError();
  } catch (err) {
    opened?.destroy();
    await rm(scratch, { recursive: true, force: true });
    throw err;
  }
  const logFile = opened;
  const started = Date.now();
  const interactive = !!(o.session || o.onStart);
  // QEMU's snapshot=on overlay (vl.XXXXXX) is made in TMPDIR and unlinked only after it is opened: inside the
  // scratch folder, a QEMU killed in that window leaves nothing behind either.
  const child = execa(bin, setup.args, {
    reject: false,
    stdin: interactive ? 'pipe' : 'ignore',
    buffer: false,
    all: true,
    killSignal: 'SIGKILL',
    env: { TMPDIR: scratch },
  });
  const type = (text: string) => void (child.stdin?.writable ? child.stdin.write(text) : undefined);
  child.stdin?.on('error', () => undefined); // QEMU gone: typing has nowhere to go
  const session = o.session ? new ConsoleSession(o.session, type) : null;
  o.onStart?.({ write: type });
  let markerSeen: string | null = null;
  let pending = '';
  type Outcome = { passed: boolean; reason?: string; markerLine?: string };
  const state: { outcome: Outcome | null } = { outcome: null };
  let cleanupTimer = () => {};
  const done = new Promise<void>((resolve) => {
    const finish = (r: Outcome) => {
      state.outcome ??= r;
      resolve();
    };
    const timer = setTimeout(
      () =>
        finish(
          o.keepRunning && markerSeen ? { passed: true, markerLine: markerSeen } : { passed: false, reason: `timeout after ${o.timeoutSeconds ?? 180} s` },
        ),
      (o.timeoutSeconds ?? 180) * 1000,
    );
    // Stopping a VM that already booted is the normal end of "Try in a VM", not a cancellation.
    const onAbort = () => finish(o.keepRunning && markerSeen ? { passed: true, markerLine: markerSeen } : { passed: false, reason: 'cancelled' });
    o.signal?.addEventListener('abort', onAbort, { once: true });
    if (o.signal?.aborted) onAbort();
    const settleSession = () => {
      if (!session || !markerSeen) return;
      session.checkTimeout();
      if (session.error) finish({ passed: false, reason: `after the boot marker: ${session.error}`, markerLine: markerSeen });
      else if (session.done) finish({ passed: true, markerLine: markerSeen });
    };
    const poll = setInterval(settleSession, 1000);
    child.all!.on('data', (chunk: Buffer) => {
      logFile.write(chunk);
      const text = chunk.toString('utf8');
      o.onOutput?.(text);
      session?.feed(text);
      pending += text;
      const lines = pending.split(/\r?\n/);
      pending = lines.pop() ?? '';
      for (const line of lines) {
        o.onLine?.(line);
        if (line.includes(BOOT_MARKER) && !markerSeen) {
          markerSeen = line.trim();
          session?.markBooted();
          o.onMarker?.(markerSeen);
          if (!session && !o.keepRunning) finish({ passed: true, markerLine: markerSeen });
        } else if (line.includes(BOOT_FAILED_MARKER)) finish({ passed: false, reason: line.trim() });
      }
      settleSession();
    });
    void child.then(() =>
      finish(markerSeen && o.keepRunning ? { passed: true, markerLine: markerSeen } : { passed: false, reason: 'qemu exited before the boot marker' }),
    );
    cleanupTimer = () => {
      clearTimeout(timer);
      clearInterval(poll);
      o.signal?.removeEventListener('abort', onAbort);
    };
  });
  try {
    await done;
  } finally {
    cleanupTimer();
    child.kill('SIGKILL');
    await child;
    await new Promise<void>((resolve, reject) => logFile.end((err?: Error | null) => (err ? reject(err) : resolve())));
    await rm(scratch, { recursive: true, force: true });
  }
  const r = state.outcome!;
  if (r.reason === 'cancelled') throw new CancelledError();
  return {
    passed: r.passed,
    seconds: (Date.now() - started) / 1000,
    log,
    ...(r.reason ? { reason: r.reason } : {}),
    ...(r.markerLine ? { markerLine: r.markerLine } : {}),
    ...(session ? { commands: session.results } : {}),
  };
}
