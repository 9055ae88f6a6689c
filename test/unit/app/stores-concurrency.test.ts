/**
 * Issue 13: 40 concurrent settings.save calls used to share one temporary file name and 39 failed; the history
 * store had the same pattern plus a read-modify-write race. Every save must succeed, the file must stay valid JSON
 * equal to one of the saves, no temporary file may be left, and no history change may be lost.
 */
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Settings } from '../../../src-shared/contract';
import { createApp } from '../../../src-main/app/create-app';
import { HistoryStore } from '../../../src-main/app/history-store';
import { SettingsStore } from '../../../src-main/app/settings-store';
import type { AppPorts } from '../../../src-main/app/ports';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'nexus-stores-'));
});
afterEach(async () => rm(dir, { recursive: true, force: true }));

const N = 40;
const settingsN = (i: number) => Settings.parse({ box: `box-${i}`, arch: i % 2 ? 'arm64' : 'x86_64', customization: { hostname: `host-${i}` } });
const entry = (i: number) => ({
  id: `build-${i}`,
  time: i,
  box: 'tinybox',
  arch: 'x86_64' as const,
  board: 'pc',
  fragments: [],
  image: `/images/tinybox-${i}.img`,
  sha256: 'a'.repeat(64),
  size: i,
  manifest: null,
  bmap: null,
  answers: null,
});

describe('settings store under concurrent saves', () => {
  it(`${N} concurrent saves all succeed; the file is valid JSON equal to one of them; no temporary file is left`, async () => {
    const store = new SettingsStore(dir);
    const saves = Array.from({ length: N }, (_, i) => settingsN(i));
    const results = await Promise.allSettled(saves.map((s) => store.save(s)));
    expect(results.filter((r) => r.status === 'rejected')).toEqual([]);
    const onDisk: unknown = JSON.parse(await readFile(join(dir, 'settings.json'), 'utf8'));
    expect(saves).toContainEqual(onDisk);
    expect(onDisk).toEqual(saves[N - 1]); // writers of one file run in call order: the last call wins
    expect(await readdir(dir)).toEqual(['settings.json']);
    expect((await stat(join(dir, 'settings.json'))).mode & 0o777).toBe(0o600);
    expect(await store.get()).toEqual(saves[N - 1]);
  });

  it('two stores on the same directory (the same file) share the lock', async () => {
    const a = new SettingsStore(dir);
    const b = new SettingsStore(`${dir}/.`);
    const results = await Promise.allSettled(Array.from({ length: N }, (_, i) => (i % 2 ? a : b).save(settingsN(i))));
    expect(results.every((r) => r.status === 'fulfilled')).toBe(true);
    expect(JSON.parse(await readFile(join(dir, 'settings.json'), 'utf8'))).toEqual(settingsN(N - 1));
    expect(await readdir(dir)).toEqual(['settings.json']);
  });

  it('through the dispatcher, as `nexus serve` runs it: 40 concurrent settings.save all answer ok', async () => {
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
      flash: unused,
      qemuArches: async () => [],
      pickImage: async () => null,
      imageSize: unused,
      backup: unused,
    } satisfies AppPorts;
    const d = createApp(ports, { version: '0', transport: 'memory', configDir: dir, outputDir: dir }, { checkResponses: true });
    const saves = Array.from({ length: N }, (_, i) => ({ box: `box-${i}`, customization: { hostname: `host-${i}` } }));
    const answers = await Promise.all(saves.map((s) => d.invoke('settings.save', s)));
    expect(answers.filter((a) => !a.ok)).toEqual([]);
    const onDisk = JSON.parse(await readFile(join(dir, 'settings.json'), 'utf8')) as Settings;
    expect(saves.map((s) => Settings.parse(s))).toContainEqual(onDisk);
    d.close();
  });
});

describe('history store under concurrent changes', () => {
  it(`${N} concurrent adds all succeed and none is lost (read-modify-write under the lock)`, async () => {
    const store = new HistoryStore(dir);
    const results = await Promise.allSettled(Array.from({ length: N }, (_, i) => store.add(entry(i))));
    expect(results.filter((r) => r.status === 'rejected')).toEqual([]);
    const list = await store.list();
    expect(list).toHaveLength(N);
    expect(list.map((e) => e.id)).toEqual(Array.from({ length: N }, (_, i) => `build-${N - 1 - i}`)); // newest first
    expect(await readdir(dir)).toEqual(['history.json']);
  });

  it('concurrent adds and removes interleave without losing a change', async () => {
    const store = new HistoryStore(dir);
    await Promise.all(Array.from({ length: 10 }, (_, i) => store.add(entry(i))));
    await Promise.all([
      ...Array.from({ length: 5 }, (_, i) => store.remove(`build-${i * 2}`)),
      ...Array.from({ length: 10 }, (_, i) => store.add(entry(100 + i))),
    ]);
    const ids = (await store.list()).map((e) => e.id).sort();
    expect(ids).toEqual([1, 3, 5, 7, 9, ...Array.from({ length: 10 }, (_, i) => 100 + i)].map((i) => `build-${i}`).sort());
    expect(JSON.parse(await readFile(join(dir, 'history.json'), 'utf8'))).toHaveLength(15);
  });

  it('a failed write leaves the old file and the lock free for the next writer', async () => {
    const store = new HistoryStore(dir);
    await store.add(entry(1));
    const bad = { ...entry(2), size: 10n } as unknown as ReturnType<typeof entry>; // JSON.stringify throws on a BigInt
    await expect(store.add(bad)).rejects.toThrow();
    await store.add(entry(3));
    expect((await store.list()).map((e) => e.id)).toEqual(['build-3', 'build-1']);
    expect(await readdir(dir)).toEqual(['history.json']);
  });
});
