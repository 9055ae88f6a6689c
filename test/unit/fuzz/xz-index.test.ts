/**
 * Property-based fuzzing of the in-process xz index reader (compress/xz-decode.ts: the size a card must hold, read
 * from an .xz image's end when the host has no `xz`) on mutations of real xz-utils output (several blocks, several
 * streams, stream padding). It never throws; it answers null or exactly what `xz --robot --list` says of the same
 * bytes — never a size xz-utils would not give.
 */
import { execa } from 'execa';
import fc from 'fast-check';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { xzRecordedSize } from '../../../src-main/engine/compress/xz-decode';
import { patternBytes } from '../../support/loop-devices';
import { mutated, params, timeout } from './fuzz';

let base: Buffer;
let dir: string;

const ours = (b: Buffer) => xzRecordedSize(async (position, length) => Buffer.from(b.subarray(position, position + length)), b.length);
async function xzList(b: Buffer): Promise<number | null> {
  // xz --list reads only files (not standard input).
  const file = join(dir, 'case.xz');
  await writeFile(file, b);
  const r = await execa('xz', ['--robot', '--list', '--', file], { reject: false });
  const totals = r.exitCode === 0 ? r.stdout.split('\n').find((l) => l.startsWith('totals\t')) : undefined;
  return totals ? Number(totals.split('\t')[4]) : null;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'nexus-fuzz-xz-'));
  const data = Buffer.concat([patternBytes(96 * 1024, 5), Buffer.from('nexus '.repeat(20_000))]);
  const one = Buffer.from((await execa('xz', ['-1', '--block-size=32KiB', '-c'], { input: data, encoding: 'buffer' })).stdout);
  base = Buffer.concat([one, Buffer.alloc(4), one]);
  expect(await ours(base)).toBe(2 * data.length);
  expect(await xzList(base)).toBe(2 * data.length);
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('fuzz: xz index reader', () => {
  it(
    'on damaged or crafted .xz files: null or the size xz-utils reads, never an exception',
    async () => {
      await fc.assert(
        fc.asyncProperty(mutated(base, 3), async (b) => {
          const got = await ours(b);
          if (got === null) return;
          expect(Number.isSafeInteger(got) && got >= 0).toBe(true);
          expect(got).toBe(await xzList(b));
        }),
        params(150),
      );
    },
    timeout,
  );
});
