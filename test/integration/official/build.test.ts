/**
 * The official-image recipe against a fixture OpenBSD mirror on 127.0.0.1: SHA256.sig signed by a test
 * signify key (node:crypto), good path, and each refusal (wrong key, tampered list, tampered image,
 * missing entry). Every failing build must leave no output image and nothing unverified in the cache.
 */
import { execa } from 'execa';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Catalog } from '../../../src-shared/catalog';
import { CustomizationSchema } from '../../../src-shared/customization';
import { officialPlanOf, type OfficialPlan } from '../../../src-shared/plan';
import type { PipelineEvent } from '../../../src-shared/progress';
import { buildOfficial, importOfficialEntries, officialExportEntries, OfficialStore } from '../../../src-main/engine/official';
import { appRoot } from '../../../src-main/engine/paths';
import { loadCatalog } from '../../../src-main/engine/catalog/load';
import { resolvePlan } from '../../../src-main/engine/plan/resolve';
import { serveDirectory, type TestHttpServer } from '../../support/http-server';
import { exportAll, importAll } from '../../../src-main/engine/cache-bundle';
import { fakeImage, makeSignifyKey, sha256List, signEmbedded, type TestSignifyKey } from '../../support/signify';

const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl puffy@example';
const IMAGE = fakeImage(3 * 1024 * 1024 + 123, 7);
const EFI = fakeImage(4096, 8);

let root: string;
let catalog: Catalog;
let signer: TestSignifyKey;
let keysDir: string;

/** Writes a mirror tree <dir>/8.0/arm64/ with the given files and returns its root. */
async function makeMirror(name: string, files: Record<string, Buffer>): Promise<string> {
  const dir = join(root, name);
  await mkdir(join(dir, '8.0', 'arm64'), { recursive: true });
  for (const [f, bytes] of Object.entries(files)) await writeFile(join(dir, '8.0', 'arm64', f), bytes);
  return dir;
}

const goodSig = () => signEmbedded(signer, sha256List({ 'BOOTAA64.EFI': EFI, 'INSTALL.arm64': Buffer.from('notes'), 'miniroot80.img': IMAGE }));

function planFor(out: string): OfficialPlan {
  return officialPlanOf(
    resolvePlan(catalog, {
      profile: 'openbox',
      arch: 'arm64',
      target: 'rpi5',
      fragments: ['base', 'mesh', 'media'],
      output: out,
      customization: CustomizationSchema.parse({ hostname: 'fortress', user: { name: 'puffy' }, sshKeys: [KEY] }),
    }),
  );
}

async function scenario(name: string) {
  const dir = join(root, `run-${name}`);
  await mkdir(dir, { recursive: true });
  return { out: join(dir, 'out', 'openbox-rpi5.img'), cache: join(dir, 'cache') };
}

async function blobs(cache: string): Promise<string[]> {
  const base = join(cache, 'blobs', 'sha256');
  if (!existsSync(base)) return [];
  const out: string[] = [];
  for (const d of await readdir(base)) out.push(...(await readdir(join(base, d))));
  return out;
}

const servers: TestHttpServer[] = [];
async function serve(dir: string): Promise<TestHttpServer> {
  const s = await serveDirectory(dir);
  servers.push(s);
  return s;
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'nexus-official-'));
  catalog = await loadCatalog();
  signer = makeSignifyKey('openbsd 8.0 base public key (nexus test key)');
  keysDir = join(root, 'keys');
  await mkdir(keysDir);
  await writeFile(join(keysDir, 'openbsd-80-base.pub'), signer.pubFile);
});

afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
  await rm(root, { recursive: true, force: true });
});

describe('official image from a signed fixture mirror', () => {
  it('good path: verified image, .sha256, install.conf and manifest; the second build comes from the cache', async () => {
    const mirror = await makeMirror('mirror-good', { 'SHA256.sig': goodSig(), 'miniroot80.img': IMAGE, 'BOOTAA64.EFI': EFI });
    const server = await serve(mirror);
    const { out, cache } = await scenario('good');
    const events: PipelineEvent[] = [];
    const result = await buildOfficial(planFor(out), { mirror: server.url, keysDir, onEvent: (e) => events.push(e) }, { cacheRoot: cache });

    const sha = (await import('node:crypto')).createHash('sha256').update(IMAGE).digest('hex');
    expect(result.sha256).toBe(sha);
    expect(result.size).toBe(IMAGE.length);
    expect(Buffer.compare(await readFile(out), IMAGE)).toBe(0);
    expect(await readFile(`${out}.sha256`, 'utf8')).toBe(`${sha}  openbox-rpi5.img\n`);
    expect(result.files.map((f) => f.kind).sort()).toEqual(['answers', 'checksum', 'image', 'manifest']);
    const answers = result.files.find((f) => f.kind === 'answers')!.path;
    expect((await stat(answers)).mode & 0o777).toBe(0o600);
    expect(await readFile(answers, 'utf8')).toMatch(/^System hostname = fortress$/m);
    const manifest = JSON.parse(await readFile(result.files.find((f) => f.kind === 'manifest')!.path, 'utf8'));
    expect(manifest.official.image).toMatchObject({ file: 'miniroot80.img', sha256: sha, fromCache: false });
    expect(manifest.official.verification.key.keynum).toBe(signer.keynum.toString('hex'));
    expect(manifest.packagesAfterInstall).toEqual(['ffmpeg', 'mpv']);
    expect(events.filter((e) => e.type === 'progress' && e.status === 'done').map((e) => e.stage)).toEqual([
      'official-checksums',
      'official-image',
      'official-answers',
      'official-output',
    ]);
    expect(server.count('/8.0/arm64/miniroot80.img')).toBe(1);
    expect((await readdir(join(out, '..'))).filter((f) => f.includes('.partial-'))).toEqual([]);

    // Again: the list is fetched and verified again, the image comes from the cache.
    const again = await buildOfficial(planFor(out), { mirror: server.url, keysDir }, { cacheRoot: cache });
    expect(again.sha256).toBe(sha);
    expect(server.count('/8.0/arm64/miniroot80.img')).toBe(1);
    expect(server.count('/8.0/arm64/SHA256.sig')).toBe(2);

    // Offline: list and image from the cache, both verified again.
    const off = await scenario('good-offline');
    const offline = await buildOfficial(planFor(off.out), { offline: true, keysDir }, { cacheRoot: cache });
    expect(offline.sha256).toBe(sha);
    expect(offline.warnings.join('\n')).toMatch(/Offline: using the SHA256.sig cached/);
    await expect(buildOfficial(planFor(off.out), { offline: true, keysDir }, { cacheRoot: join(root, 'empty-cache') })).rejects.toMatchObject({
      code: 'OFFLINE_MISSING',
    });
  });

  it('works from a local mirror directory too', async () => {
    const mirror = await makeMirror('mirror-local', { 'SHA256.sig': goodSig(), 'miniroot80.img': IMAGE });
    const { out, cache } = await scenario('local');
    const result = await buildOfficial(planFor(out), { mirror, keysDir }, { cacheRoot: cache });
    expect(Buffer.compare(await readFile(result.image), IMAGE)).toBe(0);
  });

  it('publishes its outputs together or not at all (issue 13): a sidecar name taken by a directory leaves no image, no partial', async () => {
    const mirror = await makeMirror('mirror-outputs', { 'SHA256.sig': goodSig(), 'miniroot80.img': IMAGE });
    const { out, cache } = await scenario('outputs');
    await mkdir(dirname(out), { recursive: true });
    await mkdir(out.replace(/\.img$/, '.install.conf'));
    const err = await buildOfficial(planFor(out), { mirror, keysDir }, { cacheRoot: cache }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toMatchObject({ code: 'OUTPUT_IS_DIRECTORY', hint: expect.any(String) });
    // Before: the image was renamed into place first, then a raw EISDIR left it without its checksum and manifest.
    expect(await readdir(dirname(out))).toEqual([basename(out).replace(/\.img$/, '.install.conf')]);
  });

  const refusals: Array<[string, () => Promise<Record<string, Buffer>>, string, RegExp, Record<string, string>?]> = [
    [
      'wrong key',
      async () => ({ 'SHA256.sig': signEmbedded(makeSignifyKey(), sha256List({ 'miniroot80.img': IMAGE })), 'miniroot80.img': IMAGE }),
      'SIGNIFY_KEY_MISMATCH',
      /was made by key [0-9a-f]{16}, not by the trusted key/,
    ],
    [
      'tampered list',
      async () => {
        const sig = goodSig();
        const text = sig.toString('latin1');
        const i = text.indexOf('(miniroot80.img) = ') + '(miniroot80.img) = '.length;
        const swapped = text.slice(0, i) + (text[i] === '0' ? '1' : '0') + text.slice(i + 1);
        return { 'SHA256.sig': Buffer.from(swapped, 'latin1'), 'miniroot80.img': IMAGE };
      },
      'SIGNIFY_BAD_SIGNATURE',
      /does not verify .* altered after signing/,
    ],
    [
      'tampered image',
      async () => {
        const evil = Buffer.from(IMAGE);
        evil[1_000_000] = evil[1_000_000]! ^ 0x01;
        return { 'SHA256.sig': goodSig(), 'miniroot80.img': evil };
      },
      'CHECKSUM_MISMATCH',
      /miniroot80.img from .* has SHA-256 [0-9a-f]{64}, but the signed SHA256.sig says/,
    ],
    [
      'missing entry',
      async () => ({ 'SHA256.sig': signEmbedded(signer, sha256List({ 'BOOTAA64.EFI': EFI, 'install80.img': IMAGE })), 'miniroot80.img': IMAGE }),
      'CHECKSUM_ENTRY_MISSING',
      /does not list "miniroot80.img"/,
    ],
  ];

  for (const [name, files, code, message] of refusals) {
    it(`refuses: ${name}`, async () => {
      const server = await serve(await makeMirror(`mirror-${name.replace(' ', '-')}`, await files()));
      const { out, cache } = await scenario(name.replace(' ', '-'));
      const err = await buildOfficial(planFor(out), { mirror: server.url, keysDir }, { cacheRoot: cache }).then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).toMatchObject({ code });
      expect((err as Error).message).toMatch(message);
      expect((err as { hint?: string }).hint).toBeTruthy();
      expect(existsSync(out)).toBe(false);
      expect(existsSync(`${out}.sha256`)).toBe(false);
      if (existsSync(join(out, '..'))) expect(await readdir(join(out, '..'))).toEqual([]);
      // Only verified SHA256.sig files may be in the cache, never an image that failed.
      const sha = (await import('node:crypto')).createHash('sha256').update(IMAGE).digest('hex');
      const stored = await blobs(cache);
      expect(stored).not.toContain(sha);
      if (code !== 'CHECKSUM_MISMATCH' && code !== 'CHECKSUM_ENTRY_MISSING') expect(stored).toEqual([]);
      if (existsSync(join(cache, 'tmp'))) expect(await readdir(join(cache, 'tmp'))).toEqual([]);
      if (existsSync(join(cache, 'official', 'partial'))) expect(await readdir(join(cache, 'official', 'partial'))).toEqual([]);
    });
  }

  it('moves with cache export/import: re-verified on import, then builds offline', async () => {
    const mirror = await makeMirror('mirror-export', { 'SHA256.sig': goodSig(), 'miniroot80.img': IMAGE });
    const a = await scenario('export-a');
    await buildOfficial(planFor(a.out), { mirror, keysDir }, { cacheRoot: a.cache });
    const entries = await officialExportEntries(new OfficialStore(a.cache));
    expect(entries.map((e) => e.name.replace(/[0-9a-f]{64}/, 'SHA'))).toEqual([
      'official/refs/openbsd/8.0/arm64.json',
      'official/blobs/SHA',
      'official/blobs/SHA',
    ]);

    const stage = async (tamper: boolean) => {
      const dir = await mkdtemp(join(root, 'stage-'));
      const staged = new Map<string, string>();
      for (const [i, e] of entries.entries()) {
        const bytes = Buffer.from(await readFile(e.path));
        if (tamper && e.name.startsWith('official/blobs/') && bytes.length === IMAGE.length) bytes[5] = bytes[5]! ^ 1;
        await writeFile(join(dir, String(i)), bytes);
        staged.set(e.name, join(dir, String(i)));
      }
      return staged;
    };
    const bad = await scenario('export-bad');
    await expect(importOfficialEntries(await stage(true), { store: new OfficialStore(bad.cache), keysDir })).rejects.toMatchObject({
      code: 'CHECKSUM_MISMATCH',
    });
    expect(await blobs(bad.cache)).toEqual([]);
    await expect(
      importOfficialEntries(await stage(false), { store: new OfficialStore(bad.cache), keysDir: join(appRoot(), 'resources', 'keys', 'openbsd') }),
    ).rejects.toMatchObject({ code: 'SIGNIFY_KEY_MISMATCH' });

    const b = await scenario('export-b');
    expect(await importOfficialEntries(await stage(false), { store: new OfficialStore(b.cache), keysDir })).toEqual({ releases: 1, files: 2 });
    const offline = await buildOfficial(planFor(b.out), { offline: true, keysDir }, { cacheRoot: b.cache });
    expect(Buffer.compare(await readFile(offline.image), IMAGE)).toBe(0);
  });

  it('travels in the one `nexus cache export` file with the packages, and builds offline after import', async () => {
    const mirror = await makeMirror('mirror-bundle', { 'SHA256.sig': goodSig(), 'miniroot80.img': IMAGE });
    const a = await scenario('bundle-a');
    await buildOfficial(planFor(a.out), { mirror, keysDir }, { cacheRoot: a.cache });
    const file = join(root, 'offline.nexus-cache');
    const apkKeys = join(appRoot(), 'resources', 'keys', 'alpine');
    expect(await exportAll(file, { keyDirs: [apkKeys], cacheRoot: a.cache })).toMatchObject({ packages: 0, extra: 3 });
    const b = await scenario('bundle-b');
    await expect(importAll(file, { apkKeysDir: apkKeys, cacheRoot: b.cache })).rejects.toMatchObject({ code: 'SIGNIFY_KEY_MISMATCH' });
    expect(await blobs(b.cache)).toEqual([]);
    expect((await importAll(file, { apkKeysDir: apkKeys, officialKeysDir: keysDir, cacheRoot: b.cache })).extra).toEqual({ releases: 1, files: 2 });
    const offline = await buildOfficial(planFor(b.out), { offline: true, keysDir }, { cacheRoot: b.cache });
    expect(Buffer.compare(await readFile(offline.image), IMAGE)).toBe(0);
  });

  it('falls back to the next mirror when one serves a bad signature, and says so', async () => {
    const evil = await serve(
      await makeMirror('mirror-evil', { 'SHA256.sig': signEmbedded(makeSignifyKey(), sha256List({ 'miniroot80.img': IMAGE })), 'miniroot80.img': IMAGE }),
    );
    const good = await serve(await makeMirror('mirror-second', { 'SHA256.sig': goodSig(), 'miniroot80.img': IMAGE }));
    const { out, cache } = await scenario('fallback');
    const base = planFor(out);
    const plan: OfficialPlan = { ...base, official: { ...base.official, mirrors: [evil.url, good.url] } };
    const result = await buildOfficial(plan, { keysDir }, { cacheRoot: cache });
    expect(Buffer.compare(await readFile(out), IMAGE)).toBe(0);
    expect(result.warnings.join('\n')).toMatch(/Skipped a mirror: .*was made by key/);
    expect(evil.count('/8.0/arm64/miniroot80.img')).toBe(0);
  });

  it('resumes an interrupted image download with HTTP Range and still checks the signed hash', async () => {
    const server = await serve(await makeMirror('mirror-flaky', { 'SHA256.sig': goodSig(), 'miniroot80.img': IMAGE }));
    server.faults.push({ path: '/8.0/arm64/miniroot80.img', cutAfter: 1_000_000, times: 1 });
    const { out, cache } = await scenario('resume');
    const result = await buildOfficial(planFor(out), { mirror: server.url, keysDir }, { cacheRoot: cache });
    expect(Buffer.compare(await readFile(result.image), IMAGE)).toBe(0);
    const gets = server.log.filter((r) => r.path === '/8.0/arm64/miniroot80.img');
    expect(gets.length).toBe(2);
    expect(gets[1]!.range).toMatch(/^bytes=\d+-$/);
    expect(gets[1]!.status).toBe(206);
  });

  it('cancels a download cleanly: no output, no partial file in the cache', async () => {
    const server = await serve(await makeMirror('mirror-slow', { 'SHA256.sig': goodSig(), 'miniroot80.img': IMAGE }));
    // The image's answer is held back; the cancel comes once its request arrives (after the signature was fetched
    // and verified), however slow the machine is.
    server.faults.push({ path: '/8.0/arm64/miniroot80.img', delayMs: 10_000 });
    const { out, cache } = await scenario('cancel');
    const ac = new AbortController();
    const building = buildOfficial(planFor(out), { mirror: server.url, keysDir, signal: ac.signal }, { cacheRoot: cache });
    await vi.waitFor(() => expect(server.count('/8.0/arm64/miniroot80.img')).toBe(1), { timeout: 30_000, interval: 20 });
    ac.abort();
    await expect(building).rejects.toMatchObject({ code: 'CANCELLED' });
    expect(existsSync(out)).toBe(false);
    expect(await readdir(join(cache, 'tmp'))).toEqual([]);
    expect(await blobs(cache)).toHaveLength(1); // the verified SHA256.sig only
  });

  it('refuses when the trusted key is missing', async () => {
    const { out, cache } = await scenario('nokey');
    await expect(
      buildOfficial(planFor(out), { mirror: join(root, 'mirror-good'), keysDir: join(root, 'no-such-dir') }, { cacheRoot: cache }),
    ).rejects.toMatchObject({ code: 'TRUSTED_KEY_MISSING' });
  });

  it('nexus build --profile=openbox --arch=arm64 --target=rpi5 end to end through the CLI', async () => {
    const server = await serve(await makeMirror('mirror-cli', { 'SHA256.sig': goodSig(), 'miniroot80.img': IMAGE }));
    const { out, cache } = await scenario('cli');
    const r = await execa(
      'node',
      [
        join(appRoot(), 'bin', 'nexus.js'),
        'build',
        '--profile=openbox',
        '--arch=arm64',
        '--target=rpi5',
        '--fragments=base,mesh,media',
        `--output=${out}`,
        `--mirror=${server.url}`,
        `--keys=${keysDir}`,
      ],
      { env: { NEXUS_CACHE_DIR: cache }, reject: false },
    );
    expect(r.exitCode, r.stderr).toBe(0);
    expect(Buffer.compare(await readFile(out), IMAGE)).toBe(0);
    expect(existsSync(join(out, '..', 'openbox-rpi5.install.conf'))).toBe(true);
    // The Pi 5's steps for OpenBSD, with the real answers path to serve.
    expect(r.stdout).toContain(`nexus serve-answers ${join(out, '..', 'openbox-rpi5.install.conf')}`);
    expect(r.stdout).toMatch(/set tty fb0/);
    expect(r.stdout).not.toMatch(/green LED/);
  }, 60_000);
});
