// bmap sparse writes (only mapped ranges touched, checksums enforced) and the proof that
// verification reads the drive, not the page cache.
import { execa } from 'execa';
import { open, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { flash } from '../../../src-main/engine/flash';
import { listDrives } from '../../../src-main/engine/drives';
import { LoopSet, patternBytes } from '../../support/loop-devices';
import { nexus } from '../../support/run-cli';

const MiB = 1 << 20;
const loops = new LoopSet();
const list = () => listDrives({ extraDevices: loops.devices(), drivelist: async () => [] });
let dir: string;

async function readDevice(dev: string, len: number, direct = true): Promise<Buffer> {
  const r = await execa('dd', [`if=${dev}`, 'bs=1M', `count=${Math.ceil(len / MiB)}`, ...(direct ? ['iflag=direct'] : []), 'status=none'], {
    encoding: 'buffer',
  });
  return Buffer.from(r.stdout).subarray(0, len);
}

beforeAll(async () => {
  dir = await loops.workDir();
});
afterAll(() => loops.detachAll());

describe('bmap', () => {
  let img: string;
  let bmap: string;
  let data: Buffer;
  beforeAll(async () => {
    // 32 MiB, data in 4 MiB blocks every 8 MiB (50 % mapped), holes are real file holes.
    img = join(dir, 'sparse.img');
    const fh = await open(img, 'w');
    data = Buffer.alloc(32 * MiB);
    for (let off = 0; off < 32 * MiB; off += 8 * MiB) {
      const chunk = patternBytes(4 * MiB, off + 1);
      chunk.copy(data, off);
      await fh.write(chunk, 0, chunk.length, off);
    }
    await fh.truncate(32 * MiB);
    await fh.close();
    bmap = join(dir, 'sparse.bmap');
    await execa('bmaptool', ['create', '-o', bmap, img]);
  });

  it('writes only the mapped ranges of a bmaptool bmap and verifies them', async () => {
    const t = await loops.create(40 * MiB, { fill: Buffer.alloc(40 * MiB, 0xee) });
    const r = await flash({ source: { kind: 'file', path: img }, bmap, targets: [t.device] }, { listDrives: list });
    expect(r.targets[0]).toMatchObject({ status: 'done', verified: true, bytesWritten: 16 * MiB });
    const dev = await readDevice(t.device, 32 * MiB);
    for (let off = 0; off < 32 * MiB; off += 8 * MiB) {
      expect(dev.subarray(off, off + 4 * MiB).equals(data.subarray(off, off + 4 * MiB))).toBe(true);
      // Holes were skipped: the old content (0xee) is still there, except inside the first MiB
      // which is always written whole (held back, then written last).
      if (off + 4 * MiB >= MiB) expect(dev.subarray(off + 4 * MiB, off + 8 * MiB).every((b) => b === 0xee)).toBe(true);
    }
    // `nexus verify --bmap` agrees (mapped ranges only, fresh O_DIRECT reads).
    const { verifyDrive } = await import('../../../src-main/engine/flash');
    expect(await verifyDrive(img, t.device, { bmap, listDrives: list })).toMatchObject({ ok: true, bytesCompared: 16 * MiB });
  });

  it('the CLI writes with --bmap and exits (the checksum worker does not keep it alive)', async () => {
    const t = await loops.create(40 * MiB);
    const r = await nexus(['flash', img, '--bmap', bmap, '--drive', t.device, '--yes', '--json'], { env: { NEXUS_EXTRA_DRIVES: t.device }, timeout: 50_000 });
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout.trim().split('\n').at(-1)!)).toMatchObject({ ok: true, targets: [{ bytesWritten: 16 * MiB, verified: true }] });
  });

  it('stops when a mapped range does not match the bmap checksum', async () => {
    const damaged = join(dir, 'damaged.img');
    await execa('cp', ['--sparse=always', img, damaged]);
    const fh = await open(damaged, 'r+');
    await fh.write(Buffer.from('X'), 0, 1, 8 * MiB + 12345);
    await fh.close();
    const t = await loops.create(40 * MiB);
    const r = await flash({ source: { kind: 'file', path: damaged }, bmap, targets: [t.device] }, { listDrives: list });
    expect(r.targets[0]).toMatchObject({ status: 'failed', state: 'blank-head' });
    expect(r.targets[0]!.error?.code).toBe('BMAP_CHECKSUM_MISMATCH');
  });

  it('refuses a bmap that belongs to another image size', async () => {
    const other = join(dir, 'other.img');
    await writeFile(other, patternBytes(3 * MiB));
    const t = await loops.create(40 * MiB);
    await expect(flash({ source: { kind: 'file', path: other }, bmap, targets: [t.device] }, { listDrives: list })).rejects.toMatchObject({
      code: 'BMAP_MISMATCH',
    });
  });
});

describe('verification bypasses the page cache', () => {
  it('fails when the data under the open loop device changed after the write, although a cached read still sees the old data', async () => {
    const image = patternBytes(8 * MiB, 42);
    const path = join(dir, 'cache.img');
    await writeFile(path, image);
    const t = await loops.create(16 * MiB);
    const changedAt = 5 * MiB + 777;

    // Between the write and the read-back, warm the device's page cache with a buffered read, then
    // change the backing file behind the loop device (the device stays open and attached).
    const { openTarget } = await import('../../../src-main/engine/flash');
    let writes = 0;
    let tampered: Promise<void> | undefined;
    const r = await flash(
      { source: { kind: 'file', path }, targets: [t.device] },
      {
        listDrives: list,
        openTarget: async (d) => {
          const real = await openTarget(d);
          return {
            ...real,
            device: real.device,
            write: async (b, off, len, pos) => {
              writes++;
              return real.write(b, off, len, pos);
            },
            read: async (b, off, len, pos) => {
              // The first read-back does the tampering; concurrent read-aheads wait for it.
              tampered ??= (async () => {
                const cached = await readDevice(t.device, 8 * MiB, false); // buffered: fills the cache
                expect(cached.subarray(MiB).equals(image.subarray(MiB))).toBe(true);
                const fh = await open(t.backing, 'r+');
                await fh.write(Buffer.from([image[changedAt]! ^ 0xff]), 0, 1, changedAt);
                await fh.close();
                // Proof that a cached read would have passed: the buffered view still shows the old byte.
                const again = await readDevice(t.device, 8 * MiB, false);
                expect(again[changedAt]).toBe(image[changedAt]);
              })();
              await tampered;
              return real.read(b, off, len, pos);
            },
            flush: () => real.flush(),
            close: () => real.close(),
          };
        },
      },
    );
    expect(writes).toBeGreaterThan(0);
    expect(r.targets[0]).toMatchObject({ status: 'failed', state: 'blank-head', mismatchOffset: changedAt });
    expect(r.targets[0]!.error?.code).toBe('VERIFY_MISMATCH');
    // And `nexus verify`'s code path (a fresh O_DIRECT read) sees the change too.
    const { verifyDrive } = await import('../../../src-main/engine/flash');
    const direct = await readDevice(t.device, 8 * MiB);
    expect(direct[changedAt]).toBe(image[changedAt]! ^ 0xff);
    const v = await verifyDrive(path, t.device, { listDrives: list });
    expect(v.ok).toBe(false);
    expect(v.mismatchOffset).toBeLessThanOrEqual(changedAt); // the head is zeroed (blank-head), so byte 0 differs first
  });
});
