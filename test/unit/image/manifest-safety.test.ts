/**
 * Issue 13: the tree rules of the root filesystem manifest (entries.ts) and the configure stage's
 * addGenerated, which must never put a generated file below a package's symlink.
 */
import { describe, expect, it } from 'vitest';
import { dir, file, symlink } from '../../../src-main/engine/image/config/types';
import { addGenerated } from '../../../src-main/engine/image/manifest-ops';
import { entryUnder, isNormalImagePath, nonDirAncestor, treeProblems, type FsEntry, type FsManifest } from '../../../src-main/engine/rootfs/entries';

const T = 1_700_000_000;
const e = (path: string, type: FsEntry['type'], owner = 'pkg', extra: Partial<FsEntry> = {}): FsEntry => ({
  path,
  type,
  mode: type === 'dir' ? 0o755 : 0o644,
  uid: 0,
  gid: 0,
  mtime: T,
  size: 0,
  owner,
  ...extra,
});
const manifest = (...entries: FsEntry[]): FsManifest => new Map(entries.map((x) => [x.path, x]));

describe('tree rules', () => {
  it('normalised image paths', () => {
    for (const p of ['/', '/etc', '/etc/motd', '/a.b/..c/d..']) expect(isNormalImagePath(p), p).toBe(true);
    for (const p of ['', 'etc', '/etc/', '//etc', '/etc//x', '/./etc', '/etc/..', '/../tmp', '/a\0b']) expect(isNormalImagePath(p), p).toBe(false);
  });

  it('finds the outermost non-directory ancestor and entries under a directory', () => {
    const m = manifest(e('/usr', 'dir'), e('/usr/sbin', 'symlink', 'evil', { linkTarget: '/host' }), e('/usr/sbin/x', 'file'), e('/usrx', 'file'));
    expect(nonDirAncestor(m, '/usr/sbin/x/y')?.path).toBe('/usr/sbin');
    expect(nonDirAncestor(m, '/usr/lib/x')).toBeUndefined();
    expect(entryUnder(m, '/usr/sbin')?.path).toBe('/usr/sbin/x');
    expect(entryUnder(m, '/usrx')).toBeUndefined();
    expect(treeProblems(m)).toEqual(['/usr/sbin/x (pkg): lies under /usr/sbin, a symlink owned by evil']);
  });

  it('accepts a sound tree and names every kind of problem', () => {
    expect(
      treeProblems(
        manifest(
          e('/', 'dir'),
          e('/lib', 'dir'),
          e('/lib64', 'symlink', 'compat', { linkTarget: 'lib' }),
          e('/lib/a', 'file'),
          e('/lib/b', 'hardlink', 'p', { linkTarget: '/lib/a' }),
        ),
      ),
    ).toEqual([]);
    const bad = new Map<string, FsEntry>([
      ['/a', e('/b', 'file')],
      ['/x/../y', e('/x/../y', 'file')],
      ['/h', e('/h', 'hardlink', 'p', { linkTarget: '/lib64' })],
      ['/lib64', e('/lib64', 'symlink', 'p', { linkTarget: 'lib' })],
    ]);
    expect(treeProblems(bad)).toEqual([
      '/a: entry says its path is /b',
      '/x/../y: not an absolute, normalised path',
      '/h: hard link to /lib64, which is not a regular file in the manifest',
    ]);
  });
});

describe('addGenerated', () => {
  it("refuses to generate below a package's symlink, naming the package and the link", () => {
    const m = manifest(e('/usr', 'dir'), e('/usr/libexec', 'symlink', 'evil-pkg', { linkTarget: '/root/.ssh' }));
    expect(() => addGenerated(m, dir('/usr/libexec/nexus'), T)).toThrow(
      expect.objectContaining({
        code: 'UNSAFE_PATH',
        message: expect.stringMatching(/cannot generate \/usr\/libexec\/nexus: \/usr\/libexec is a symlink \(→ \/root\/\.ssh\) installed by package evil-pkg/),
        hint: expect.stringMatching(/Remove evil-pkg from the Box/),
      }),
    );
    expect(() => addGenerated(m, file('/usr/libexec/nexus/ready', 'x', 0o755), T)).toThrow(/\/usr\/libexec is a symlink/);
    // A relative symlink inside the image is refused as well: generated paths are never resolved through links.
    const rel = manifest(e('/sbin', 'symlink', 'usrmerge', { linkTarget: 'usr/sbin' }));
    expect(() => addGenerated(rel, file('/sbin/nexus-init', 'x', 0o755), T)).toThrow(/\/sbin is a symlink \(→ usr\/sbin\) installed by package usrmerge/);
    expect(m.size).toBe(2);
  });

  it('refuses to generate below a file, or to replace a directory with a file or symlink', () => {
    const m = manifest(e('/etc', 'dir'), e('/etc/motd', 'file', 'base'), e('/vault', 'dir', 'pkg'));
    expect(() => addGenerated(m, file('/etc/motd/x', 'x'), T)).toThrow(/\/etc\/motd is a file installed by package base/);
    expect(() => addGenerated(m, file('/vault', 'x'), T)).toThrow(/package pkg installs a directory there, and a directory is never replaced by a file/);
    expect(() => addGenerated(m, symlink('/etc', '/tmp'), T)).toThrow(/never replaced by a symlink/);
  });

  it.each(['/../../../../tmp/x', 'etc/x', '/etc/./x', '/etc//x', '/etc/x/', '/'])('refuses the path %j', (p) => {
    expect(() => addGenerated(new Map(), dir(p, 0o700), T)).toThrow(
      expect.objectContaining({ code: 'UNSAFE_PATH', message: expect.stringMatching(/not an absolute, normalised path/) }),
    );
  });

  it("still replaces package files and symlinks, and keeps a package's directory", () => {
    const m = manifest(
      e('/sbin', 'dir'),
      e('/sbin/init', 'symlink', 'busybox', { linkTarget: '/bin/busybox' }),
      e('/etc', 'dir', 'base', { mode: 0o750 }),
      e('/etc/hostname', 'file', 'base'),
    );
    addGenerated(m, symlink('/sbin/init', '/sbin/nexus-init'), T);
    addGenerated(m, file('/etc/hostname', 'box\n'), T);
    addGenerated(m, dir('/etc'), T);
    expect(m.get('/sbin/init')).toMatchObject({ type: 'symlink', linkTarget: '/sbin/nexus-init', owner: 'nexus' });
    expect(m.get('/etc/hostname')).toMatchObject({ type: 'file', owner: 'nexus', size: 4 });
    expect(m.get('/etc')).toMatchObject({ owner: 'base', mode: 0o750 });
  });
});
