/**
 * `--compress=xz,zst` without host tools: a tinybox image built with both, compressed in-process (WASM liblzma and
 * zstd on the worker thread). The real `xz -t` and `zstd -t` accept the files, both decompress to the image byte
 * for byte, the xz file is byte-identical to `xz -6 -T1` (same encoder), and compressing again gives the same
 * bytes. A cancelled compression stops and says so.
 */
import { execa } from 'execa';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BuildResult } from '../../../src-main/engine/build-types';
import { compressFile } from '../../../src-main/engine/compress/compress-file';
import { whichTool } from '../../../src-main/engine/host-tools';
import { buildFromTestFeed, planFor, sharedNexusCache } from '../../support/image-build';

let dir: string;
let result: BuildResult;
const haveTools = !!(await whichTool('xz')) && !!(await whichTool('zstd'));

async function sha256(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const c of createReadStream(path)) h.update(c as Buffer);
  return h.digest('hex');
}

/** The SHA-256 of what a command writes to stdout, streamed (an image does not go through memory whole). */
async function sha256Of(cmd: string, args: string[]): Promise<string> {
  const h = createHash('sha256');
  const p = execa(cmd, args, { encoding: 'buffer', buffer: false });
  for await (const c of p.stdout!) h.update(c as Buffer);
  await p;
  return h.digest('hex');
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'nexus-compress-'));
  process.env.NEXUS_CACHE_DIR = sharedNexusCache('tinybox-x86');
  const plan = await planFor('tinybox', 'qemu-x86_64', join(dir, 'tinybox.img'));
  result = (await buildFromTestFeed(plan, { compress: ['xz', 'zst'] })).result;
}, 600_000);
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe.skipIf(!haveTools)('image compression in-process', () => {
  it('the build wrote .xz and .zst that xz -t and zstd -t accept and that decompress to the image', async () => {
    const image = result.image;
    const want = await sha256(image);
    for (const k of ['xz', 'zst'] as const) {
      const file = `${image}.${k}`;
      expect((await stat(file)).size, file).toBeLessThan((await stat(image)).size);
      const tool = k === 'xz' ? 'xz' : 'zstd';
      const t = await execa(tool, ['-t', file], { reject: false, all: true });
      expect(t.exitCode, `${tool} -t: ${t.all}`).toBe(0);
      expect(await sha256Of(tool, ['-dc', file]), `${file} decompressed`).toBe(want);
    }
  }, 600_000);

  it('xz output is byte-identical to xz -6 -T1, and both formats are reproducible', async () => {
    const image = result.image;
    const again = { xz: join(dir, 'again.xz'), zst: join(dir, 'again.zst') };
    await compressFile(image, again.xz, 'xz');
    await compressFile(image, again.zst, 'zst');
    expect(await sha256(again.xz)).toBe(await sha256(`${image}.xz`));
    expect(await sha256(again.zst)).toBe(await sha256(`${image}.zst`));
    expect(await sha256Of('xz', ['-6', '-T1', '-c', image])).toBe(await sha256(again.xz));
  }, 600_000);

  it('a cancelled compression stops with CANCELLED, and the next one still works', async () => {
    const big = join(dir, 'big.bin');
    await writeFile(big, Buffer.alloc(64 * 1024 * 1024, 7));
    const ac = new AbortController();
    const run = compressFile(big, join(dir, 'big.zst'), 'zst', { signal: ac.signal, onProgress: () => ac.abort() });
    await expect(run).rejects.toMatchObject({ code: 'CANCELLED' });
    const small = join(dir, 'small.bin');
    await writeFile(small, 'nexus\n'.repeat(1000));
    await compressFile(small, `${small}.zst`, 'zst');
    expect((await execa('zstd', ['-dc', `${small}.zst`])).stdout).toBe('nexus\n'.repeat(1000).trimEnd());
  }, 120_000);
});
