/**
 * In-process xz (compress/xz-decode.ts) against xz-utils on the same files: the sizes the indexes record equal
 * `xz --robot --list` (one stream, many blocks, concatenated streams with padding), decoding gives the original
 * bytes, and a damaged or foreign file gives null or an error, never a wrong size.
 */
import { execa } from 'execa';
import { mkdtemp, open, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { crc32 } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { unxzBuffer, unxzStream, xzRecordedSize } from '../../../src-main/engine/compress/xz-decode';
import { patternBytes } from '../../support/loop-devices';

const MiB = 1 << 20;
let dir: string;
let data: Buffer;
const files: Record<string, string> = {};

async function recorded(path: string): Promise<number | null> {
  const fh = await open(path, 'r');
  try {
    const size = (await fh.stat()).size;
    return await xzRecordedSize(async (position, length) => (await fh.read(Buffer.alloc(length), 0, length, position)).buffer, size);
  } finally {
    await fh.close();
  }
}
const listed = async (path: string) =>
  Number(
    (await execa('xz', ['--robot', '--list', path])).stdout
      .split('\n')
      .find((l) => l.startsWith('totals\t'))!
      .split('\t')[4],
  );

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'nexus-xz-'));
  data = Buffer.concat([patternBytes(3 * MiB, 3), Buffer.from('nexus '.repeat(MiB / 2)), Buffer.alloc(2 * MiB), patternBytes(777, 4)]);
  const raw = join(dir, 'data');
  await writeFile(raw, data);
  const xz = async (name: string, args: string[]) => {
    files[name] = join(dir, `${name}.xz`);
    await writeFile(files[name]!, (await execa('xz', [...args, '-c', raw], { encoding: 'buffer' })).stdout);
  };
  await xz('one-stream', ['-6']);
  await xz('many-blocks', ['-1', '--block-size=1MiB']);
  // Two streams and stream padding between and after them, as `cat a.xz b.xz` and some tools write.
  const a = await readFile(files['one-stream']!);
  files.concatenated = join(dir, 'concatenated.xz');
  await writeFile(files.concatenated, Buffer.concat([a, Buffer.alloc(8), a, Buffer.alloc(4)]));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('xz in process', () => {
  it('reads the size the indexes record, as xz --robot --list does', async () => {
    for (const name of ['one-stream', 'many-blocks', 'concatenated']) {
      expect(await recorded(files[name]!), name).toBe(await listed(files[name]!));
    }
    expect(await recorded(files['one-stream']!)).toBe(data.length);
    expect(await recorded(files.concatenated!)).toBe(2 * data.length);
  });

  it('gives null, never a wrong size, for a damaged footer or index, a cut file or something else', async () => {
    const good = await readFile(files['many-blocks']!);
    const cases: Record<string, Buffer> = {
      'footer flipped': Buffer.from(good).fill(0x41, good.length - 9, good.length - 8),
      'index flipped': Buffer.from(good).fill(0x41, good.length - 20, good.length - 19),
      'cut short': good.subarray(0, good.length - 4),
      'a gzip file': Buffer.from([0x1f, 0x8b, ...Buffer.alloc(64)]),
      'zeros only': Buffer.alloc(64),
      'a valid stream, then 2 MiB of zeros': Buffer.concat([good, Buffer.alloc(2 << 20)]),
      'a footer claiming a 4 GiB index': (() => {
        const b = Buffer.from(good);
        const footer = b.subarray(b.length - 12);
        footer.writeUInt32LE(0x3fffffff, 4);
        footer.writeUInt32LE(crc32(footer.subarray(4, 10)), 0);
        return b;
      })(),
    };
    for (const [name, bytes] of Object.entries(cases)) {
      const path = join(dir, 'case.xz');
      await writeFile(path, bytes);
      expect(await recorded(path), name).toBeNull();
    }
  });

  it('decodes a whole buffer and a stream to the original bytes; bad data is an error', async () => {
    expect((await unxzBuffer(await readFile(files['one-stream']!))).equals(data)).toBe(true);
    const many = await readFile(files['many-blocks']!);
    const out: Buffer[] = [];
    // Fed in odd-sized pieces, as a download arrives.
    for await (const c of await unxzStream(Readable.from([many.subarray(0, 1000), many.subarray(1000, 70_001), many.subarray(70_001)]))) out.push(c as Buffer);
    expect(Buffer.concat(out).equals(data)).toBe(true);
    const broken = Buffer.from(many).fill(0x55, 5000, 6000);
    await expect(
      (async () => {
        for await (const _ of await unxzStream(Readable.from([broken])));
      })(),
    ).rejects.toThrow();
    // Concatenated streams with padding, as xz -dc decodes them.
    const both: Buffer[] = [];
    for await (const c of await unxzStream(Readable.from([await readFile(files.concatenated!)]))) both.push(c as Buffer);
    expect(Buffer.concat(both).equals(Buffer.concat([data, data]))).toBe(true);
    // Cut short: an error, not a short image.
    const cut = many.subarray(0, many.length - 100);
    await expect(
      (async () => {
        for await (const _ of await unxzStream(Readable.from([cut])));
      })(),
    ).rejects.toThrow();
    const bad = Buffer.from(await readFile(files['one-stream']!)).fill(0x55, 2000, 3000);
    await expect(unxzBuffer(bad)).rejects.toThrow();
  });

  it('holds at most a few MiB however well the input compresses: 256 MiB of zeros (a 40 KB .xz) decoded in 1 MiB blocks', async () => {
    const zeros = Buffer.from((await execa('sh', ['-c', 'head -c 256M /dev/zero | xz -1 -T1'], { encoding: 'buffer' })).stdout);
    const before = process.memoryUsage().rss;
    let peak = before;
    let total = 0;
    let largest = 0;
    for await (const c of await unxzStream(Readable.from([zeros]))) {
      total += (c as Buffer).length;
      largest = Math.max(largest, (c as Buffer).length);
      peak = Math.max(peak, process.memoryUsage().rss);
    }
    expect(total).toBe(256 * MiB);
    expect(largest).toBeLessThanOrEqual(MiB);
    expect(peak - before).toBeLessThan(128 * MiB);
  }, 60_000);
});
