/**
 * Ctrl-C during a CLI build (issue 13): SIGINT while packages are being unpacked ends the build with exit code 130
 * after cleanup, with no temporary files left in the cache's temp area and no outputs; a later process sweeps what
 * dead processes left behind. Runs the real `nexus build` against the test feed.
 */
import { execa } from 'execa';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { debianTestFeed } from '../../support/debian-test-feed';
import { sharedNexusCache } from '../../support/image-build';
import { NEXUS_BIN } from '../../support/run-cli';
import { FeedCache, sweepTemp, TEMP_SWEEP_AGE_MS } from '../../../src-main/engine/feeds/cache';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'nexus-it-signals-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('Ctrl-C during a build', () => {
  it('SIGINT while unpacking packages: exit 130 after cleanup, no temp files in the cache, no outputs', async () => {
    const feed = await debianTestFeed('x86_64');
    // A cache of its own, emptied of blobs so the unpack stage has real work (and large temp blobs) when the signal comes.
    const cache = sharedNexusCache('security-signals');
    await rm(join(cache, 'blobs'), { recursive: true, force: true });
    const out = join(dir, 'out', 'tinybox.img');
    const proc = execa(
      process.execPath,
      [NEXUS_BIN, 'build', '--profile=tinybox', '--target=qemu-x86_64', `--mirror=${feed.mirror}`, `--keys=${feed.keysDir}`, `--output=${out}`, '--json'],
      { reject: false, env: { NO_COLOR: '1', NEXUS_CACHE_DIR: cache }, timeout: 240_000, buffer: { stdout: false, stderr: true } },
    );
    let signalled = false;
    let watching: NodeJS.Timeout | undefined;
    const sizes = new Map<string, number>();
    const lines: Array<Record<string, unknown>> = [];
    for await (const line of proc.iterable({ from: 'stdout' })) {
      const e = JSON.parse(String(line)) as Record<string, unknown>;
      lines.push(e);
      // Mid-stage, while a large temp blob (the kernel package's files) is being written into the cache: the moment the
      // reported crash happened (an AbortError from a stream pipeline, exit 1, orphaned temp blob).
      if (!watching && e.type === 'progress' && e.stage === 'packages-unpack' && e.status === 'running') {
        watching = setInterval(() => {
          if (signalled) return;
          const tmp = join(cache, 'tmp');
          let growing = false;
          for (const f of existsSync(tmp) ? readdirSync(tmp) : []) {
            const size = statSync(join(tmp, f), { throwIfNoEntry: false })?.size ?? 0;
            if (f.endsWith('.blob') && size > 256 * 1024 && size > (sizes.get(f) ?? Infinity)) growing = true;
            sizes.set(f, size);
          }
          if (growing) {
            signalled = true;
            proc.kill('SIGINT');
          }
        }, 2);
      }
    }
    clearInterval(watching);
    const r = await proc;
    expect(signalled).toBe(true);
    expect(String(r.stderr)).not.toMatch(/AbortError|at .*\.ts:\d+/);
    expect(r.exitCode).toBe(130);
    expect(lines.at(-1)).toMatchObject({ ok: false, error: { code: 'CANCELLED' } });
    expect(lines.some((l) => l.stage === 'packages-unpack' && l.status === 'cancelled')).toBe(true);
    expect(existsSync(join(cache, 'tmp')) ? await readdir(join(cache, 'tmp')) : []).toEqual([]);
    expect(existsSync(join(dir, 'out')) ? await readdir(join(dir, 'out')) : []).toEqual([]);
  }, 300_000);

  it('a later process sweeps temp files of dead processes once they are old, and leaves live ones alone', async () => {
    const root = join(dir, 'sweep-cache');
    const tmp = join(root, 'tmp');
    await mkdir(tmp, { recursive: true });
    const old = (Date.now() - TEMP_SWEEP_AGE_MS - 60_000) / 1000;
    // A pid that is surely gone: a child that has exited.
    const child = execa('true');
    const dead = child.pid!;
    await child;
    const live = process.ppid;
    const make = async (name: string, when: number) => {
      await writeFile(join(tmp, name), 'x');
      await utimes(join(tmp, name), when, when);
    };
    await make(`run-${dead}-aaaaaaaa-0123.blob`, old); // dead and old: swept
    await make(`${dead}-0123abcd.blob`, old); // an older version's name, dead and old: swept
    await make(`run-${dead}-bbbbbbbb-0456.blob`, Date.now() / 1000); // dead but recent: kept (another host or container may own it)
    await make(`run-${live}-cccccccc-0789.blob`, old); // held by a live pid: kept
    await mkdir(join(tmp, `run-${dead}-dddddddd-import-x`));
    await utimes(join(tmp, `run-${dead}-dddddddd-import-x`), old, old);
    expect((await sweepTemp(tmp)).sort()).toEqual([`${dead}-0123abcd.blob`, `run-${dead}-aaaaaaaa-0123.blob`, `run-${dead}-dddddddd-import-x`].sort());
    expect((await readdir(tmp)).sort()).toEqual([`run-${dead}-bbbbbbbb-0456.blob`, `run-${live}-cccccccc-0789.blob`].sort());
    // The first use of a cache in a process sweeps it.
    await make(`run-${dead}-eeeeeeee-1.blob`, old);
    const p = await new FeedCache(root).tempPath('.x');
    expect(p.startsWith(tmp)).toBe(true);
    expect(await readdir(tmp)).not.toContain(`run-${dead}-eeeeeeee-1.blob`);
  });
});
