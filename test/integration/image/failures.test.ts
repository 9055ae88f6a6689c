/**
 * Bad input: a missing host tool (clear message naming the package), a full output disk (clear error, nothing
 * left behind) and cancellation in every stage (no temporary files, no partial outputs, no half cache entries).
 */
import { execa } from 'execa';
import { existsSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NexusError } from '../../../src-shared/errors';
import { buildFromTestFeed, planFor } from '../../support/image-build';

let dir: string;
const isRoot = process.getuid?.() === 0;
let n = 0;
/** A hostname no earlier build used, so every image stage really runs instead of coming from the cache. */
const fresh = () => `t${process.pid}-${Date.now().toString(36)}-${n++}`;

async function findPartials(root: string): Promise<string[]> {
  if (!existsSync(root)) return [];
  const out: string[] = [];
  for (const e of await readdir(root, { withFileTypes: true, recursive: true }))
    if (e.name.startsWith('.tmp-') || e.name.endsWith('.partial')) out.push(join(e.parentPath, e.name));
  return out;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'nexus-it-failures-'));
  // Every build here uses a new hostname, so a persistent cache would only grow: use one that goes with the test.
  process.env.NEXUS_CACHE_DIR = join(dir, 'cache');
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('a host tool is missing', () => {
  it('the image builds with PATH=/nonexistent; the boot test then stops with TOOL_MISSING naming the QEMU package, and only the finished image stays', async () => {
    const out = join(dir, 'missing');
    const path = process.env.PATH;
    // /usr/sbin and /sbin are still searched; QEMU lives in /usr/bin. The image itself needs no host tool (every
    // filesystem is written in-process), so the missing tool is the one the optional boot test needs.
    process.env.PATH = '/nonexistent';
    try {
      const plan = await planFor('tinybox', 'qemu-x86_64', join(out, 'x.img'), { hostname: fresh() });
      const err = await buildFromTestFeed(plan, { bootTest: true }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(NexusError);
      expect((err as NexusError).code).toBe('TOOL_MISSING');
      expect((err as NexusError).message).toMatch(/"qemu-system-x86_64" is not installed/);
      expect((err as NexusError).hint).toMatch(/apt-get install qemu-system-x86/);
    } finally {
      process.env.PATH = path;
    }
    // The image was finished before the boot test: it stays with its sidecars; no console log, nothing partial.
    const left = await readdir(out);
    expect(left).toContain('x.img');
    expect(left.filter((f) => f.includes('console'))).toEqual([]);
    expect(await findPartials(out)).toEqual([]);
  }, 180_000);
});

describe.skipIf(!isRoot)('the output disk is full', () => {
  it('stops with DISK_FULL and leaves no output files', async () => {
    const out = join(dir, 'small');
    await mkdir(out);
    await execa('mount', ['-t', 'tmpfs', '-o', 'size=4m', 'tmpfs', out]);
    try {
      const err = await buildFromTestFeed(await planFor('tinybox', 'qemu-x86_64', join(out, 'tiny.img'))).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(NexusError);
      expect((err as NexusError).code).toBe('DISK_FULL');
      expect((err as NexusError).hint).toMatch(/Free some space/);
      expect(await readdir(out)).toEqual([]);
    } finally {
      await execa('umount', [out]);
    }
  }, 120_000);
});

describe('cancellation', () => {
  const cases: Array<[string, string, number]> = [
    ['packages-resolve', 'tinybox', 0],
    ['packages-fetch', 'tinybox', 0],
    ['packages-unpack', 'tinybox', 0],
    ['configure', 'tinybox', 0],
    ['initramfs', 'tinybox', 0],
    ['filesystems', 'cryptobox', 300],
    ['boot', 'tinybox', 200],
    ['pack', 'cryptobox', 100],
    ['boot-test', 'tinybox', 3000],
  ];
  it.each(cases)(
    'in %s (%s) leaves no temporary files, no unfinished outputs and no half cache entries',
    async (stage, box, delayMs) => {
      const tmp = await mkdtemp(join(dir, `tmp-${stage}-`));
      const out = join(dir, `out-${stage}`);
      const saved = process.env.TMPDIR;
      process.env.TMPDIR = tmp;
      const ac = new AbortController();
      try {
        const err = await buildFromTestFeed(await planFor(box, 'qemu-x86_64', join(out, 'x.img'), { hostname: fresh() }), {
          signal: ac.signal,
          bootTest: stage === 'boot-test',
          onEvent: (e) => {
            if (e.type === 'progress' && e.stage === stage && e.status === 'running' && !ac.signal.aborted) setTimeout(() => ac.abort(), delayMs);
          },
        }).catch((e: unknown) => e);
        expect((err as NexusError).code).toBe('CANCELLED');
      } finally {
        process.env.TMPDIR = saved;
      }
      expect(await readdir(tmp)).toEqual([]);
      const left = existsSync(out) ? await readdir(out) : [];
      if (stage === 'boot-test') {
        // The image was complete before the boot test started: it stays, whole and matching its checksum.
        expect(left.filter((f) => f.includes('.partial'))).toEqual([]);
        const sha = createHash('sha256')
          .update(await readFile(join(out, 'x.img')))
          .digest('hex');
        expect(await readFile(join(out, 'x.img.sha256'), 'utf8')).toBe(`${sha}  x.img\n`);
      } else expect(left).toEqual([]);
      expect(await findPartials(join(dir, 'cache', 'image-stages'))).toEqual([]);
    },
    120_000,
  );
});
