import { mkdtemp, readFile, rm, unlink, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { CancelledError, NexusError } from '../../../src-shared/errors';
import type { Payload } from '../../../src-shared/contract';
import type { Drive } from '../../../src-shared/drives';
import { createApp } from '../../../src-main/app/create-app';
import { loadCatalog } from '../../../src-main/engine/catalog/load';
import type { AppPorts } from '../../../src-main/app/ports';
import { defaultPorts } from '../../../src-main/app/default-ports';
import type { BuildOutputFile } from '../../../src-main/engine/build-types';
import { createThrottle } from '../../../src-main/app/throttle';

const progress = (stage: string, fraction: number, status: 'running' | 'done' = 'running') => ({
  type: 'progress' as const,
  stage,
  status,
  fraction,
  bytesDone: null,
  bytesTotal: null,
  rate: null,
  etaSeconds: null,
  message: '',
});

function fakePorts(over: Partial<AppPorts> = {}): AppPorts {
  return {
    loadCatalog: async () => {
      throw new Error('unused');
    },
    resourcesDir: () => '/nonexistent',
    build: async () => {
      throw new Error('unused');
    },
    bootTest: async () => ({ passed: true, seconds: 1, log: '' }),
    listDrives: async () => [],
    async *watchDrives() {},
    flash: async () => {
      throw new Error('unused');
    },
    qemuArches: async () => ['x86_64'],
    pickImage: async () => null,
    imageSize: defaultPorts().imageSize,
    backup: async () => {
      throw new Error('unused');
    },
    ...over,
  };
}

let dir: string | null = null;
afterEach(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
  dir = null;
});
async function app(ports: Partial<AppPorts> = {}) {
  dir = await mkdtemp(join(tmpdir(), 'nexus-app-test-'));
  return createApp(fakePorts(ports), { version: '9.9', transport: 'memory', configDir: dir, outputDir: dir }, { checkResponses: true, throttleMs: 100 });
}

describe('dispatcher', () => {
  it('refuses unknown commands and invalid requests with {code, message, hint}', async () => {
    const d = await app();
    expect(await d.invoke('fs.readFile', {})).toMatchObject({ ok: false, error: { code: 'UNKNOWN_COMMAND' } });
    const r = await d.invoke('password.hash', { password: '' });
    expect(r).toMatchObject({ ok: false, error: { code: 'INVALID_REQUEST', hint: expect.any(String) } });
    expect(r.ok ? '' : r.error.message).toContain('password');
    expect(await d.invoke('system.info', {})).toEqual({
      ok: true,
      value: { version: '9.9', platform: process.platform, transport: 'memory', qemu: ['x86_64'] },
    });
  });

  it('carries engine errors across as data, hint included, never a stack', async () => {
    const d = await app({
      listDrives: async () => {
        throw new NexusError('DRIVELIST_UNAVAILABLE', 'cannot list', 'reinstall');
      },
    });
    expect(await d.invoke('drives.list', {})).toEqual({ ok: false, error: { code: 'DRIVELIST_UNAVAILABLE', message: 'cannot list', hint: 'reinstall' } });
  });

  it('cancels a running job by id through job.cancel, and only that job', async () => {
    let seen: AbortSignal | null = null;
    const d = await app({
      flash: (_req, { signal }) =>
        new Promise((_, reject) => {
          seen = signal;
          signal.addEventListener('abort', () => reject(new CancelledError()));
        }),
    });
    const req = { jobId: 'write-1', source: { kind: 'file', path: '/x.img' }, targets: ['/dev/loop9'] };
    const stages: string[] = [];
    d.subscribe('flash.stage', (p) => stages.push(`${(p as Payload<'flash.stage'>).event.stage}:${(p as Payload<'flash.stage'>).event.status}`));
    const running = d.invoke('flash.start', req);
    await vi.waitFor(() => expect(seen).not.toBeNull());
    expect(await d.invoke('flash.start', req)).toMatchObject({ ok: false, error: { code: 'JOB_EXISTS' } });
    expect(await d.invoke('job.cancel', { jobId: 'write-2' })).toMatchObject({ ok: false, error: { code: 'NO_SUCH_JOB' } });
    expect(await d.invoke('job.cancel', { jobId: 'write-1' })).toEqual({ ok: true, value: { ok: true } });
    expect(await running).toMatchObject({ ok: false, error: { code: 'CANCELLED' } });
    expect(d.jobs.running()).toBe(0);
    // The write runs through the runner: its stages report like a build's.
    expect(stages.filter((s) => !s.endsWith(':pending'))).toEqual([
      'flash-write:running',
      'flash-write:cancelled',
      'flash-verify:skipped',
      'flash-finish:skipped',
    ]);
  });

  it('throttles progress to about 10 per second per job but never drops a stage change or the last update', async () => {
    const got: Array<Payload<'build.progress'>> = [];
    const d = await app({
      loadCatalog: async () => {
        throw new NexusError('X', 'stop here');
      },
    });
    d.subscribe('build.progress', (p) => got.push(p as Payload<'build.progress'>));
    for (let i = 0; i < 200; i++) d.emit('build.progress', { jobId: 'job-aaaa', event: progress('fetch', i / 200) });
    d.emit('build.progress', { jobId: 'job-aaaa', event: progress('fetch', 1, 'done') });
    d.emit('build.progress', { jobId: 'job-bbbb', event: progress('fetch', 0.5) });
    expect(got.length).toBeLessThanOrEqual(4);
    expect(got.some((p) => p.event.status === 'done')).toBe(true);
    expect(got.some((p) => p.jobId === 'job-bbbb')).toBe(true);
    d.close();
  });

  it('throttles every progress stream the contract declares (not the others), and sends the held-back last one before the response', async () => {
    const seen: number[] = [];
    const d = await app({
      imageSize: async (_path, { onProgress }) => {
        for (let i = 1; i <= 100; i++) onProgress?.(i, 100);
        return { size: 100, exact: true };
      },
    });
    const image = join(dir!, 'count.img.gz');
    await writeFile(image, 'x');
    d.subscribe('image.progress', (p) => seen.push((p as Payload<'image.progress'>).bytesRead));
    const r = await d.invoke('image.measure', { jobId: 'job-count', path: image });
    expect(r).toMatchObject({ ok: true });
    expect(seen.length).toBeLessThan(10);
    expect(seen.at(-1)).toBe(100); // delivered before the response resolved
    // A stream that is not a progress stream (console text) is never held back.
    const text: string[] = [];
    d.subscribe('vm.console', (p) => text.push((p as Payload<'vm.console'>).text));
    for (let i = 0; i < 50; i++) d.emit('vm.console', { jobId: 'job-vm', text: `${i}`, marker: null });
    expect(text).toHaveLength(50);
    d.close();
  });

  it('starts the drive watcher with the first subscriber and stops it with the last', async () => {
    let active = 0;
    const drive: Drive = {
      device: '/dev/loop7',
      raw: '/dev/loop7',
      description: 'loop',
      size: 1 << 26,
      blockSize: 512,
      logicalBlockSize: 512,
      bus: 'LOOP',
      removable: true,
      usb: false,
      card: false,
      system: false,
      readOnly: false,
      virtual: true,
      mountpoints: [],
      source: 'extra',
    };
    const d = await app({
      async *watchDrives(signal) {
        active++;
        yield [drive];
        await new Promise((r) => signal.addEventListener('abort', r));
        active--;
      },
    });
    const seen: unknown[] = [];
    const stopA = d.subscribe('drives.changed', (p) => seen.push(p));
    const stopB = d.subscribe('drives.changed', () => undefined);
    await vi.waitFor(() => expect(seen).toEqual([{ drives: [drive] }]));
    expect(active).toBe(1);
    stopA();
    expect(active).toBe(1);
    stopB();
    await vi.waitFor(() => expect(active).toBe(0));
  });

  it('remembers settings without secrets, and the history of builds', async () => {
    const d = await app();
    expect(await d.invoke('settings.save', { box: 'tinybox', customization: { hostname: 'pi', wifiPassphrase: 'hunter22' } })).toMatchObject({
      ok: false,
      error: { code: 'INVALID_REQUEST' },
    });
    expect(await d.invoke('settings.save', { box: 'tinybox', arch: 'arm64', customization: { hostname: 'pi', userName: 'alice' } })).toMatchObject({
      ok: true,
    });
    const file = await readFile(join(dir!, 'settings.json'), 'utf8');
    expect(JSON.parse(file)).toMatchObject({ box: 'tinybox', arch: 'arm64', customization: { hostname: 'pi', userName: 'alice' } });
    expect(await d.invoke('settings.get', {})).toMatchObject({ ok: true, value: { box: 'tinybox' } });
    expect(await d.invoke('history.list', {})).toEqual({ ok: true, value: [] });
  });
});

describe('image.inspect', () => {
  it('gives the size of an existing image, whether it is compressed, and its block map next to it', async () => {
    const d = await app();
    await writeFile(join(dir!, 'disk.img'), Buffer.alloc(4096));
    expect(await d.invoke('image.inspect', { path: join(dir!, 'disk.img') })).toEqual({
      ok: true,
      value: { path: join(dir!, 'disk.img'), size: 4096, compressed: false, bmap: null, imageSize: 4096 },
    });
    await writeFile(join(dir!, 'disk.bmap'), '<bmap/>');
    await writeFile(join(dir!, 'disk.img.xz'), Buffer.alloc(10));
    expect(await d.invoke('image.inspect', { path: join(dir!, 'disk.img.xz') })).toMatchObject({
      ok: true,
      value: { compressed: true, bmap: join(dir!, 'disk.bmap') },
    });
    expect(await d.invoke('image.inspect', { path: join(dir!, 'notes.txt') })).toMatchObject({ ok: false, error: { code: 'NOT_AN_IMAGE' } });
  });
});

describe('openbox builds in the app', () => {
  async function built(box: 'openbox' | 'tinybox') {
    const d = await app({
      loadCatalog: () => loadCatalog(),
      build: async (plan) => {
        const image = join(dir!, `${box}.img`);
        const answers = join(dir!, `${box}.install.conf`);
        await writeFile(image, 'image');
        const files: BuildOutputFile[] = [{ kind: 'image', path: image, size: 5 }];
        if (box === 'openbox') {
          await writeFile(answers, 'System hostname = fortress\n');
          files.push({ kind: 'answers', path: answers, size: 27 });
        }
        return { plan, image, sha256: 'a'.repeat(64), size: 5, files, packageCount: 0, warnings: [] };
      },
    });
    const r = await d.invoke('build.start', { jobId: 'job-build', build: { profile: box, target: box === 'openbox' ? 'rpi5' : 'qemu-x86_64' } });
    if (!r.ok) throw new Error(r.error.message);
    return { d, historyId: (r.value as { historyId: string }).historyId };
  }

  it('refuses to share answers a build does not have, or that are gone, and to "try" an installer in a VM', async () => {
    const tiny = await built('tinybox');
    expect(await tiny.d.invoke('answers.serve', { jobId: 'job-share', historyId: tiny.historyId })).toMatchObject({ ok: false, error: { code: 'NO_ANSWERS' } });
    expect(await tiny.d.invoke('answers.serve', { jobId: 'job-share', historyId: 'nope' })).toMatchObject({ ok: false, error: { code: 'NO_SUCH_BUILD' } });
    expect(await tiny.d.invoke('answers.serve', { jobId: 'job-share', historyId: tiny.historyId, port: 80 })).toMatchObject({
      ok: false,
      error: { code: 'INVALID_REQUEST' },
    });
    expect(await tiny.d.invoke('job.cancel', { jobId: 'job-share' })).toMatchObject({ ok: false, error: { code: 'NO_SUCH_JOB' } });
    await rm(dir!, { recursive: true, force: true });
    const obsd = await built('openbox');
    expect(await obsd.d.invoke('vm.try', { jobId: 'job-vm', historyId: obsd.historyId })).toMatchObject({ ok: false, error: { code: 'VM_UNSUPPORTED' } });
    await unlink(join(dir!, 'openbox.install.conf'));
    expect(await obsd.d.invoke('answers.serve', { jobId: 'job-share', historyId: obsd.historyId })).toMatchObject({
      ok: false,
      error: { code: 'ANSWERS_MISSING' },
    });
  });

  it('shares the answers until stopped, reporting URLs and fetches as events', async () => {
    const { d, historyId } = await built('openbox');
    const ready: Payload<'answers.ready'>[] = [];
    const fetched: Payload<'answers.request'>[] = [];
    d.subscribe('answers.ready', (p) => ready.push(p as Payload<'answers.ready'>));
    d.subscribe('answers.request', (p) => fetched.push(p as Payload<'answers.request'>));
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', () => r()));
    const { port } = probe.address() as { port: number };
    await new Promise<void>((r) => probe.close(() => r()));
    const serving = d.invoke('answers.serve', { jobId: 'job-share', historyId, port });
    await vi.waitFor(() => expect(ready).toHaveLength(1));
    expect(ready[0]!.urls.every((u) => u.endsWith(`:${port}/install.conf`))).toBe(true);
    expect(await (await fetch(`http://127.0.0.1:${port}/install.conf`)).text()).toBe('System hostname = fortress\n');
    expect(fetched.map((f) => [f.jobId, f.request.path, f.request.status])).toEqual([['job-share', '/install.conf', 200]]);
    expect(await d.invoke('job.cancel', { jobId: 'job-share' })).toEqual({ ok: true, value: { ok: true } });
    expect(await serving).toEqual({ ok: true, value: { fetches: 1 } });
    await expect(fetch(`http://127.0.0.1:${port}/install.conf`)).rejects.toThrow();
  });
});

describe('throttle', () => {
  it('sends the held-back value when the interval ends', async () => {
    const sent: number[] = [];
    const t = createThrottle<number>((v) => sent.push(v), 30);
    t.push('k', 'a', 1);
    t.push('k', 'a', 2);
    t.push('k', 'a', 3);
    expect(sent).toEqual([1]);
    await new Promise((r) => setTimeout(r, 60));
    expect(sent).toEqual([1, 3]);
    t.close();
  });
});
