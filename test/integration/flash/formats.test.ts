// Full write + verify of every source format to a real loop device, O_DIRECT, through flash().
import { execa } from 'execa';
import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compressFile } from '../../../src-main/engine/compress/compress-file';
import { flash } from '../../../src-main/engine/flash';
import { recordedImageSize } from '../../../src-main/engine/flash/image-size';
import { listDrives } from '../../../src-main/engine/drives';
import type { FlashProgress } from '../../../src-shared/flash';
import { LoopSet, patternBytes, type Loop } from '../../support/loop-devices';

const MiB = 1 << 20;
const loops = new LoopSet();
let target: Loop;
let dir: string;
let image: Buffer;
const files: Record<string, string> = {};

async function readDevice(dev: string, len: number): Promise<Buffer> {
  const r = await execa('dd', [`if=${dev}`, 'bs=1M', `count=${Math.ceil(len / MiB)}`, 'iflag=direct', 'status=none'], { encoding: 'buffer' });
  return Buffer.from(r.stdout).subarray(0, len);
}

/** Runs fn with PATH pointing at an empty folder, so whichTool finds no xz, zstd or bzip2 (a macOS or Windows host). */
async function withoutTools<T>(fn: () => Promise<T>): Promise<T> {
  const saved = process.env.PATH;
  process.env.PATH = join(dir, 'no-tools');
  try {
    return await fn();
  } finally {
    process.env.PATH = saved;
  }
}

const list = () => listDrives({ extraDevices: loops.devices(), drivelist: async () => [] });

beforeAll(async () => {
  dir = await loops.workDir();
  // 12 MiB: random head, text-like middle (compresses), an odd tail (not a sector multiple).
  image = Buffer.concat([patternBytes(5 * MiB, 7), Buffer.from('nexus '.repeat((6 * MiB) / 6)), patternBytes(MiB + 333, 9)]);
  files.raw = join(dir, 'image.img');
  await writeFile(files.raw, image);
  await execa('xz', ['-k', '-1', '-T2', files.raw]);
  await execa('gzip', ['-k', '-1', files.raw]);
  await execa('zstd', ['-q', '-k', files.raw]);
  await execa('bzip2', ['-k', '-1', files.raw]);
  await execa('zip', ['-q', '-j', join(dir, 'image.zip'), files.raw]);
  Object.assign(files, { xz: `${files.raw}.xz`, gz: `${files.raw}.gz`, zst: `${files.raw}.zst`, bz2: `${files.raw}.bz2`, zip: join(dir, 'image.zip') });
  // The same image compressed by the build's own in-process encoders (--compress): they must flash like the tools' files.
  files['xz-by-nexus'] = join(dir, 'nexus.img.xz');
  files['zst-by-nexus'] = join(dir, 'nexus.img.zst');
  await compressFile(files.raw, files['xz-by-nexus'], 'xz');
  await compressFile(files.raw, files['zst-by-nexus'], 'zst');
  target = await loops.create(32 * MiB);
});
afterAll(() => loops.detachAll());

describe('flash: every source format to a loop device', () => {
  for (const fmt of ['raw', 'xz', 'gz', 'zst', 'bz2', 'zip', 'xz-by-nexus', 'zst-by-nexus']) {
    it(`writes and verifies a ${fmt} image`, async () => {
      await execa('dd', ['if=/dev/zero', `of=${target.device}`, 'bs=1M', 'count=32', 'oflag=direct', 'status=none']);
      const progress: FlashProgress[] = [];
      const r = await flash(
        { source: { kind: 'file', path: files[fmt]! }, targets: [target.device] },
        { listDrives: list, onProgress: (p) => progress.push(p), progressIntervalMs: 20 },
      );
      expect(r.targets[0]).toMatchObject({ status: 'done', state: 'image', verified: true });
      expect(r.ok).toBe(true);
      expect(r.imageSize).toBe(image.length);
      const onDisk = await readDevice(target.device, image.length);
      expect(onDisk.equals(image)).toBe(true);
      // The sector padding after an odd-sized image is zero.
      const pad = await readDevice(target.device, image.length + 512);
      expect(pad.subarray(image.length).every((b) => b === 0)).toBe(true);
      expect(progress.some((p) => p.phase === 'verifying')).toBe(true);
      expect(progress.some((p) => p.phase === (fmt === 'raw' ? 'writing' : 'decompressing'))).toBe(true);
      expect(progress.at(-1)?.phase).toBe('done');
    });
  }

  it('stops on a corrupt xz source and leaves no partition table', async () => {
    const bad = Buffer.from(await readFile(files.xz!));
    bad.fill(0x55, 4000, 9000); // inside the compressed payload
    const path = join(dir, 'corrupt.img.xz');
    await writeFile(path, bad);
    await execa('dd', [`if=${files.raw}`, `of=${target.device}`, 'bs=1M', 'count=1', 'oflag=direct', 'status=none']);
    const r = await flash({ source: { kind: 'file', path }, targets: [target.device] }, { listDrives: list });
    expect(r.ok).toBe(false);
    expect(r.targets[0]).toMatchObject({ status: 'failed', state: 'blank-head' });
    expect(r.targets[0]!.error?.code).toBe('SOURCE_CORRUPT');
    const head = await readDevice(target.device, MiB);
    expect(head.every((b) => b === 0)).toBe(true);
  });

  describe('on a host without xz or zstd (the macOS and Windows apps): PATH holds no tools', () => {
    // The drives are listed before PATH is emptied: lsblk is a host tool too (a macOS or Windows app lists them its own way).
    let drives: Awaited<ReturnType<typeof list>>;
    const listed = async () => drives;
    beforeAll(async () => {
      drives = await list();
    });
    for (const fmt of ['xz', 'xz-by-nexus']) {
      it(`decodes a ${fmt} image in process (liblzma in WebAssembly), knows its size from the index, writes and verifies it`, async () => {
        await execa('dd', ['if=/dev/zero', `of=${target.device}`, 'bs=1M', 'count=32', 'oflag=direct', 'status=none']);
        const sized = await withoutTools(() => recordedImageSize(files[fmt]!));
        expect(sized).toMatchObject({ format: 'xz', size: image.length, exact: true, method: 'index' });
        const progress: FlashProgress[] = [];
        const r = await withoutTools(() =>
          flash({ source: { kind: 'file', path: files[fmt]! }, targets: [target.device] }, { listDrives: listed, onProgress: (p) => progress.push(p) }),
        );
        expect(r.targets[0]).toMatchObject({ status: 'done', state: 'image', verified: true });
        expect(r.imageSize).toBe(image.length);
        expect((await readDevice(target.device, image.length)).equals(image)).toBe(true);
        expect(progress.some((p) => p.phase === 'decompressing')).toBe(true);
      });
    }

    it('stops on a corrupt xz source decoded in process and leaves no partition table', async () => {
      const bad = Buffer.from(await readFile(files.xz!)).fill(0x55, 4000, 9000);
      const path = join(dir, 'corrupt-wasm.img.xz');
      await writeFile(path, bad);
      await execa('dd', [`if=${files.raw}`, `of=${target.device}`, 'bs=1M', 'count=1', 'oflag=direct', 'status=none']);
      const r = await withoutTools(() => flash({ source: { kind: 'file', path }, targets: [target.device] }, { listDrives: listed }));
      expect(r.targets[0]).toMatchObject({ status: 'failed', state: 'blank-head' });
      expect(r.targets[0]!.error?.code).toBe('SOURCE_CORRUPT');
      expect((await readDevice(target.device, MiB)).every((b) => b === 0)).toBe(true);
    });

    it('refuses a .zst image with TOOL_MISSING naming zstd and how to install it, writing nothing', async () => {
      await execa('dd', [`if=${files.raw}`, `of=${target.device}`, 'bs=1M', 'count=1', 'oflag=direct', 'status=none']);
      const refused = await withoutTools(() =>
        flash({ source: { kind: 'file', path: files.zst! }, targets: [target.device] }, { listDrives: listed }).then(
          () => null,
          (e: unknown) => e,
        ),
      );
      expect(refused).toMatchObject({ code: 'TOOL_MISSING', message: expect.stringMatching(/zstd/), hint: expect.stringMatching(/apt-get install zstd/) });
      expect((await readDevice(target.device, MiB)).equals(image.subarray(0, MiB))).toBe(true);
    });
  });

  describe('http source', () => {
    let server: Server;
    let base: string;
    beforeAll(async () => {
      server = createServer(async (req, res) => {
        const name = (req.url ?? '').slice(1);
        const file = name === 'image.img.zst' ? files.zst! : name === 'image.img.xz' ? files.xz! : name === 'image.img' ? files.raw! : null;
        if (!file) return void res.writeHead(404).end();
        const body = await readFile(file);
        res.writeHead(200, { 'content-length': body.length }).end(body);
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });
    afterAll(() => new Promise<void>((r) => server.close(() => r())));

    it('streams a .zst download, checks its SHA-256 and verifies the drive', async () => {
      const sha256 = createHash('sha256')
        .update(await readFile(files.zst!))
        .digest('hex');
      const r = await flash({ source: { kind: 'url', url: `${base}/image.img.zst`, sha256 }, targets: [target.device] }, { listDrives: list });
      expect(r.targets[0]).toMatchObject({ status: 'done', verified: true });
      expect(r.sourceSha256).toBe(sha256);
      expect((await readDevice(target.device, image.length)).equals(image)).toBe(true);
    });

    it('streams a .xz download decoded in process on a host without xz, checks its SHA-256 and verifies the drive', async () => {
      const sha256 = createHash('sha256')
        .update(await readFile(files.xz!))
        .digest('hex');
      const drives = await list();
      const r = await withoutTools(() =>
        flash({ source: { kind: 'url', url: `${base}/image.img.xz`, sha256 }, targets: [target.device] }, { listDrives: async () => drives }),
      );
      expect(r.targets[0]).toMatchObject({ status: 'done', verified: true });
      expect(r.sourceSha256).toBe(sha256);
      expect((await readDevice(target.device, image.length)).equals(image)).toBe(true);
    });

    it('refuses to finish a download whose SHA-256 differs: the drive keeps no partition table', async () => {
      const r = await flash({ source: { kind: 'url', url: `${base}/image.img`, sha256: 'ab'.repeat(32) }, targets: [target.device] }, { listDrives: list });
      expect(r.targets[0]).toMatchObject({ status: 'failed', state: 'blank-head' });
      expect(r.targets[0]!.error?.code).toBe('SOURCE_CHECKSUM_MISMATCH');
      expect((await readDevice(target.device, MiB)).every((b) => b === 0)).toBe(true);
    });
  });
});
