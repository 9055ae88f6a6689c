import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { CancelledError, NexusError } from '../../../src-shared/errors';
import type { Payload } from '../../../src-shared/contract';
import type { Drive } from '../../../src-shared/drives';
import { createApp } from '../../../src-main/app/create-app';
import type { AppPorts } from '../../../src-main/app/ports';
import { createThrottle } from '../../../src-main/app/throttle';

const progress = (stage: string, fraction: number, status: 'running' | 'done' = 'running') => ({
  type: 'progress' as const, stage, status, fraction, bytesDone: null, bytesTotal: null, rate: null, etaSeconds: null, message: '',
});

function fakePorts(over: Partial<AppPorts> = {}): AppPorts {
  return {
    loadCatalog: async () => { throw new Error('unused'); },
    resourcesDir: () => '/nonexistent',
    build: async () => { throw new Error('unused'); },
    bootTest: async () => ({ passed: true, seconds: 1, log: '' }),
    listDrives: async () => [],
    async *watchDrives() {},
    flash: async () => { throw new Error('unused'); },
    qemuArches: async () => ['x86_64'],
    pickImage: async () => null,
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
    expect(await d.invoke('system.info', {})).toEqual({ ok: true, value: { version: '9.9', platform: process.platform, transport: 'memory', qemu: ['x86_64'] } });
  });

  it('carries engine errors across as data, hint included, never a stack', async () => {
    const d = await app({ listDrives: async () => { throw new NexusError('DRIVELIST_UNAVAILABLE', 'cannot list', 'reinstall'); } });
    expect(await d.invoke('drives.list', {})).toEqual({ ok: false, error: { code: 'DRIVELIST_UNAVAILABLE', message: 'cannot list', hint: 'reinstall' } });
  });

  it('cancels a running job by id through its cancel command, and only that job', async () => {
    let seen: AbortSignal | null = null;
    const d = await app({
      flash: (_req, { signal }) => new Promise((_, reject) => {
        seen = signal;
        signal.addEventListener('abort', () => reject(new CancelledError()));
      }),
    });
    const req = { jobId: 'write-1', source: { kind: 'file', path: '/x.img' }, targets: ['/dev/loop9'] };
    const running = d.invoke('flash.start', req);
    await vi.waitFor(() => expect(seen).not.toBeNull());
    expect(await d.invoke('flash.start', req)).toMatchObject({ ok: false, error: { code: 'JOB_EXISTS' } });
    expect(await d.invoke('build.cancel', { jobId: 'write-1' })).toMatchObject({ ok: false, error: { code: 'NO_SUCH_JOB' } });
    expect(await d.invoke('flash.cancel', { jobId: 'write-1' })).toEqual({ ok: true, value: { ok: true } });
    expect(await running).toMatchObject({ ok: false, error: { code: 'CANCELLED' } });
    expect(d.jobs.running()).toBe(0);
  });

  it('throttles progress to about 10 per second per job but never drops a stage change or the last update', async () => {
    const got: Array<Payload<'build.progress'>> = [];
    const d = await app({
      loadCatalog: async () => { throw new NexusError('X', 'stop here'); },
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

  it('starts the drive watcher with the first subscriber and stops it with the last', async () => {
    let active = 0;
    const drive: Drive = {
      device: '/dev/loop7', raw: '/dev/loop7', description: 'loop', size: 1 << 26, blockSize: 512, logicalBlockSize: 512, bus: 'LOOP',
      removable: true, usb: false, card: false, system: false, readOnly: false, virtual: true, mountpoints: [], source: 'extra',
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
    expect(await d.invoke('settings.save', { box: 'tinybox', customization: { hostname: 'pi', wifiPassphrase: 'hunter22' } })).toMatchObject({ ok: false, error: { code: 'INVALID_REQUEST' } });
    expect(await d.invoke('settings.save', { box: 'tinybox', arch: 'arm64', customization: { hostname: 'pi', userName: 'alice' } })).toMatchObject({ ok: true });
    const file = await readFile(join(dir!, 'settings.json'), 'utf8');
    expect(JSON.parse(file)).toMatchObject({ box: 'tinybox', arch: 'arm64', customization: { hostname: 'pi', userName: 'alice' } });
    expect(await d.invoke('settings.get', {})).toMatchObject({ ok: true, value: { box: 'tinybox' } });
    expect(await d.invoke('history.list', {})).toEqual({ ok: true, value: [] });
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
