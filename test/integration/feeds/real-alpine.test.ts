/**
 * Real, officially signed Alpine indexes and packages (../shared/testdata/alpine): signatures verify
 * with the right keys and fail with a wrong key, a flipped byte, a missing signature or a truncated
 * member; C:/S: match the indexes; resolution against the real v3.22 x86_64 main index.
 */
import { createPublicKey } from 'node:crypto';
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { execa } from 'execa';
import tarStream from 'tar-stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  FeedCache,
  loadTrustedKeys,
  readApkIndex,
  resolvePackages,
  verifyApkFile,
  verifyApkHeader,
  type ApkIndex,
  type TrustedKeys,
} from '../../../src-main/engine/feeds';
import { newUnpackState, unpackApk } from '../../../src-main/engine/feeds/extract';
import { installedDb } from '../../../src-main/engine/image/config/apk';
import { readGzipMembers } from '../../../src-main/engine/feeds/gzip-members';
import { alpineTestdata, keyFile, OFFICIAL_INDEXES, OFFICIAL_PACKAGES } from '../../support/alpine-testdata';

const official = (f: string) => alpineTestdata('official', f);
const repo = (name: string, arch = 'x86_64', branch = 'v3.22') => ({ name, arch, branch, base: '' });

let allKeys: TrustedKeys;
let tmp: string;

/** Trusted keys with `name` mapped to the wrong key material (a key swapped under the right file name). */
function wrongKeyUnder(name: string): TrustedKeys {
  const other = [...allKeys.entries()].find(
    ([n, k]) => n !== name && k.asymmetricKeyDetails?.modulusLength === allKeys.get(name)!.asymmetricKeyDetails?.modulusLength,
  )!;
  return new Map([[name, other[1]]]);
}

beforeAll(async () => {
  allKeys = await loadTrustedKeys(alpineTestdata('keys'));
  tmp = await mkdtemp(join(tmpdir(), 'nexus-real-apk-'));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

describe('official indexes', () => {
  it.each(OFFICIAL_INDEXES)('$file verifies with $key and parses every record', async (ix) => {
    const bytes = await readFile(official(ix.file));
    const keys = new Map([[keyFile(ix.key), allKeys.get(keyFile(ix.key))!]]);
    const idx = await readApkIndex(bytes, repo(ix.repo, ix.arch, ix.branch), keys);
    expect(idx.signer).toBe(keyFile(ix.key));
    expect(idx.description).toBe(ix.description);
    expect(idx.packages.length).toBe(ix.records);
    for (const p of idx.packages) {
      expect(p.checksum).toMatch(/^Q1[A-Za-z0-9+/]{27}=$/);
      expect(p.size).toBeGreaterThan(0);
    }
  });

  it.each(OFFICIAL_INDEXES)('$file fails with a wrong key, an untrusted key, a flipped byte, no signature, a truncated member', async (ix) => {
    const bytes = await readFile(official(ix.file));
    const r = repo(ix.repo, ix.arch, ix.branch);
    const name = keyFile(ix.key);
    await expect(readApkIndex(bytes, r, wrongKeyUnder(name))).rejects.toMatchObject({ code: 'BAD_SIGNATURE' });
    const others = new Map([...allKeys].filter(([n]) => n !== name));
    await expect(readApkIndex(bytes, r, others)).rejects.toMatchObject({ code: 'UNTRUSTED_SIGNATURE' });
    const [sig, body] = readGzipMembers(bytes, ix.file)!;
    // A flipped bit in member 2's gzip header (MTIME) keeps it inflatable: only the signature catches it.
    const flipped = Buffer.from(bytes);
    flipped[body!.start + 5]! ^= 0x01;
    await expect(readApkIndex(flipped, r, allKeys)).rejects.toMatchObject({ code: 'BAD_SIGNATURE' });
    // A flipped byte inside the deflate data is caught as a corrupt member or a bad signature.
    const flipped2 = Buffer.from(bytes);
    flipped2[body!.start + 2000]! ^= 0x40;
    await expect(readApkIndex(flipped2, r, allKeys)).rejects.toMatchObject({ code: expect.stringMatching(/BAD_SIGNATURE|BAD_GZIP/) });
    await expect(readApkIndex(bytes.subarray(sig!.end), r, allKeys)).rejects.toMatchObject({ code: 'UNSIGNED' });
    await expect(readApkIndex(bytes.subarray(0, body!.start + 5000), r, allKeys)).rejects.toMatchObject({ code: 'TRUNCATED_FILE' });
  });

  it('accepts the RSA256 multi-signature index when any one of its three keys is trusted', async () => {
    const dir = alpineTestdata('third-party', 'chainguard-rsa256-multisig');
    const bytes = await readFile(join(dir, 'APKINDEX.tar.gz'));
    const keys = await loadTrustedKeys(join(dir, 'keys'));
    expect(keys.size).toBe(3);
    for (const [name, key] of keys) {
      const idx = await readApkIndex(bytes, repo('main', 'aarch64'), new Map([[name, key]]));
      expect(idx.signer).toBe(name);
      expect(idx.packages.length).toBe(16);
    }
    await expect(readApkIndex(bytes, repo('main', 'aarch64'), allKeys)).rejects.toMatchObject({ code: 'UNTRUSTED_SIGNATURE' });
  });

  it('refuses APK v3 (ADB) files with a clear message', async () => {
    const adb = Buffer.concat([Buffer.from('ADBd'), Buffer.alloc(64)]);
    await expect(readApkIndex(adb, repo('main'), allKeys)).rejects.toMatchObject({ code: 'APK_V3_UNSUPPORTED', message: expect.stringContaining('APK v3') });
    const f = join(tmp, 'v3.apk');
    await writeFile(f, adb);
    await expect(verifyApkFile(f, allKeys)).rejects.toMatchObject({ code: 'APK_V3_UNSUPPORTED' });
  });
});

describe('official and third-party packages', () => {
  const indexCache = new Map<string, ApkIndex>();
  const indexOf = async (file: string, keys: TrustedKeys) => {
    if (!indexCache.has(file)) indexCache.set(file, await readApkIndex(await readFile(file), repo('main', 'x86_64', 'v3.12'), keys));
    return indexCache.get(file)!;
  };

  it.each(OFFICIAL_PACKAGES)('$file verifies with $key; C: and S: match its index', async (p) => {
    const path = official(p.file);
    const v = await verifyApkFile(path, new Map([[keyFile(p.key), allKeys.get(keyFile(p.key))!]]));
    expect(v.signer).toBe(keyFile(p.key));
    if (p.key === '616ae350') expect(v.checksum).toBe('Q1LLq2qDNrS/qRnhxQ3hsY/sHbQnc=');
    if (p.index) {
      const idx = await indexOf(official(p.index), allKeys);
      const entry = idx.packages.find((x) => x.name === v.pkginfo.name && x.version === v.pkginfo.version)!;
      expect(entry).toBeDefined();
      expect(v.checksum).toBe(entry.checksum);
      expect(v.fileSize).toBe(entry.size);
      await verifyApkFile(path, allKeys, { checksum: entry.checksum, size: entry.size });
    }
  });

  it('glibc-bin (sgerrand) verifies with its own key and matches its index', async () => {
    const dir = alpineTestdata('third-party', 'sgerrand-glibc');
    const keys = await loadTrustedKeys(dir);
    const idx = await readApkIndex(await readFile(join(dir, 'APKINDEX.tar.gz')), repo('sgerrand'), keys);
    expect(idx.signer).toBe('sgerrand.rsa.pub');
    const entry = idx.packages.find((x) => x.name === 'glibc-bin')!;
    const v = await verifyApkFile(join(dir, 'glibc-bin-2.33-r0.apk'), keys, { checksum: entry.checksum, size: entry.size });
    expect(v.scripts.has('trigger')).toBe(true);
  });

  it.each(OFFICIAL_PACKAGES)('$file fails with a wrong key, a flipped byte, no signature, a truncated member', async (p) => {
    const path = official(p.file);
    const bytes = await readFile(path);
    const name = keyFile(p.key);
    await expect(verifyApkFile(path, wrongKeyUnder(name))).rejects.toMatchObject({ code: 'BAD_SIGNATURE' });
    const [sig, control, data] = readGzipMembers(bytes, p.file)!;
    const write = async (label: string, b: Buffer) => {
      const f = join(tmp, `${label}-${p.file.replace(/\//g, '_')}`);
      await writeFile(f, b);
      return f;
    };
    const ctl = Buffer.from(bytes);
    ctl[control!.start + 5]! ^= 0x01; // control member header: still inflates, signature and C: break
    await expect(verifyApkFile(await write('ctl', ctl), allKeys)).rejects.toMatchObject({ code: 'BAD_SIGNATURE' });
    const entry = { checksum: (await verifyApkFile(path, allKeys)).checksum };
    await expect(verifyApkFile(await write('ctl2', ctl), allKeys, entry)).rejects.toMatchObject({ code: 'CHECKSUM_MISMATCH' });
    const dat = Buffer.from(bytes);
    dat[data!.start + 4]! ^= 0x01; // data member header: only the datahash can tell
    await expect(verifyApkFile(await write('dat', dat), allKeys)).rejects.toMatchObject({ code: 'DATAHASH_MISMATCH' });
    await expect(verifyApkFile(await write('nosig', bytes.subarray(sig!.end)), allKeys)).rejects.toMatchObject({ code: 'UNSIGNED' });
    await expect(verifyApkFile(await write('trunc', bytes.subarray(0, control!.start + 100)), allKeys)).rejects.toMatchObject({ code: 'TRUNCATED_FILE' });
    await expect(verifyApkFile(await write('trunc2', bytes.subarray(0, bytes.length - 10)), allKeys, { size: bytes.length })).rejects.toMatchObject({
      code: 'SIZE_MISMATCH',
    });
  });

  it('unpacks real packages into the manifest, checking every PAX SHA-1 written by abuild-tar', async () => {
    const cache = new FeedCache(join(tmp, 'cache'));
    const state = newUnpackState();
    for (const f of ['packages/x86_64/musl-1.1.24-r10.apk', 'packages/x86_64/bash-5.0.17-r0.apk', 'packages/noarch/libc6-compat-1.1.24-r10.apk']) {
      const h = await verifyApkHeader(official(f), allKeys);
      await unpackApk(official(f), h, { name: h.pkginfo.name, origin: h.pkginfo.origin, replaces: h.pkginfo.replaces }, state, cache);
    }
    const m = state.manifest;
    expect(m.get('/bin/bash')).toMatchObject({ type: 'file', mode: 0o755, uid: 0, gid: 0, owner: 'bash' });
    expect(m.get('/lib/ld-musl-x86_64.so.1')).toMatchObject({ type: 'file', owner: 'musl' });
    expect(m.get('/lib/libc.musl-x86_64.so.1')).toMatchObject({ type: 'symlink', linkTarget: 'ld-musl-x86_64.so.1' });
    expect([...m.values()].filter((e) => e.owner === 'libc6-compat').some((e) => e.type === 'symlink')).toBe(true);
    const bash = m.get('/bin/bash')!;
    expect((await readFile((bash.content as { path: string }).path)).subarray(0, 4).toString('latin1')).toBe('\x7fELF');
  });

  it("writes apk's installed database for real packages as apk-tools does: a:/M: lines and Z: = each file's PAX SHA-1", async () => {
    const cache = new FeedCache(join(tmp, 'cache-db'));
    const state = newUnpackState();
    const idx = await readApkIndex(await readFile(official('v3.23.4-main-x86_64-APKINDEX.tar.gz')), repo('main', 'x86_64', 'v3.23'), allKeys);
    const files = ['packages/x86_64/busybox-1.37.0-r30.apk', 'packages/noarch/busybox-binsh-1.37.0-r30.apk', 'packages/x86_64/musl-1.2.5-r21.apk'];
    // What abuild-tar recorded per file (read here with tar-stream, independently of the engine's extractor).
    const pax = new Map<string, string>();
    for (const f of files) {
      const h = await verifyApkHeader(official(f), allKeys);
      await unpackApk(official(f), h, { name: h.pkginfo.name, origin: h.pkginfo.origin, replaces: h.pkginfo.replaces }, state, cache);
      const ex = tarStream.extract();
      ex.on('entry', (hd, stream, next) => {
        const records = new Map(Object.entries(hd.pax ?? {}).map(([k, v]) => [k, String(v)]));
        const sum = records.get('APK-TOOLS.checksum.SHA1');
        if (sum && !hd.name.startsWith('.')) pax.set(`/${hd.name}`, Buffer.from(sum, 'hex').toString('base64'));
        stream.on('end', next).resume();
      });
      const raw = await readFile(official(f));
      await pipeline(Readable.from([raw.subarray(h.dataOffset)]), createGunzip(), ex);
    }
    // The index holds musl r23, not this r21 (see PROVENANCE-2.md): its record stands in for the stanza's header only.
    const record = (n: string) => idx.packages.find((p) => p.name === n);
    const pkgs = [record('busybox'), record('busybox-binsh'), record('musl')];
    expect(pkgs.every((p) => p !== undefined)).toBe(true);
    const db = installedDb(
      pkgs.filter((p) => p !== undefined),
      state.manifest,
    );
    const lines = db.split('\n');
    // Every file line carries its Z: from the package; symlinks are 0:0:777 with the SHA-1 of their target.
    let checked = 0;
    for (let i = 0, dir = ''; i < lines.length; i++) {
      if (lines[i]!.startsWith('F:')) dir = `/${lines[i]!.slice(2)}`;
      if (!lines[i]!.startsWith('R:')) continue;
      const path = `${dir}/${lines[i]!.slice(2)}`;
      const e = state.manifest.get(path)!;
      const rest = lines.slice(i + 1, i + 3).filter((l) => /^[aZ]:/.test(l));
      const z = rest.find((l) => l.startsWith('Z:'));
      expect(z, path).toBe(`Z:Q1${pax.get(path)}`);
      const mode = e.mode & 0o7777;
      if (e.type === 'symlink') expect(rest[0], path).toBe('a:0:0:777');
      else if (mode !== 0o644) expect(rest[0], path).toBe(`a:0:0:${mode.toString(8)}`);
      else expect(rest[0], path).toBe(z);
      checked++;
    }
    expect(checked).toBeGreaterThan(3);
    // musl's file section is exactly the one in Alpine's own minirootfs (same files, modes and symlink checksum;
    // the library's Z: differs only because that minirootfs holds another build of musl 1.2.5).
    const real = await execa('tar', ['xzf', alpineTestdata('minirootfs', 'alpine-minirootfs-20240923-x86_64.tar.gz'), '-O', './lib/apk/db/installed']);
    const section = (text: string) => {
      const stanza = text.split('\n\n').find((s) => /^P:musl$/m.test(s))!;
      return stanza
        .split('\n')
        .filter((l) => /^[FRaMZ]:/.test(l))
        .map((l) => (l.startsWith('Z:') ? l.slice(0, 2) : l));
    };
    expect(section(db)).toEqual(section(real.stdout));
    expect(db).toContain('R:libc.musl-x86_64.so.1\na:0:0:777\nZ:Q17yJ3JFNypA4mxhJJr0ou6CzsJVI=\n');
  });

  it('loads keys as SPKI PEM exactly like Alpine ships them', async () => {
    const pem = await readFile(alpineTestdata('keys', keyFile('6165ee59')));
    expect(createPublicKey(pem).asymmetricKeyDetails?.modulusLength).toBe(4096);
    const copy = join(tmp, 'keys');
    await import('node:fs/promises').then((fs) => fs.mkdir(copy, { recursive: true }));
    await copyFile(alpineTestdata('keys', keyFile('6165ee59')), join(copy, keyFile('6165ee59')));
    expect([...(await loadTrustedKeys(copy)).keys()]).toEqual([keyFile('6165ee59')]);
  });
});

describe('resolution against the real v3.22 x86_64 main index', () => {
  let idx: ApkIndex;
  beforeAll(async () => {
    idx = await readApkIndex(await readFile(official('v3.22.2-main-x86_64-APKINDEX.tar.gz')), repo('main'), allKeys);
  });
  const resolve = (...names: string[]) =>
    resolvePackages(
      [idx],
      names.map((n) => ({ dep: n, from: ['nexbox'] })),
    );
  const names = (r: ReturnType<typeof resolve>) => r.packages.map((p) => p.pkg.name);

  /** Every dependency of every chosen package is satisfied inside the set; one version per name. */
  function expectClosed(r: ReturnType<typeof resolve>) {
    const pkgs = r.packages.map((p) => p.pkg);
    expect(new Set(pkgs.map((p) => p.name)).size).toBe(pkgs.length);
    const provides = new Set(pkgs.flatMap((p) => [p.name, ...p.provides.map((x) => x.name)]));
    for (const p of pkgs)
      for (const d of p.depends) expect(d.conflict ? !provides.has(d.name) || d.name === p.name : provides.has(d.name), `${p.name} needs ${d.name}`).toBe(true);
  }

  it('alpine-base: the closure apk installs, with ssl_client through install_if', () => {
    const r = resolve('alpine-base');
    expectClosed(r);
    expect(names(r)).toEqual(
      expect.arrayContaining([
        'alpine-base',
        'alpine-baselayout',
        'alpine-conf',
        'alpine-keys',
        'alpine-release',
        'apk-tools',
        'busybox',
        'busybox-binsh',
        'musl',
        'musl-utils',
        'openrc',
        'libcrypto3',
        'libssl3',
        'zlib',
        'scanelf',
        'ssl_client',
      ]),
    );
    const ssl = r.packages.find((p) => p.pkg.name === 'ssl_client')!;
    expect(ssl.viaInstallIf).toBe(true);
    expect(ssl.pkg.installIf.map((d) => d.name).sort()).toEqual(['busybox', 'libssl3']);
    // busybox-binsh provides /bin/sh (and cmd:sh) for the whole set.
    expect(names(r)).not.toContain('dash-binsh');
  });

  it('so: and cmd: dependencies resolve to the packages that provide them', () => {
    const r = resolve('curl');
    expectClosed(r);
    const curl = r.packages.find((p) => p.pkg.name === 'curl')!.pkg;
    expect(curl.depends.some((d) => d.name.startsWith('so:'))).toBe(true);
    expect(names(r)).toEqual(
      expect.arrayContaining(['curl', 'libcurl', 'musl', 'zlib', 'ca-certificates-bundle', 'libssl3', 'libcrypto3', 'nghttp2-libs', 'brotli-libs']),
    );
    const musl = r.packages.find((p) => p.pkg.name === 'musl')!;
    expect(musl.pkg.provides.map((p) => p.name)).toContain('so:libc.musl-x86_64.so.1');
    // apk ranks providers by the version they provide before provider_priority: dropbear-ssh's cmd:ssh=2025.88
    // beats openssh-client-default's cmd:ssh=10.0_p1 (k:2), so `apk add cmd:ssh` installs dropbear.
    const byCmd = resolve('cmd:ssh');
    expect(names(byCmd)).toContain('dropbear-ssh');
    expect(names(byCmd)).not.toContain('openssh-client-default');
  });

  it('is deterministic whatever the order of the index', () => {
    const a = names(resolve('openssh', 'chrony', 'nftables', 'e2fsprogs', 'iproute2'));
    const shuffled = { ...idx, packages: [...idx.packages].reverse() };
    const b = resolvePackages(
      [shuffled],
      ['openssh', 'chrony', 'nftables', 'e2fsprogs', 'iproute2'].map((n) => ({ dep: n, from: ['x'] })),
    );
    expect(b.packages.map((p) => p.pkg.name)).toEqual(a);
  });

  it("the kernel's initramfs-generator dependency is met by the builder (plan.builderProvides), not by mkinitfs", () => {
    const kernel = idx.packages.find((p) => p.name === 'linux-virt')!;
    expect(kernel.depends.map((d) => d.name)).toContain('initramfs-generator');
    const withApkRules = resolve('linux-virt', 'systemd-efistub');
    expect(names(withApkRules)).toContain('mkinitfs'); // what apk would install: mkinitfs and its 20-odd dependencies
    const byNexus = resolvePackages(
      [idx],
      ['linux-virt', 'systemd-efistub'].map((n) => ({ dep: n, from: ['tinybox'] })),
      { assumeProvided: ['initramfs-generator'] },
    );
    expect(names(byNexus)).toEqual(['linux-virt', 'systemd-efistub']);
    // A package that really is wanted still comes in, even when it provides an assumed name.
    expect(names(resolvePackages([idx], [{ dep: 'mkinitfs', from: ['x'] }], { assumeProvided: ['initramfs-generator'] }))).toContain('mkinitfs');
  });

  it('says which chain failed when a package is not in the repository', () => {
    expect(() => resolvePackages([idx], [{ dep: 'neovim', from: ['nexbox'] }], { describeRepos: 'x86_64/main of v3.22' })).toThrow(
      'nexbox → neovim: not in x86_64/main of v3.22',
    );
  });
});

describe('resolution against the real v3.12 x86_64 main + community indexes', () => {
  it('asks for a choice, like apk, when no provider of a virtual name has a priority (even a sole one)', async () => {
    const main = await readApkIndex(await readFile(official('v3.12.7-main-x86_64-APKINDEX.tar.gz')), repo('main', 'x86_64', 'v3.12'), allKeys);
    const community = await readApkIndex(await readFile(official('v3.12.3-community-x86_64-APKINDEX.tar.gz')), repo('community', 'x86_64', 'v3.12'), allKeys);
    expect(main.packages.find((p) => p.name === 'busybox')!.provides).toContainEqual({ name: '/bin/sh' });
    // busybox alone provides /bin/sh here, without k:, so apk wants it named (apk's provides14 case).
    expect(() => resolvePackages([main, community], [{ dep: 'rsyslog', from: ['box'] }])).toThrow(
      'box → rsyslog → /bin/sh: a virtual package provided by busybox, none preferred',
    );
    const r = resolvePackages(
      [main, community],
      [
        { dep: 'rsyslog', from: ['box'] },
        { dep: 'busybox', from: ['box'] },
      ],
    );
    expect(r.packages.map((p) => p.pkg.name)).toEqual(expect.arrayContaining(['rsyslog', 'busybox', 'musl']));
    const mu4e = [
      { dep: 'mu4e', from: ['box'] },
      { dep: 'busybox', from: ['box'] },
    ];
    expect(() => resolvePackages([main, community], mu4e)).toThrow(/cmd:emacs: a virtual package provided by emacs-gtk2, emacs-nox, emacs-x11/);
    expect(resolvePackages([main, community], [...mu4e, { dep: 'emacs-nox', from: ['box'] }]).packages.map((p) => p.pkg.name)).toContain('emacs-nox');
  });
});
