/**
 * apk's configuration on a writable root (config/apk.ts) and the first-boot root growth (config/grow-root.ts), as
 * text: what the nexbox VM test then proves on a booted image (real apk-tools reading the database, sfdisk and
 * resize2fs growing the root).
 */
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import type { ApkPackage } from '../../../src-main/engine/feeds/apkindex';
import { parseDep } from '../../../src-main/engine/feeds/deps';
import { apkRepositories, builderStanza, installedDb, installedStanza } from '../../../src-main/engine/image/config/apk';
import { validateDinitService } from '../../../src-main/engine/image/config/dinit';
import { growRootScript, growRootService, missingGrowTools } from '../../../src-main/engine/image/config/grow-root';
import type { FsEntry, FsManifest } from '../../../src-main/engine/rootfs/entries';

const pkg = (over: Partial<ApkPackage>): ApkPackage => ({
  name: 'tini',
  version: '0.19.0-r0',
  arch: 'x86_64',
  checksum: 'Q1w6E1Mw7zS0vB7cO8c9mYy5U9rYmBI=',
  size: 9910,
  installedSize: 36864,
  description: 'A tiny but valid init for containers',
  url: 'https://github.com/krallin/tini',
  license: 'MIT',
  origin: 'tini',
  maintainer: 'Danilo Bürger <danilo@feastr.de>',
  buildTime: 1587395395,
  commit: '5aa249684e3b4628df47ad9dc5f93d80301614ae',
  depends: [parseDep('so:libc.musl-x86_64.so.1')],
  provides: [{ name: 'cmd:tini' }],
  installIf: [],
  providerPriority: 0,
  repo: { name: 'community', branch: 'v3.12', arch: 'x86_64', base: '' },
  ...over,
});

const entry = (path: string, type: FsEntry['type'], owner: string): FsEntry => ({
  path,
  type,
  mode: type === 'dir' ? 0o755 : 0o644,
  uid: 0,
  gid: 0,
  mtime: 0,
  size: 0,
  owner,
});

describe('apk configuration', () => {
  it("names the catalog's first mirror for every repository of the branch, tagged ones as @tag lines", () => {
    const text = apkRepositories({
      name: 'alpine',
      branch: 'v3.24',
      arch: 'x86_64',
      repositories: ['main', 'community'],
      tagged: [{ tag: 'testing', branch: 'edge', repository: 'testing' }],
      mirrors: ['https://dl-cdn.alpinelinux.org/alpine/', 'https://mirrors.edge.kernel.org/alpine'],
      keys: 'keys/alpine',
    });
    expect(text.split('\n').filter((l) => l && !l.startsWith('#'))).toEqual([
      'https://dl-cdn.alpinelinux.org/alpine/v3.24/main',
      'https://dl-cdn.alpinelinux.org/alpine/v3.24/community',
      '@testing https://dl-cdn.alpinelinux.org/alpine/edge/testing',
    ]);
  });

  it('writes an installed-database stanza as apk does: index fields, then each directory (F:) followed by its files (R:)', () => {
    const s = installedStanza(
      pkg({
        depends: [parseDep('so:libc.musl-x86_64.so.1'), parseDep('busybox>=1.36')],
        provides: [{ name: 'cmd:tini', version: '0.19.0-r0' }, { name: 'tini-any' }],
      }),
      { dirs: new Set(['/sbin']), files: ['/sbin/tini', '/usr/share/doc/tini/README'] },
    );
    expect(s).toBe(
      [
        'C:Q1w6E1Mw7zS0vB7cO8c9mYy5U9rYmBI=',
        'P:tini',
        'V:0.19.0-r0',
        'A:x86_64',
        'S:9910',
        'I:36864',
        'T:A tiny but valid init for containers',
        'U:https://github.com/krallin/tini',
        'L:MIT',
        'o:tini',
        'm:Danilo Bürger <danilo@feastr.de>',
        't:1587395395',
        'c:5aa249684e3b4628df47ad9dc5f93d80301614ae',
        'D:so:libc.musl-x86_64.so.1 busybox>=1.36',
        'p:cmd:tini=0.19.0-r0 tini-any',
        'F:sbin',
        'R:tini',
        'F:usr',
        'F:usr/share',
        'F:usr/share/doc',
        'F:usr/share/doc/tini',
        'R:README',
        '',
      ].join('\n'),
    );
  });

  it("lists each package's files from the finished root, and what the builder provides as one file-less package", () => {
    const root: FsManifest = new Map([
      ['/', entry('/', 'dir', 'nexus')],
      ['/sbin', entry('/sbin', 'dir', 'tini')],
      ['/sbin/tini', entry('/sbin/tini', 'file', 'tini')],
      ['/etc/hostname', entry('/etc/hostname', 'file', 'nexus')],
    ]);
    const db = installedDb([pkg({})], root, ['initramfs-generator'], 'x86_64');
    const stanzas = db.trim().split('\n\n');
    expect(stanzas).toHaveLength(2);
    expect(stanzas[0]).toMatch(/\nF:sbin\nR:tini$/);
    expect(db).not.toContain('hostname');
    expect(stanzas[1]).toBe(builderStanza(['initramfs-generator'], 'x86_64').trim());
    expect(stanzas[1]).toMatch(/^C:Q1[A-Za-z0-9+/]{27}=\nP:\.nexus-builder\nV:0-r0\nA:x86_64\n/);
    expect(stanzas[1]).toMatch(/\np:initramfs-generator=0-r0$/);
  });
});

describe('first-boot root growth', () => {
  it('is a valid dinit scripted service and a shell script sh parses', async () => {
    expect(validateDinitService(growRootService())).toEqual([]);
    await execa('sh', ['-n'], { input: growRootScript() });
    const script = growRootScript();
    // GPT backup header to the end first, then the partition, the kernel's view, the file system; done only at the end.
    const order = ['--relocate gpt-bak-std', "echo ', +' | sfdisk --no-reread -N", 'partx -u', 'resize2fs "$dev"', '> "$DONE"\nsay'].map((s) =>
      script.indexOf(s),
    );
    expect(order.every((i) => i > 0)).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
  });

  it('needs sfdisk and resize2fs in the root', () => {
    const root: FsManifest = new Map([['/sbin/sfdisk', entry('/sbin/sfdisk', 'file', 'sfdisk')]]);
    expect(missingGrowTools(root)).toEqual(['resize2fs']);
    root.set('/usr/sbin/resize2fs', entry('/usr/sbin/resize2fs', 'file', 'e2fsprogs-extra'));
    expect(missingGrowTools(root)).toEqual([]);
  });
});
