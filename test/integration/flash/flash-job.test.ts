// A write through the runner (runFlashJob): the same stage/progress/log events as a build, the FlashResult as
// before, and a cancelled or failing write marking its own stage — on real loop devices with the real writer.
import { execa } from 'execa';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { flash, openTarget, type TargetDevice } from '../../../src-main/engine/flash';
import { runFlashJob, type FlashWriter } from '../../../src-main/engine/flash/flash-job';
import { listDrives } from '../../../src-main/engine/drives';
import type { Drive } from '../../../src-shared/drives';
import type { FlashProgress } from '../../../src-shared/flash';
import type { PipelineEvent, ProgressEvent } from '../../../src-shared/progress';
import { LoopSet, patternBytes } from '../../support/loop-devices';

const MiB = 1 << 20;
const loops = new LoopSet();
let imagePath: string;
let image: Buffer;
const list = () => listDrives({ extraDevices: loops.devices(), drivelist: async () => [] });

async function readDevice(dev: string, len: number): Promise<Buffer> {
  const r = await execa('dd', [`if=${dev}`, 'bs=1M', `count=${Math.ceil(len / MiB)}`, 'iflag=direct', 'status=none'], { encoding: 'buffer' });
  return Buffer.from(r.stdout).subarray(0, len);
}

/** The in-process writer (what `nexus flash` runs as root), on the test's loop devices; `onWrite` sees each write. */
function writer(onWrite: (n: number) => void = () => {}, delayMs = 0): FlashWriter {
  let n = 0;
  const slowTarget = async (d: Drive): Promise<TargetDevice> => {
    const real = await openTarget(d);
    return {
      ...real,
      device: real.device,
      write: async (b, off, len, pos) => {
        onWrite(++n);
        if (delayMs) await new Promise((r) => setTimeout(r, delayMs));
        return real.write(b, off, len, pos);
      },
      read: (b, off, len, pos) => real.read(b, off, len, pos),
      flush: () => real.flush(),
      close: () => real.close(),
    };
  };
  return (request, o) =>
    flash(request, {
      signal: o.signal,
      onProgress: o.onProgress,
      log: o.onLog,
      listDrives: list,
      openTarget: slowTarget,
      chunkSize: MiB,
      progressIntervalMs: 20,
    });
}

const stages = (events: PipelineEvent[]) => {
  const last = new Map<string, string>();
  for (const e of events) if (e.type === 'progress') last.set(e.stage, e.status);
  return Object.fromEntries(last);
};

beforeAll(async () => {
  image = patternBytes(24 * MiB, 5);
  imagePath = join(await loops.workDir(), 'image.img');
  await writeFile(imagePath, image);
});
afterAll(() => loops.detachAll());

describe('a write through the runner', () => {
  it('reports write → verify → finish as stages with bytes, rate and ETA, passes the per-drive progress on, and resolves with the result', async () => {
    const t = await loops.create(32 * MiB);
    const events: PipelineEvent[] = [];
    const detail: FlashProgress[] = [];
    const r = await runFlashJob(
      { source: { kind: 'file', path: imagePath }, targets: [t.device] },
      writer(() => {}, 5),
      {
        onEvent: (e) => events.push(e),
        onProgress: (p) => detail.push(p),
        throttleMs: 0,
      },
    );
    expect(r).toMatchObject({ ok: true, cancelled: false, targets: [{ status: 'done', state: 'image', verified: true }] });
    expect((await readDevice(t.device, image.length)).equals(image)).toBe(true);
    const progress = events.filter((e): e is ProgressEvent => e.type === 'progress');
    expect(progress.filter((e) => e.status === 'pending').map((e) => e.stage)).toEqual(['flash-write', 'flash-verify', 'flash-finish']);
    expect(progress.filter((e) => e.status === 'done').map((e) => e.stage)).toEqual(['flash-write', 'flash-verify', 'flash-finish']);
    const writing = progress.filter((e) => e.stage === 'flash-write' && e.status === 'running' && e.bytesDone);
    expect(writing.length).toBeGreaterThan(2);
    expect(writing.at(-1)).toMatchObject({ bytesTotal: image.length });
    expect(writing.some((e) => e.rate && e.rate > 0 && e.etaSeconds !== null)).toBe(true);
    expect(progress.some((e) => e.stage === 'flash-verify' && e.status === 'running' && e.bytesDone)).toBe(true);
    // The drive-by-drive view the app shows is unchanged: it still arrives, ending with "done".
    expect(detail.map((p) => p.phase)).toContain('writing');
    expect(detail.map((p) => p.phase)).toContain('verifying');
  });

  it('without verification there is no verify stage', async () => {
    const t = await loops.create(32 * MiB);
    const events: PipelineEvent[] = [];
    const r = await runFlashJob({ source: { kind: 'file', path: imagePath }, targets: [t.device], verify: false }, writer(), {
      onEvent: (e) => events.push(e),
    });
    expect(r.ok).toBe(true);
    expect(stages(events)).toEqual({ 'flash-write': 'done', 'flash-finish': 'done' });
  });

  it('cancelled mid-write: the result says the drive is blank; the write stage is cancelled, the rest skipped', async () => {
    const t = await loops.create(32 * MiB);
    const ac = new AbortController();
    const events: PipelineEvent[] = [];
    const r = await runFlashJob(
      { source: { kind: 'file', path: imagePath }, targets: [t.device] },
      writer((n) => n === 6 && ac.abort(), 20),
      { signal: ac.signal, onEvent: (e) => events.push(e) },
    );
    expect(r).toMatchObject({ ok: false, cancelled: true, targets: [{ status: 'cancelled', state: 'blank-head' }] });
    expect(stages(events)).toEqual({ 'flash-write': 'cancelled', 'flash-verify': 'skipped', 'flash-finish': 'skipped' });
    expect(events.some((e) => e.type === 'log' && e.stage === 'flash-write' && e.message === 'Cancelled by the user.')).toBe(true);
    expect((await readDevice(t.device, MiB)).every((b) => b === 0)).toBe(true);
  });

  it('a refused target fails the write stage with the policy error (a throw, as before)', async () => {
    const small = await loops.create(8 * MiB);
    const events: PipelineEvent[] = [];
    await expect(
      runFlashJob({ source: { kind: 'file', path: imagePath }, targets: [small.device] }, writer(), { onEvent: (e) => events.push(e) }),
    ).rejects.toMatchObject({ code: expect.stringMatching(/TOO_SMALL|TARGET_REFUSED/) });
    expect(stages(events)).toEqual({ 'flash-write': 'failed', 'flash-verify': 'skipped', 'flash-finish': 'skipped' });
  });
});
