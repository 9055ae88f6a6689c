/**
 * The engine worker (workers/pool.ts) reads APKINDEX files off the main thread: the real Alpine-signed v3.22.2 main
 * index gives exactly the packages, signer and description of the in-thread reader; errors come back as NexusErrors
 * with their code and hint; the caller's limits apply inside the worker.
 */
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { readApkIndex, readApkIndexOffThread } from '../../../src-main/engine/feeds/apkindex';
import { withLimits } from '../../../src-main/engine/feeds/limits';
import { loadTrustedKeys } from '../../../src-main/engine/feeds/signature';
import { NexusError } from '../../../src-shared/errors';
import { alpineTestdata } from '../../support/alpine-testdata';

const INDEX = alpineTestdata('official', 'v3.22.2-main-x86_64-APKINDEX.tar.gz');
const repo = { name: 'main', branch: 'v3.22', arch: 'x86_64', base: 'https://dl-cdn.alpinelinux.org/alpine/v3.22/main' };

describe('reading an index on the engine worker', () => {
  it('gives the same index as the in-thread reader (real signed Alpine data)', async () => {
    const bytes = await readFile(INDEX);
    const keys = await loadTrustedKeys(alpineTestdata('keys'));
    const here = await readApkIndex(bytes, repo, keys);
    const there = await readApkIndexOffThread(bytes, repo, keys);
    expect(there.packages.length).toBeGreaterThan(5000);
    expect([there.signer, there.description]).toEqual([here.signer, here.description]);
    expect(there.packages.map((p) => JSON.stringify(p))).toEqual(here.packages.map((p) => JSON.stringify(p)));
    // Lazily decoded fields still work on the rebuilt packages.
    const musl = there.packages.find((p) => p.name === 'musl')!;
    expect(musl.provides.map((p) => p.name)).toContain('so:libc.musl-x86_64.so.1');
    expect(musl.description).toBe(here.packages.find((p) => p.name === 'musl')!.description);
  });

  it("errors keep their code and hint; the caller's limits hold in the worker", async () => {
    const keys = await loadTrustedKeys(alpineTestdata('keys'));
    const garbage = await readApkIndexOffThread(Buffer.from('not an index'), repo, keys).catch((e: unknown) => e);
    expect(garbage).toBeInstanceOf(NexusError);
    expect((garbage as NexusError).hint).toBeTruthy();
    const bytes = await readFile(INDEX);
    const big = await withLimits({ indexInflated: 64 * 1024 }, () => readApkIndexOffThread(bytes, repo, keys).catch((e: unknown) => e));
    expect(big).toMatchObject({ code: 'INDEX_TOO_LARGE' });
  });
});
