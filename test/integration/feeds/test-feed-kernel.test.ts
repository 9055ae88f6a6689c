/**
 * The test feed never pins a Debian kernel ABI package (testing-on-these-machines.md §8: the mirror moves).
 * A fake apt runner plays the mirror: `update` writes the Packages index the mirror serves *now* (gzip, as
 * apt keeps it with Acquire::GzipIndexes), `download` writes a .deb for names the mirror has and fails like
 * apt for the others, and every call is recorded — so the tests can prove which names were asked for.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { debs, kernelForFeed, resolveKernel, type AptContext, type AptRunner } from '../../support/debian-apt';
import { feedDirName } from '../../support/debian-test-feed';

interface Mirror {
  kernel: string;
  version: string;
  others: Record<string, string>;
}

const packagesText = (m: Mirror) =>
  [
    `Package: linux-image-amd64\nSource: linux-signed-amd64 (6.1.176+1)\nVersion: 6.1.176-1\nArchitecture: amd64\nDepends: ${m.kernel} (= ${m.version})\nDescription: Linux for 64-bit PCs (meta-package)\n`,
    `Package: ${m.kernel}\nSource: linux-signed-amd64 (6.1.176+1)\nVersion: ${m.version}\nArchitecture: amd64\nDepends: kmod, linux-base (>= 4.3~), initramfs-tools (>= 0.120+deb8u2) | linux-initramfs-tool\nDescription: Linux 6.1 for 64-bit PCs (signed)\n`,
    ...Object.entries(m.others).map(([n, v]) => `Package: ${n}\nVersion: ${v}\nArchitecture: amd64\nDescription: x\n`),
  ].join('\n');

let root: string;
let calls: string[][];
let mirror: Mirror;
const listsDir = () => join(root, 'apt-bookworm-amd64', 'lists');

/** What the real mirror did on 2026-12-03: -56 gone, the metapackage moved to -50, -47 still listed. */
const fakeApt: AptRunner = async (args, { cwd }) => {
  const cmd = args.filter((a, i) => a !== '-o' && args[i - 1] !== '-o' && a !== '-q');
  calls.push(cmd);
  if (cmd[0] === 'update') {
    await mkdir(listsDir(), { recursive: true });
    await writeFile(join(listsDir(), 'deb.debian.org_debian_dists_bookworm_main_binary-amd64_Packages.gz'), gzipSync(packagesText(mirror)));
    return;
  }
  if (cmd[0] === 'download') {
    const all: Record<string, string> = { [mirror.kernel]: mirror.version, ...mirror.others };
    for (const spec of cmd.slice(1)) {
      const [name, version] = spec.split('=');
      if (!all[name!] || (version && version !== all[name!])) throw new Error(`E: Can't find a source to download version '${version}' of '${name}:amd64'`);
    }
    for (const spec of cmd.slice(1)) {
      const name = spec.split('=')[0]!;
      await writeFile(join(cwd!, `${name}_${all[name]!.replace(/:/g, '%3a')}_amd64.deb`), 'fake deb'); // apt's file name form
    }
    return;
  }
  throw new Error(`unexpected apt-get ${cmd.join(' ')}`);
};

/**
 * The simulated mirror's kernel ABI packages (numbers as Debian's bookworm went through them): test data for the fake
 * apt runner, never asked of the real mirror.
 */
const ABI = (n: number) => `linux-image-6.1.0-${n}-amd64`;

const ctx = (): AptContext => ({ root, debArch: 'amd64', run: fakeApt });
const asked = () => calls.filter((c) => c[0] === 'download').flatMap((c) => c.slice(1));

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'nexus-feed-kernel-'));
  calls = [];
  mirror = { kernel: ABI(50), version: '6.1.176-1', others: { 'busybox-static': '1:1.35.0-4+b4', [ABI(47)]: '6.1.170-1' } };
});
afterEach(() => rm(root, { recursive: true, force: true }));

describe('Debian kernel for the test feed', () => {
  it('on a fresh machine: updates the index, resolves linux-image-amd64 and downloads exactly what it depends on', async () => {
    const k = await kernelForFeed(ctx(), () => false);
    expect(k).toEqual({ name: ABI(50), version: '6.1.176-1' });
    const got = await debs(ctx(), [k, 'busybox-static']);
    expect(got.get(k.name)).toBe(join(root, 'amd64', `${ABI(50)}_6.1.176-1_amd64.deb`));
    expect(got.get('busybox-static')).toBe(join(root, 'amd64', 'busybox-static_1%3a1.35.0-4+b4_amd64.deb'));
    expect(calls.map((c) => c[0])).toEqual(['update', 'download']);
    expect(asked()).toEqual([`${ABI(50)}=6.1.176-1`, 'busybox-static']);
  });

  it('the previously used kernel vanished (stale index names -56, the cache holds an older -47 .deb): uses the current one, never asks for the vanished name', async () => {
    // Last run's state: the index said -56, and an even older kernel .deb lies in the cache.
    mirror = { ...mirror, kernel: ABI(56), version: '6.1.190-1' };
    await fakeApt(['update'], {});
    await mkdir(join(root, 'amd64'), { recursive: true });
    await writeFile(join(root, 'amd64', `${ABI(47)}_6.1.170-1_amd64.deb`), 'old deb');
    // Today the mirror no longer has -56.
    mirror = { kernel: ABI(50), version: '6.1.176-1', others: { 'busybox-static': '1:1.35.0-4+b4', [ABI(47)]: '6.1.170-1' } };
    calls = [];
    const k = await kernelForFeed(ctx(), () => false);
    expect(k.name).toBe(ABI(50));
    const got = await debs(ctx(), [k]);
    expect(got.get(k.name)).toBe(join(root, 'amd64', `${ABI(50)}_6.1.176-1_amd64.deb`));
    expect(calls.map((c) => c[0])).toEqual(['update', 'download']);
    expect(asked()).toEqual([`${ABI(50)}=6.1.176-1`]);
    expect(calls.flat().join(' ')).not.toMatch(/-56-|-47-/);
    // The feed cache is keyed on what was resolved: a new kernel gives a new feed directory.
    const pem = 'PEM';
    expect(feedDirName('x86_64', k, pem)).not.toBe(feedDirName('x86_64', { name: ABI(56), version: '6.1.190-1' }, pem));
    expect(feedDirName('x86_64', k, pem)).not.toBe(feedDirName('x86_64', { ...k, version: '6.1.176-2' }, pem));
    expect(feedDirName('x86_64', k, pem)).toBe(feedDirName('x86_64', { ...k }, pem));
  });

  it('works offline when the resolved kernel is cached or its feed is built: no apt call at all', async () => {
    await fakeApt(['update'], {});
    await debs(ctx(), [await resolveKernel(ctx()), 'busybox-static']);
    calls = [];
    const k = await kernelForFeed(ctx(), () => false); // .deb cached
    expect(await debs(ctx(), [k, 'busybox-static'])).toHaveProperty('size', 2);
    await rm(join(root, 'amd64'), { recursive: true });
    expect(await kernelForFeed(ctx(), (x) => x.name === ABI(50))).toEqual(k); // feed built, no .deb left
    expect(calls).toEqual([]);
  });

  it('a stale index for an unversioned name: a failed download refreshes the index once and retries', async () => {
    mirror.others['busybox-static'] = '1:1.35.0-4+b3';
    await fakeApt(['update'], {});
    mirror.others['busybox-static'] = '1:1.35.0-4+b4';
    calls = [];
    // The fake mirror refuses a version it does not have only when one is given; simulate apt's candidate choice.
    const staleApt: AptRunner = async (args, o) => {
      const cmd = args.filter((a, i) => a !== '-o' && args[i - 1] !== '-o' && a !== '-q');
      if (cmd[0] === 'download' && calls.filter((c) => c[0] === 'update').length === 0) {
        calls.push(cmd);
        throw new Error('E: Failed to fetch http://deb.debian.org/debian/pool/main/b/busybox/busybox-static_1.35.0-4+b3_amd64.deb  404  Not Found');
      }
      return fakeApt(args, o);
    };
    const got = await debs({ root, debArch: 'amd64', run: staleApt }, ['busybox-static']);
    expect(got.get('busybox-static')).toMatch(/busybox-static_1%3a1\.35\.0-4\+b4_amd64\.deb$/);
    expect(calls.map((c) => c[0])).toEqual(['download', 'update', 'download']);
  });

  it('a metapackage missing from the refreshed index is a clear error', async () => {
    const broken: AptRunner = async (args) => {
      calls.push(args);
      await mkdir(listsDir(), { recursive: true });
      await writeFile(join(listsDir(), 'deb.debian.org_debian_dists_bookworm_main_binary-amd64_Packages'), 'Package: hello\nVersion: 1\n');
    };
    await expect(resolveKernel({ root, debArch: 'amd64', run: broken })).rejects.toThrow(/has no linux-image-amd64 with a linux-image dependency/);
    expect(calls).toHaveLength(1);
  });
});
