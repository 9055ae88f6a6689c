// The writer against in-memory fake drives: ordering (first MiB last), slow media progress,
// per-target failure isolation, cancel state, exact mismatch offsets. No root, no devices.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AlignedPool, HEAD_BYTES, detectFormat, openSource, writeImage, type TargetDevice } from '../../../src-main/engine/flash';
import { Meter } from '../../../src-main/engine/flash/meter';
import type { Drive } from '../../../src-shared/drives';
import type { FlashProgress } from '../../../src-shared/flash';

const MiB = 1 << 20;
let dir: string;
let imagePath: string;
let image: Buffer;

function drive(device: string, size = 16 * MiB): Drive {
  return {
    device,
    raw: device,
    description: 'fake',
    size,
    blockSize: 512,
    logicalBlockSize: 512,
    bus: 'FAKE',
    removable: true,
    usb: false,
    card: false,
    system: false,
    readOnly: false,
    virtual: true,
    mountpoints: [],
    source: 'extra',
  };
}

interface Fake extends TargetDevice {
  mem: Buffer;
  log: Array<{ op: 'write' | 'read' | 'flush'; pos: number; len: number }>;
}
function fake(d: Drive, o: { delayMs?: number; failWriteAt?: number; errCode?: string; corruptReadAt?: number; onWrite?: (n: number) => void } = {}): Fake {
  const mem = Buffer.alloc(d.size!);
  const log: Fake['log'] = [];
  let writes = 0;
  const sleep = () => (o.delayMs ? new Promise((r) => setTimeout(r, o.delayMs)) : Promise.resolve());
  return {
    device: d.device,
    mem,
    log,
    async write(b, off, len, pos) {
      writes++;
      o.onWrite?.(writes);
      await sleep();
      if (o.failWriteAt !== undefined && writes >= o.failWriteAt) throw Object.assign(new Error('fake failure'), { code: o.errCode ?? 'EIO' });
      if ((b.byteOffset + off) % 4096 !== 0 || pos % 512 !== 0 || len % 512 !== 0) throw Object.assign(new Error('unaligned'), { code: 'EINVAL' });
      b.copy(mem, pos, off, off + len);
      log.push({ op: 'write', pos, len });
    },
    async read(b, off, len, pos) {
      await sleep();
      mem.copy(b, off, pos, pos + len);
      if (o.corruptReadAt !== undefined && o.corruptReadAt >= pos && o.corruptReadAt < pos + len) b[off + o.corruptReadAt - pos]! ^= 1;
      log.push({ op: 'read', pos, len });
      return len;
    },
    async flush() {
      log.push({ op: 'flush', pos: 0, len: 0 });
    },
    async close() {},
  };
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'nexus-writer-'));
  image = Buffer.alloc(9 * MiB + 100);
  for (let i = 0; i < image.length; i += 4) image.writeUInt32LE((i * 2654435761) >>> 0, i);
  imagePath = join(dir, 'image.img');
  await writeFile(imagePath, image);
});
afterAll(() => rm(dir, { recursive: true, force: true }));

const run = async (targets: Drive[], fakes: Map<string, Fake>, extra: Partial<Parameters<typeof writeImage>[0]> = {}) =>
  writeImage({
    source: await openSource({ kind: 'file', path: imagePath }),
    bmap: null,
    targets,
    verify: true,
    eject: false,
    chunkSize: MiB,
    openTarget: async (d) => fakes.get(d.device)!,
    ...extra,
  });

describe('writeImage', () => {
  it('zeroes head and tail first, writes the first MiB last, after verifying the rest', async () => {
    const d = drive('/dev/fake0');
    const f = fake(d);
    const r = await run([d], new Map([[d.device, f]]));
    expect(r.targets[0]).toMatchObject({ status: 'done', state: 'image', verified: true, bytesWritten: image.length + (512 - (image.length % 512)) });
    expect(f.mem.subarray(0, image.length).equals(image)).toBe(true);
    const writes = f.log.filter((e) => e.op === 'write');
    expect(writes[0]).toEqual({ op: 'write', pos: 0, len: HEAD_BYTES }); // blanking the old partition table
    expect(writes[1]).toEqual({ op: 'write', pos: 15 * MiB, len: HEAD_BYTES }); // and the GPT backup at the end
    const headWrite = f.log.findLastIndex((e) => e.op === 'write' && e.pos === 0);
    const lastOtherRead = f.log.findLastIndex((e) => e.op === 'read' && e.pos > 0);
    expect(headWrite).toBeGreaterThan(lastOtherRead); // the rest was verified before the head went on
    expect(f.log.slice(headWrite + 1).some((e) => e.op === 'read' && e.pos === 0)).toBe(true); // and the head is verified too
  });

  it('reports progress with speed, average and ETA on slow media', async () => {
    const d = drive('/dev/slow');
    const progress: FlashProgress[] = [];
    const r = await run([d], new Map([[d.device, fake(d, { delayMs: 15 })]]), { progressIntervalMs: 10, onProgress: (p) => progress.push(p) });
    expect(r.ok).toBe(true);
    const mid = progress.filter((p) => p.phase === 'writing' && p.targets[0]!.bytesDone > 0);
    expect(mid.length).toBeGreaterThan(1);
    expect(mid.some((p) => p.targets[0]!.speed > 0 && p.targets[0]!.avgSpeed > 0 && p.targets[0]!.etaSeconds !== null)).toBe(true);
    expect(mid.every((p) => p.targets[0]!.bytesTotal === image.length)).toBe(true);
    expect(progress.at(-1)!.phase).toBe('done');
  });

  it('isolates a failing target', async () => {
    const [a, b, c] = [drive('/dev/a'), drive('/dev/b'), drive('/dev/c')];
    const fakes = new Map([
      [a.device, fake(a)],
      [b.device, fake(b, { failWriteAt: 5, errCode: 'EIO' })],
      [c.device, fake(c)],
    ]);
    const r = await run([a, b, c], fakes);
    expect(r.targets.map((t) => t.status)).toEqual(['done', 'failed', 'done']);
    expect(r.targets[1]).toMatchObject({ state: 'blank-head', error: { code: 'IO_ERROR' } });
    expect(
      fakes
        .get('/dev/b')!
        .mem.subarray(0, MiB)
        .every((x) => x === 0),
    ).toBe(true);
    expect(fakes.get('/dev/c')!.mem.subarray(0, image.length).equals(image)).toBe(true);
  });

  it('maps EPERM to a write-protected error', async () => {
    const d = drive('/dev/locked');
    const r = await run([d], new Map([[d.device, fake(d, { failWriteAt: 1, errCode: 'EPERM' })]]));
    expect(r.targets[0]).toMatchObject({ status: 'failed', state: 'untouched', error: { code: 'WRITE_PROTECTED' } });
  });

  it('finds the exact first mismatching byte', async () => {
    const d = drive('/dev/liar');
    const at = 6 * MiB + 4321;
    const r = await run([d], new Map([[d.device, fake(d, { corruptReadAt: at })]]));
    expect(r.targets[0]).toMatchObject({ status: 'failed', state: 'blank-head', mismatchOffset: at, error: { code: 'VERIFY_MISMATCH' } });
  });

  it('cancel: stops, reports cancelled and blank-head, never writes the first MiB', async () => {
    const d = drive('/dev/cancel');
    const ac = new AbortController();
    const f = fake(d, { delayMs: 5, onWrite: (n) => n === 4 && ac.abort() });
    const r = await run([d], new Map([[d.device, f]]), { signal: ac.signal });
    expect(r.cancelled).toBe(true);
    expect(r.targets[0]).toMatchObject({ status: 'cancelled', state: 'blank-head' });
    expect(f.mem.subarray(0, MiB).every((x) => x === 0)).toBe(true);
    expect(f.log.filter((e) => e.op === 'write').length).toBeLessThan(8);
  });

  it('without verification still writes the head last', async () => {
    const d = drive('/dev/nv');
    const f = fake(d);
    const r = await run([d], new Map([[d.device, f]]), { verify: false });
    expect(r.targets[0]).toMatchObject({ status: 'done', verified: false });
    expect(f.log.filter((e) => e.op === 'read')).toHaveLength(0);
    expect(f.log.filter((e) => e.op === 'write').at(-1)!.pos).toBe(0);
  });
});

describe('building blocks', () => {
  it('detects formats by magic', () => {
    const b = (...x: number[]) => Uint8Array.from(x);
    expect(detectFormat(b(0xfd, 0x37, 0x7a, 0x58, 0x5a, 0))).toBe('xz');
    expect(detectFormat(b(0x1f, 0x8b, 8))).toBe('gz');
    expect(detectFormat(b(0x28, 0xb5, 0x2f, 0xfd))).toBe('zst');
    expect(detectFormat(b(0x42, 0x5a, 0x68, 0x39))).toBe('bz2');
    expect(detectFormat(b(0x50, 0x4b, 3, 4))).toBe('zip');
    expect(detectFormat(b(0xeb, 0x63, 0x90))).toBe('raw');
    expect(detectFormat(b())).toBe('raw');
  });

  it('aligned pool: 4096-multiple slots, acquire waits for release', async () => {
    const p = new AlignedPool(MiB, 2);
    const a = await p.acquire();
    const b = await p.acquire();
    expect([a.byteOffset % 4096, b.byteOffset % 4096, a.length]).toEqual([0, 0, MiB]);
    let got: Buffer | null = null;
    const c = p.acquire().then((x) => (got = x));
    await Promise.resolve();
    expect(got).toBeNull();
    p.release(a);
    expect(await c).toBe(a);
    expect(() => new AlignedPool(1000, 1)).toThrow();
  });

  it('meter: speed over a window, average since start, ETA', () => {
    let t = 0;
    const m = new Meter(() => t);
    m.reset(1000);
    t = 1000;
    m.add(100);
    let s = m.snapshot();
    expect(s).toMatchObject({ bytesDone: 100, bytesTotal: 1000, avgSpeed: 100 });
    expect(s.etaSeconds).toBeCloseTo(9);
    t = 4000;
    m.add(600); // faster lately
    s = m.snapshot();
    expect(s.speed).toBeGreaterThan(s.avgSpeed);
    expect(s.etaSeconds).toBeLessThan(3);
  });
});
