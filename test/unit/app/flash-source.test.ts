/**
 * Issue 13: flash.start took any readable file as its source (e.g. /etc/shadow, copied onto a drive by the
 * privileged helper). It now applies image.inspect's rule: a disk image by name, and a regular file.
 */
import { mkdir, mkdtemp, realpath, rm, symlink, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createApp } from '../../../src-main/app/create-app';
import type { AppPorts } from '../../../src-main/app/ports';
import { defaultPorts } from '../../../src-main/app/default-ports';
import type { FlashRequestInput, FlashResult } from '../../../src-shared/flash';

let dir: string;
let seen: FlashRequestInput[];
const result: FlashResult = { type: 'flash.result', ok: true, cancelled: false, imageSize: 4096, durationMs: 1, targets: [] } as unknown as FlashResult;

function app() {
  const unused = async () => {
    throw new Error('unused');
  };
  const ports = {
    loadCatalog: unused,
    resourcesDir: () => dir,
    build: unused,
    bootTest: unused,
    listDrives: async () => [],
    async *watchDrives() {},
    qemuArches: async () => [],
    pickImage: async () => null,
    imageSize: defaultPorts().imageSize,
    backup: unused,
    flash: async (request: FlashRequestInput) => {
      seen.push(request);
      return result;
    },
  } satisfies AppPorts;
  return createApp(ports, { version: '0', transport: 'memory', configDir: join(dir, 'config'), outputDir: dir });
}
const start = (source: unknown, jobId = `job-${seen.length}-${Math.random().toString(36).slice(2, 8)}`) =>
  app().invoke('flash.start', { jobId, source, targets: ['/dev/loop9'] });

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'nexus-flash-source-'));
  seen = [];
});
afterEach(async () => rm(dir, { recursive: true, force: true }));

describe('flash.start source rule (the same as image.inspect)', () => {
  it.each(['/etc/shadow', '/etc/passwd', '/dev/sda', '/proc/self/environ', 'settings.json', '/home/u/.ssh/id_ed25519'])(
    'refuses %s with NOT_AN_IMAGE and a hint, without starting a write',
    async (path) => {
      const r = await start({ kind: 'file', path });
      expect(r).toMatchObject({
        ok: false,
        error: { code: 'NOT_AN_IMAGE', message: expect.stringContaining('does not look like a disk image'), hint: expect.stringMatching(/\.img.*\.iso/) },
      });
      expect(seen).toEqual([]);
    },
  );

  it('answers exactly what image.inspect answers for the same path', async () => {
    const d = app();
    for (const path of ['/etc/shadow', join(dir, 'notes.txt')]) {
      const inspect = await d.invoke('image.inspect', { path });
      const flash = await d.invoke('flash.start', { jobId: 'job-same-1', source: { kind: 'file', path }, targets: ['/dev/loop9'] });
      expect(flash).toEqual(inspect);
    }
    d.close();
  });

  it('refuses something named like an image that is not a regular file (a directory)', async () => {
    await mkdir(join(dir, 'trap.img'));
    expect(await start({ kind: 'file', path: join(dir, 'trap.img') })).toMatchObject({
      ok: false,
      error: { code: 'IMAGE_NOT_FOUND', hint: expect.any(String) },
    });
    expect(seen).toEqual([]);
  });

  it('passes an image file on to the write, as an absolute path', async () => {
    await writeFile(join(dir, 'disk.img.xz'), Buffer.alloc(16));
    expect(await start({ kind: 'file', path: join(dir, 'disk.img.xz') })).toMatchObject({ ok: true });
    expect(seen[0]).toMatchObject({ source: { kind: 'file', path: join(dir, 'disk.img.xz') }, includeSystem: false, targets: ['/dev/loop9'] });
    const rel = join(dir, 'sub', '..', 'disk.img.xz');
    expect(await start({ kind: 'file', path: rel })).toMatchObject({ ok: true });
    expect(seen[1]?.source).toEqual({ kind: 'file', path: join(dir, 'disk.img.xz') });
  });

  it('a URL source (checked by its SHA-256 in the engine) is not a file path and passes through', async () => {
    const source = { kind: 'url', url: 'http://127.0.0.1:9/x.img.xz', sha256: 'a'.repeat(64) };
    expect(await start(source)).toMatchObject({ ok: true });
    expect(seen[0]?.source).toEqual(source);
  });

  it('follows a symbolic link: one named like an image must point at an image, not at /etc/shadow', async () => {
    await writeFile(join(dir, 'real.img'), Buffer.alloc(16));
    await writeFile(join(dir, 'secret'), 'root:x:0:0\n');
    await symlink(join(dir, 'real.img'), join(dir, 'link.img'));
    await symlink(join(dir, 'secret'), join(dir, 'trap.img'));
    expect(await start({ kind: 'file', path: join(dir, 'link.img') })).toMatchObject({ ok: true });
    expect(await start({ kind: 'file', path: join(dir, 'trap.img') })).toMatchObject({ ok: false, error: { code: 'NOT_AN_IMAGE', hint: expect.any(String) } });
    expect(await app().invoke('image.inspect', { path: join(dir, 'trap.img') })).toMatchObject({ ok: false, error: { code: 'NOT_AN_IMAGE' } });
    expect(seen).toHaveLength(1);
  });

  it('checks the block map too: named .bmap, a regular file once links are followed, bounded; the write gets real paths', async () => {
    await writeFile(join(dir, 'disk.img'), Buffer.alloc(16));
    const img = { kind: 'file', path: join(dir, 'disk.img') };
    const withBmap = (bmap: string) =>
      app().invoke('flash.start', { jobId: `job-b-${Math.random().toString(36).slice(2, 8)}`, source: img, bmap, targets: ['/dev/loop9'] });
    expect(await withBmap('/etc/shadow')).toMatchObject({ ok: false, error: { code: 'NOT_A_BMAP', hint: expect.any(String) } });
    await symlink('/etc/shadow', join(dir, 'trap.bmap'));
    expect(await withBmap(join(dir, 'trap.bmap'))).toMatchObject({
      ok: false,
      error: { code: 'NOT_A_BMAP', message: expect.stringContaining('is a link to /etc/shadow') },
    });
    await mkdir(join(dir, 'dir.bmap'));
    expect(await withBmap(join(dir, 'dir.bmap'))).toMatchObject({ ok: false, error: { code: 'BMAP_NOT_FOUND' } });
    expect(await withBmap(join(dir, 'missing.bmap'))).toMatchObject({ ok: false, error: { code: 'BMAP_NOT_FOUND' } });
    await writeFile(join(dir, 'huge.bmap'), '');
    await truncate(join(dir, 'huge.bmap'), 17 * 1024 * 1024);
    expect(await withBmap(join(dir, 'huge.bmap'))).toMatchObject({ ok: false, error: { code: 'BMAP_TOO_LARGE' } });
    expect(seen).toEqual([]);
    await writeFile(join(dir, 'disk.bmap'), '<bmap version="2.0"/>');
    await symlink(join(dir, 'disk.bmap'), join(dir, 'link.bmap'));
    await symlink(join(dir, 'disk.img'), join(dir, 'link.img'));
    const r = await app().invoke('flash.start', {
      jobId: 'job-b-real',
      source: { kind: 'file', path: join(dir, 'link.img') },
      bmap: join(dir, 'link.bmap'),
      targets: ['/dev/loop9'],
    });
    expect(r).toMatchObject({ ok: true });
    expect(seen[0]).toMatchObject({ source: { kind: 'file', path: await realpath(join(dir, 'disk.img')) }, bmap: await realpath(join(dir, 'disk.bmap')) });
  });
});
