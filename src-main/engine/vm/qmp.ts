/**
 * A minimal QMP client (QEMU Machine Protocol: JSON lines over the Unix socket of `-qmp unix:PATH`): the greeting,
 * `qmp_capabilities`, then one command at a time. Used to read a running VM's screen (`screendump`), which is how a
 * test sees what a graphical session shows without a window.
 */
import { z } from 'zod';
import { createConnection, type Socket } from 'node:net';
import { NexusError } from '../../../src-shared/errors';

const QmpReply = z.object({
  return: z.unknown().optional(),
  error: z.object({ class: z.string(), desc: z.string() }).optional(),
  QMP: z.unknown().optional(),
  event: z.string().optional(),
});
type QmpReply = z.infer<typeof QmpReply>;

/** Sends `commands` in order on a fresh connection and returns each command's `return` value. */
export async function qmpCommands(
  socketPath: string,
  commands: Array<{ execute: string; arguments?: Record<string, unknown> }>,
  timeoutMs = 60_000,
): Promise<unknown[]> {
  const sock: Socket = createConnection(socketPath);
  const replies: QmpReply[] = [];
  let waiting: (() => void) | null = null;
  let buffered = '';
  let failure: Error | null = null;
  sock.setEncoding('utf8');
  sock.on('data', (chunk: string) => {
    buffered += chunk;
    let nl: number;
    while ((nl = buffered.indexOf('\n')) >= 0) {
      const line = buffered.slice(0, nl).trim();
      buffered = buffered.slice(nl + 1);
      if (!line) continue;
      const parsed = QmpReply.safeParse(JSON.parse(line));
      if (!parsed.success) {
        failure ??= new Error(`not a QMP message: ${line.slice(0, 80)}`);
        break;
      }
      const msg = parsed.data;
      if (msg.event) continue; // asynchronous events are not replies
      replies.push(msg);
    }
    waiting?.();
  });
  sock.on('error', (err) => {
    failure = err;
    waiting?.();
  });
  sock.on('close', () => {
    failure ??= new Error('QMP connection closed');
    waiting?.();
  });
  const next = async (): Promise<QmpReply> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const reply = replies.shift();
      if (reply) return reply;
      if (failure) throw new NexusError('QMP_FAILED', `QEMU's control socket ${socketPath}: ${failure.message}.`, 'Is the VM still running?');
      if (Date.now() > deadline)
        throw new NexusError('QMP_TIMEOUT', `QEMU did not answer on ${socketPath} within ${timeoutMs / 1000} s.`, 'The VM may be overloaded; retry.');
      await new Promise<void>((resolve) => {
        waiting = resolve;
        setTimeout(resolve, 500);
      });
      waiting = null;
    }
  };
  try {
    await next(); // the greeting
    const out: unknown[] = [];
    for (const c of [{ execute: 'qmp_capabilities' }, ...commands]) {
      sock.write(JSON.stringify(c) + '\n');
      const r = await next();
      if (r.error) throw new NexusError('QMP_FAILED', `QEMU refused ${c.execute}: ${r.error.desc}.`, 'Check the VM has the device the command needs.');
      if (c.execute !== 'qmp_capabilities') out.push(r.return);
    }
    return out;
  } finally {
    sock.destroy();
  }
}

/** The VM's screen as a binary PPM file (QEMU writes it; the path is on the host). */
export async function screendump(socketPath: string, file: string): Promise<void> {
  await qmpCommands(socketPath, [{ execute: 'screendump', arguments: { filename: file } }]);
}

export interface Ppm {
  width: number;
  height: number;
  /** RGB triplets, row by row. */
  pixels: Buffer;
}

/** Parses a binary PPM (P6, maxval 255), the format of QEMU's screendump. */
export function parsePpm(bytes: Buffer): Ppm {
  const header = /^P6\s+(?:#[^\n]*\n\s*)*(\d+)\s+(\d+)\s+(\d+)\s/.exec(bytes.subarray(0, 100).toString('latin1'));
  if (!header || header[3] !== '255')
    throw new NexusError('PPM_INVALID', 'Not a binary PPM with 8-bit samples (P6, maxval 255).', 'Take the screenshot with QEMU screendump.');
  const width = Number(header[1]);
  const height = Number(header[2]);
  const pixels = bytes.subarray(header[0].length);
  if (pixels.length < width * height * 3)
    throw new NexusError('PPM_INVALID', `The PPM is cut short (${pixels.length} of ${width * height * 3} bytes).`, 'Take the screenshot again.');
  return { width, height, pixels: pixels.subarray(0, width * height * 3) };
}

/** How often each colour ("#rrggbb") occurs, most frequent first. */
export function colourShares(img: Ppm): Array<{ colour: string; share: number }> {
  const counts = new Map<number, number>();
  for (let i = 0; i < img.pixels.length; i += 3) {
    const c = img.pixels.readUIntBE(i, 3);
    counts.set(c, (counts.get(c) ?? 0) + 1);
  }
  const total = img.width * img.height;
  return [...counts].sort((a, b) => b[1] - a[1]).map(([c, n]) => ({ colour: `#${c.toString(16).padStart(6, '0')}`, share: n / total }));
}
