/**
 * `nexus build --output` never overwrites what it must not (issue 13): a FIFO, a directory, a symlink or a device
 * node (/dev/null, left untouched) is refused up front with a clear error and nothing written; an unrelated existing
 * file is refused without --force and replaced with it; a previous Nexus output is replaced without --force. And a
 * truncated `cache import` leaves nothing in the cache's temp area. Runs the real CLI against the test feed.
 */
import { execa } from 'execa';
import { existsSync } from 'node:fs';
import { lstat, mkdir, mkdtemp, readdir, readFile, readlink, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { debianTestFeed, type TestFeed } from '../../support/debian-test-feed';
import { sharedNexusCache } from '../../support/image-build';
import { nexus } from '../../support/run-cli';

let dir: string;
let feed: TestFeed;
const cache = () => sharedNexusCache('security-outputs');

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'nexus-it-outputs-'));
  feed = await debianTestFeed('x86_64');
}, 300_000);
afterAll(() => rm(dir, { recursive: true, force: true }));

function build(output: string, extra: string[] = []) {
  return nexus(['build', '--profile=tinybox', '--target=qemu-x86_64', `--mirror=${feed.mirror}`, `--keys=${feed.keysDir}`, `--output=${output}`, ...extra], {
    env: { NEXUS_CACHE_DIR: cache() },
    timeout: 240_000,
  });
}

/** Names in `d` other than `keep`: what a refused build must not have written. */
async function written(d: string, keep: string[]): Promise<string[]> {
  return (await readdir(d)).filter((f) => !keep.includes(f));
}

describe('nexus build --output refuses what is not a regular file, up front', () => {
  it('a FIFO', async () => {
    const d = join(dir, 'fifo');
    await mkdir(d);
    await execa('mkfifo', [join(d, 'x.img')]);
    const r = await build(join(d, 'x.img'));
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/Refusing to overwrite .*x\.img: it is a FIFO \(named pipe\); nothing was written\.\n {2}hint: /);
    expect((await lstat(join(d, 'x.img'))).isFIFO()).toBe(true);
    expect(await written(d, ['x.img'])).toEqual([]);
  });

  it('a directory: refused before building, no sidecar files left', async () => {
    const d = join(dir, 'isdir');
    await mkdir(join(d, 'x.img'), { recursive: true });
    const r = await build(join(d, 'x.img'));
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/The output .*x\.img is a directory; nothing was written\.\n {2}hint: Give --output a file name/);
    expect(r.stderr).not.toMatch(/EISDIR/);
    expect(await written(d, ['x.img'])).toEqual([]);
    expect(await readdir(join(d, 'x.img'))).toEqual([]);
  });

  it('a symlink (to a file elsewhere, which stays as it was)', async () => {
    const d = join(dir, 'link');
    await mkdir(d);
    const victim = join(dir, 'victim.txt');
    await writeFile(victim, 'precious\n');
    await symlink(victim, join(d, 'x.img'));
    const r = await build(join(d, 'x.img'), ['--force']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/it is a symbolic link; nothing was written/);
    expect(await readlink(join(d, 'x.img'))).toBe(victim);
    expect(await readFile(victim, 'utf8')).toBe('precious\n');
    expect(await written(d, ['x.img'])).toEqual([]);
  });

  it('a device node (/dev/null, not modified), even with --force', async () => {
    const before = await stat('/dev/null');
    const r = await build('/dev/null', ['--force']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/Refusing to overwrite \/dev\/null: it is a character device; nothing was written\.\n {2}hint: .*nexus flash/);
    const after = await stat('/dev/null');
    expect(after.isCharacterDevice()).toBe(true);
    expect([after.mode, after.rdev, after.ino, after.uid]).toEqual([before.mode, before.rdev, before.ino, before.uid]);
    expect((await readdir('/dev')).filter((f) => f.startsWith('.null') || f.startsWith('null.'))).toEqual([]);
  });
});

describe('nexus build --output over an existing regular file', () => {
  it('refuses an unrelated file without --force, replaces it with --force, then replaces its own output without it', async () => {
    const d = join(dir, 'regular');
    await mkdir(d);
    const out = join(d, 'x.img');
    await writeFile(out, 'my thesis, not an image\n');
    const refused = await build(out);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/x\.img already exists and is not a previous Nexus output; nothing was written\.\n {2}hint: .*--force/);
    expect(await readFile(out, 'utf8')).toBe('my thesis, not an image\n');
    expect(await written(d, ['x.img'])).toEqual([]);

    // A sidecar name taken by someone else's file is refused the same way.
    await rm(out);
    await writeFile(join(d, 'x.manifest.json'), '{"mine": true}\n');
    const sidecar = await build(out);
    expect(sidecar.code).toBe(1);
    expect(sidecar.stderr).toMatch(/x\.manifest\.json already exists and is not a previous Nexus output/);
    expect(await readFile(join(d, 'x.manifest.json'), 'utf8')).toBe('{"mine": true}\n');
    await writeFile(out, 'my thesis, not an image\n');

    const forced = await build(out, ['--force']);
    expect(forced.stderr.split('\n').filter((l) => /^nexus:/.test(l))).toEqual([]);
    expect(forced.code).toBe(0);
    const files = (await readdir(d)).sort();
    expect(files).toEqual(['x.bmap', 'x.img', 'x.img.sha256', 'x.manifest.json', 'x.packages.lock.json', 'x.spdx.json']);
    const manifest = JSON.parse(await readFile(join(d, 'x.manifest.json'), 'utf8')) as { image: { file: string; sha256: string } };
    expect(manifest.image.file).toBe('x.img');

    // Its own earlier output is replaced without --force (the manifest next to it names it).
    const again = await build(out, ['--hostname=again']);
    expect(again.code).toBe(0);
    expect((await readdir(d)).sort()).toEqual(files);
    expect(JSON.parse(await readFile(join(d, 'x.manifest.json'), 'utf8')).image.sha256).not.toBe(manifest.image.sha256);
  }, 600_000);
});

describe('nexus cache import', () => {
  it('a truncated export leaves nothing behind in the cache', async () => {
    const src = join(dir, 'cache-src');
    const dst = join(dir, 'cache-dst');
    // Fill a cache with the feed's indexes and packages (a resolve is enough for indexes; a plan-only fetch for the rest).
    const res = await nexus(['packages', 'resolve', '--profile=tinybox', '--arch=x86_64', `--mirror=${feed.mirror}`, `--keys=${feed.keysDir}`], {
      env: { NEXUS_CACHE_DIR: src },
    });
    expect(res.code).toBe(0);
    const bundle = join(dir, 'export.tar');
    const ex = await nexus(['cache', 'export', bundle, `--keys=${feed.keysDir}`], { env: { NEXUS_CACHE_DIR: src } });
    expect(ex.code).toBe(0);
    const whole = await readFile(bundle);
    for (const [name, bytes] of [
      ['truncated.tar', whole.subarray(0, Math.floor(whole.length * 0.6))],
      ['cut-early.tar', whole.subarray(0, 3000)],
      ['foreign.tar', Buffer.from('not a tar at all\n'.repeat(200))],
    ] as const) {
      await writeFile(join(dir, name), bytes);
      const r = await nexus(['cache', 'import', join(dir, name), `--keys=${feed.keysDir}`], { env: { NEXUS_CACHE_DIR: dst } });
      expect(r.code, r.stderr).toBe(1);
      expect(r.stderr).toMatch(/is not a readable Nexus cache export/);
      expect(existsSync(join(dst, 'tmp')) ? await readdir(join(dst, 'tmp')) : [], name).toEqual([]);
    }
    // Wrong key: the whole export is read and staged, then refused; nothing staged stays.
    const wrong = await nexus(['cache', 'import', bundle], { env: { NEXUS_CACHE_DIR: dst } });
    expect(wrong.code).toBe(1);
    expect(existsSync(join(dst, 'tmp')) ? await readdir(join(dst, 'tmp')) : []).toEqual([]);
  }, 300_000);
});
