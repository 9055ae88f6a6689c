// Several targets, failure isolation, and the failure modes a real card shows: write-protected,
// too small, shrinking mid-write (card pulled / fake capacity), and cancel.
import { execa } from 'execa';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { flash, openSource, openTarget, writeImage, type TargetDevice } from '../../../src-main/engine/flash';
import { listDrives } from '../../../src-main/engine/drives';
import type { Drive } from '../../../src-shared/drives';
import { LoopSet, patternBytes } from '../../support/loop-devices';

const MiB = 1 << 20;
const loops = new LoopSet();
let imagePath: string;
let image: Buffer;
const list = () => listDrives({ extraDevices: loops.devices(), drivelist: async () => [] });
const driveOf = async (dev: string) => (await list()).find((d) => d.device === dev)!;

async function readDevice(dev: string, len: number): Promise<Buffer> {
  const r = await execa('dd', [`if=${dev}`, 'bs=1M', `count=${Math.ceil(len / MiB)}`, 'iflag=direct', 'status=none'], { encoding: 'buffer' });
  return Buffer.from(r.stdout).subarray(0, len);
}

/** Wraps the real O_DIRECT device: calls `onWrite(n)` before the n-th write, optional delay (slow media). */
function instrumented(onWrite: (n: number) => Promise<void> | void, delayMs = 0) {
  let n = 0;
  return async (d: Drive): Promise<TargetDevice> => {
    const real = await openTarget(d);
    return {
      device: real.device,
      write: async (b, off, len, pos) => {
        await onWrite(++n);
        if (delayMs) await new Promise((r) => setTimeout(r, delayMs));
        return real.write(b, off, len, pos);
      },
      read: (b, off, len, pos) => real.read(b, off, len, pos),
      flush: () => real.flush(),
      close: () => real.close(),
    };
  };
}

beforeAll(async () => {
  image = patternBytes(24 * MiB, 3);
  imagePath = join(await loops.workDir(), 'image.img');
  await writeFile(imagePath, image);
});
afterAll(() => loops.detachAll());

describe('flash targets', () => {
  it('writes three targets at once from one source read', async () => {
    const t = await Promise.all([loops.create(32 * MiB), loops.create(32 * MiB), loops.create(40 * MiB)]);
    const r = await flash({ source: { kind: 'file', path: imagePath }, targets: t.map((x) => x.device) }, { listDrives: list });
    expect(r.ok).toBe(true);
    expect(r.targets.map((x) => x.status)).toEqual(['done', 'done', 'done']);
    for (const x of t) expect((await readDevice(x.device, image.length)).equals(image)).toBe(true);
  });

  it('isolates a failing target: a write-protected drive fails, the others finish', async () => {
    const good = await loops.create(32 * MiB);
    const ro = await loops.create(32 * MiB, { readOnly: true });
    const good2 = await loops.create(32 * MiB);
    const source = await openSource({ kind: 'file', path: imagePath });
    // writeImage directly: this bypasses the policy, so the kernel's EPERM on write is what is tested.
    const r = await writeImage({
      source,
      bmap: null,
      targets: [await driveOf(good.device), await driveOf(ro.device), await driveOf(good2.device)],
      verify: true,
      eject: false,
    });
    expect(r.targets.map((x) => x.status)).toEqual(['done', 'failed', 'done']);
    expect(r.targets[1]!.error?.code).toBe('WRITE_PROTECTED');
    expect(r.targets[1]!.error?.message).toMatch(/write-protected/);
    expect(r.targets[1]!.state).toBe('untouched');
    for (const x of [good, good2]) expect((await readDevice(x.device, image.length)).equals(image)).toBe(true);
  });

  it('refuses a read-only drive up front with a write-protected message', async () => {
    const ro = await loops.create(32 * MiB, { readOnly: true });
    await expect(flash({ source: { kind: 'file', path: imagePath }, targets: [ro.device] }, { listDrives: list })).rejects.toMatchObject({
      code: 'WRITE_PROTECTED',
      message: expect.stringMatching(/write-protected/),
    });
  });

  it('refuses a 16 MiB drive for a 24 MiB image before writing a byte', async () => {
    const fill = patternBytes(16 * MiB, 99);
    const small = await loops.create(16 * MiB, { fill });
    await expect(flash({ source: { kind: 'file', path: imagePath }, targets: [small.device] }, { listDrives: list })).rejects.toMatchObject({
      code: 'DRIVE_TOO_SMALL',
    });
    expect((await readDevice(small.device, 16 * MiB)).equals(fill)).toBe(true);
  });

  it('fails cleanly (no hang) when the drive shrinks during the write', async () => {
    const t = await loops.create(32 * MiB);
    const source = await openSource({ kind: 'file', path: imagePath });
    const shrinkAt = 4; // after two image chunks are on the drive
    const r = await writeImage({
      source,
      bmap: null,
      targets: [await driveOf(t.device)],
      verify: true,
      eject: false,
      openTarget: instrumented(async (n) => {
        if (n === shrinkAt) {
          await execa('truncate', ['-s', `${8 * MiB}`, t.backing]);
          await execa('losetup', ['-c', t.device]);
        }
      }),
    });
    expect(r.ok).toBe(false);
    expect(r.targets[0]).toMatchObject({ status: 'failed' });
    expect(r.targets[0]!.error?.code).toBe('TARGET_TOO_SMALL');
  });

  it('cancels mid-write: stops within the in-flight window and leaves the documented blank-head state', async () => {
    const t = await loops.create(32 * MiB);
    await execa('dd', [`if=${imagePath}`, `of=${t.device}`, 'bs=1M', 'count=1', 'oflag=direct', 'status=none']); // an old "partition table"
    const ac = new AbortController();
    let writesAfterAbort = 0;
    const source = await openSource({ kind: 'file', path: imagePath });
    const r = await writeImage({
      source,
      bmap: null,
      targets: [await driveOf(t.device)],
      verify: true,
      eject: false,
      signal: ac.signal,
      chunkSize: MiB,
      writeDepth: 2,
      openTarget: instrumented((n) => {
        if (ac.signal.aborted) writesAfterAbort++;
        if (n === 6) ac.abort();
      }, 20),
    });
    expect(r.cancelled).toBe(true);
    expect(r.targets[0]).toMatchObject({ status: 'cancelled', state: 'blank-head' });
    expect(r.targets[0]!.error?.code).toBe('CANCELLED');
    expect(writesAfterAbort).toBeLessThanOrEqual(2); // at most the write window already queued
    expect((await readDevice(t.device, MiB)).every((b) => b === 0)).toBe(true);
  });
});
