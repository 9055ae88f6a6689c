/**
 * Install scripts and triggers on real Alpine data: the busybox applet links `--install -s` made in the official
 * minirootfs of three architectures, the real busybox/bash/openrc/alpine-baselayout scripts, Alpine's own
 * /etc/passwd and /etc/group.
 */
import { describe, expect, it } from 'vitest';
import { parseScripts } from './script-data';
import { scriptEffects } from '../../../src-main/engine/feeds/scripts';
import { APPLET_DIRS, busyboxAppletLinks, readBusyboxApplets, readBusyboxVersion } from '../../../src-main/engine/image/busybox-applets';
import { mergeAccounts, type AccountEffect } from '../../../src-main/engine/image/config/accounts';
import { validateDinitService } from '../../../src-main/engine/image/config/dinit';
import { accounts } from '../../../src-main/engine/image/config/etc';
import { FIRST_BOOT_SERVICE, firstBootEntries, firstBootService } from '../../../src-main/engine/image/config/first-boot';
import { applyFileEffects, emulateBusyboxInstall, planScripts, shellsFile, triggerArgs } from '../../../src-main/engine/image/script-effects';
import type { FsEntry, FsManifest } from '../../../src-main/engine/rootfs/entries';
import { alpineTestdata } from '../../support/alpine-testdata';
import { tarEntries, type TarEntry } from '../../support/tar-entries';

const MINIROOTFS = ['3.20.3', '20240923'].flatMap((v) =>
  ['x86_64', 'aarch64', 'riscv64'].map((arch) => ({ v, arch, file: alpineTestdata('minirootfs', `alpine-minirootfs-${v}-${arch}.tar.gz`) })),
);
const pkgFile = (p: string) => alpineTestdata('official', 'packages', p);
const get = (entries: TarEntry[], name: string) => entries.find((e) => e.name === name)!;
const realLinks = (entries: TarEntry[]) =>
  entries
    .filter((e) => e.type === 'symlink' && e.linkname === '/bin/busybox')
    .map((e) => '/' + e.name)
    .sort();

function manifestOf(entries: TarEntry[], owner: string, only?: (e: TarEntry) => boolean): FsManifest {
  const m: FsManifest = new Map();
  for (const e of entries) {
    if (e.name.startsWith('.') || (only && !only(e))) continue;
    const path = '/' + e.name.replace(/\/$/, '');
    const base = { path, mode: e.mode, uid: 0, gid: 0, mtime: 0, owner };
    if (e.type === 'directory') m.set(path, { ...base, type: 'dir', size: 0 });
    else if (e.type === 'symlink') m.set(path, { ...base, type: 'symlink', size: 0, linkTarget: e.linkname! });
    else m.set(path, { ...base, type: 'file', size: e.data.length, content: { kind: 'inline', data: new Uint8Array(e.data) } } satisfies FsEntry);
  }
  return m;
}
const controlScripts = (entries: TarEntry[]) =>
  new Map(entries.filter((e) => /^\.(pre|post)-(install|upgrade|deinstall)$|^\.trigger$/.test(e.name)).map((e) => [e.name.slice(1), e.data.toString('utf8')]));
const triggersOf = (entries: TarEntry[]) => (/^triggers = (.*)$/m.exec(get(entries, '.PKGINFO').data.toString())?.[1] ?? '').split(' ').filter(Boolean);

describe('busybox applet links, as `busybox --install -s` makes them', () => {
  it.each(MINIROOTFS)('equal the real links in alpine-minirootfs-$v-$arch, from the applet table in its /bin/busybox', async ({ file }) => {
    const entries = await tarEntries(file);
    const bin = get(entries, 'bin/busybox').data;
    const real = realLinks(entries);
    expect(real).toHaveLength(304);
    expect(readBusyboxApplets(bin)).toHaveLength(304);
    expect(readBusyboxVersion(bin)).toEqual([1, 36, 1]);
    const fromBinary = busyboxAppletLinks(bin)!;
    expect(fromBinary.source).toBe('binary+table');
    expect(fromBinary.defaulted).toEqual([]);
    expect(fromBinary.links).toEqual(real);
    // The list Alpine's APKBUILD writes from `busybox --list-full` gives the same links.
    const fromList = busyboxAppletLinks(bin, get(entries, 'etc/busybox-paths.d/busybox').data.toString())!;
    expect(fromList.source).toBe('paths-file');
    expect(fromList.links).toEqual(real);
  });

  it("places busybox 1.37.0-r30's 304 applets where its own busybox-paths.d says (blkdiscard moved to /sbin)", async () => {
    const entries = await tarEntries(pkgFile('x86_64/busybox-1.37.0-r30.apk'));
    const bin = get(entries, 'bin/busybox').data;
    expect(readBusyboxVersion(bin)).toEqual([1, 37, 0]);
    const list = get(entries, 'etc/busybox-paths.d/busybox')
      .data.toString()
      .trim()
      .split('\n')
      .map((l) => '/' + l)
      .sort();
    const plan = busyboxAppletLinks(bin)!;
    expect(plan.links).toEqual(list);
    expect(plan.links).toContain('/sbin/blkdiscard');
  });

  it('reads the 299 applets of the older aarch64 busybox 1.32.1-r5 (no paths list shipped), each placed by the table', async () => {
    const entries = await tarEntries(pkgFile('aarch64/busybox-1.32.1-r5.apk'));
    const plan = busyboxAppletLinks(get(entries, 'bin/busybox').data)!;
    expect(plan.links).toHaveLength(299);
    expect(plan.defaulted).toEqual(plan.defaulted.filter((a) => !APPLET_DIRS.has(a)));
    for (const l of ['/bin/sh', '/bin/mount', '/bin/cat', '/sbin/getty', '/sbin/insmod', '/sbin/switch_root']) expect(plan.links).toContain(l);
  });

  it("keeps busybox-binsh's /bin/sh and every other file a package ships", async () => {
    const bb = await tarEntries(pkgFile('x86_64/busybox-1.37.0-r30.apk'));
    const binsh = await tarEntries(pkgFile('noarch/busybox-binsh-1.37.0-r30.apk'));
    const root = manifestOf(bb, 'busybox');
    for (const [p, e] of manifestOf(binsh, 'busybox-binsh')) if (!root.has(p)) root.set(p, e);
    const r = await emulateBusyboxInstall(root, 'busybox', 0);
    expect(r.source).toBe('paths-file');
    expect(r.added).toBe(303);
    expect(r.kept).toEqual(['/bin/sh']);
    expect(root.get('/bin/sh')!.owner).toBe('busybox-binsh');
    expect(root.get('/bin/mount')).toMatchObject({ type: 'symlink', linkTarget: '/bin/busybox', owner: 'busybox' });
    expect(root.get('/usr/sbin/adduser')?.linkTarget).toBe('/bin/busybox');
  });
});

describe('install scripts, read and planned', () => {
  it('busybox 1.37.0-r30: post-install understood (dirs, applet links, klogd), trigger emulated, post-upgrade not needed', async () => {
    const entries = await tarEntries(pkgFile('x86_64/busybox-1.37.0-r30.apk'));
    const { effects, skipped } = scriptEffects('busybox', '1.37.0-r30', controlScripts(entries), triggersOf(entries));
    expect(skipped.map((s) => s.script)).toEqual(['post-install', 'trigger', 'post-upgrade']);
    expect(skipped[0]).toMatchObject({ understood: true, ignoredCommands: [] });
    expect(skipped[1]).toMatchObject({ understood: false, triggers: ['/bin', '/usr/bin', '/sbin', '/usr/sbin', '/lib/modules/*', '/usr/lib/modules/*'] });
    expect(effects.map((e) => e.kind)).toEqual(['dir', 'dir', 'dir', 'dir', 'applet-links', 'group', 'user']);
    expect(effects.find((e) => e.kind === 'user')).toMatchObject({
      name: 'klogd',
      system: true,
      group: 'klogd',
      home: '/dev/null',
      shell: '/sbin/nologin',
      createHome: false,
    });
    const root = manifestOf(entries, 'busybox');
    for (const type of ['erofs', 'initramfs', 'ext4'] as const) {
      const plan = planScripts({ effects, scripts: skipped }, type, root);
      expect(plan.records.map((r) => [r.script, r.outcome])).toEqual([
        ['post-install', 'emulated'],
        ['trigger', 'emulated'],
        ['post-upgrade', 'not-needed'],
      ]);
      expect(plan.deferred).toEqual([]);
      expect(plan.appletLinks).toEqual(['busybox']);
    }
  });

  it("bash: `add-shell '/bin/bash'` becomes a line in /etc/shells; pre-deinstall is not needed", async () => {
    const entries = await tarEntries(pkgFile('x86_64/bash-5.0.17-r0.apk'));
    const { effects, skipped } = scriptEffects('bash', '5.0.17-r0', controlScripts(entries));
    expect(effects).toEqual([{ kind: 'shell', package: 'bash', shell: '/bin/bash' }]);
    const plan = planScripts({ effects, scripts: skipped }, 'erofs', new Map());
    expect(plan.records.map((r) => r.outcome)).toEqual(['applied', 'not-needed', 'not-needed']);
    expect(shellsFile('# valid login shells\n/bin/sh\n/bin/ash\n', ['/bin/bash', '/bin/sh'])).toBe('# valid login shells\n/bin/sh\n/bin/ash\n/bin/bash\n');
  });

  it('alpine-baselayout (minirootfs scripts.tar): pre-install adds group shadow 42; post-install is on the allow-list with its reason', async () => {
    const entries = await tarEntries(MINIROOTFS[0]!.file);
    const scripts = parseScripts(get(entries, 'lib/apk/db/scripts.tar').data);
    const bl = scripts.get('alpine-baselayout')!;
    const { effects, skipped } = scriptEffects('alpine-baselayout', bl.version, bl.scripts);
    expect(effects.filter((e) => e.kind === 'group')).toEqual([{ kind: 'group', package: 'alpine-baselayout', name: 'shadow', gid: 42, system: true }]);
    expect(effects.filter((e) => e.kind === 'owner').map((e) => e.path)).toEqual(['/etc/shadow', '/etc/shadow-']);
    const plan = planScripts({ effects, scripts: skipped }, 'erofs', new Map());
    expect(Object.fromEntries(plan.records.map((r) => [r.script, r.outcome]))).toEqual({
      'pre-install': 'applied',
      'post-install': 'not-needed',
      'pre-upgrade': 'not-needed',
      'post-upgrade': 'not-needed',
    });
    expect(plan.records.find((r) => r.script === 'post-install')!.detail).toMatch(/color_prompt/);
  });

  it("openrc's post-install (shell logic we do not emulate) fails a read-only build, naming package and script; ext4 defers it to first boot", async () => {
    const entries = await tarEntries(pkgFile('x86_64/openrc-0.63-r1.apk'));
    const { effects, skipped } = scriptEffects('openrc', '0.63-r1', controlScripts(entries));
    for (const type of ['erofs', 'initramfs'] as const) {
      expect(() => planScripts({ effects, scripts: skipped }, type, new Map())).toThrow(
        expect.objectContaining({ code: 'SCRIPT_NEEDS_DEVICE', message: expect.stringMatching(/post-install script of openrc-0\.63-r1.*read-only/) }),
      );
    }
    const plan = planScripts({ effects, scripts: skipped }, 'ext4', new Map());
    expect(plan.records.map((r) => [r.script, r.outcome])).toEqual([
      ['post-install', 'first-boot'],
      ['post-upgrade', 'not-needed'],
    ]);
    const files = firstBootEntries(plan.deferred.map((script) => ({ script, args: [] })));
    const svc = files.find((f) => f.path === `/etc/dinit.d/${FIRST_BOOT_SERVICE}`)!;
    expect(validateDinitService(String(svc.content))).toEqual([]);
    expect(validateDinitService(firstBootService())).toEqual([]);
    expect(String(svc.content)).toMatch(/type = scripted/);
    const run = String(files.find((f) => f.path.endsWith('/run'))!.content);
    expect(run).toMatch(/\[ -e "\$DONE" \] && exit 0/);
    expect(run).toContain("run 'openrc-0.63-r1 post-install' '/usr/libexec/nexus/first-boot/01-openrc.post-install'");
    expect(files.find((f) => f.path.endsWith('01-openrc.post-install'))!.content).toBe(skipped[0]!.text);
  });

  it("trigger arguments are the root's directories matching the trigger globs", () => {
    const dir = (path: string): FsEntry => ({ path, type: 'dir', mode: 0o755, uid: 0, gid: 0, mtime: 0, size: 0, owner: 'x' });
    const root: FsManifest = new Map(['/bin', '/lib/modules', '/lib/modules/6.18.26-0-virt', '/usr/share/fonts'].map((p) => [p, dir(p)]));
    expect(triggerArgs(['/bin', '/usr/bin', '/lib/modules/*'], root)).toEqual(['/bin', '/lib/modules/6.18.26-0-virt']);
  });
});

describe('accounts from packages and scripts', () => {
  it("merges Alpine's own passwd/group/shadow with Nexus's accounts and busybox's klogd (uid 100, group klogd 101, locked)", async () => {
    const entries = await tarEntries(MINIROOTFS[0]!.file);
    const text = (n: string) => get(entries, n).data.toString();
    const bb = await tarEntries(pkgFile('x86_64/busybox-1.37.0-r30.apk'));
    const { effects } = scriptEffects('busybox', '1.37.0-r30', controlScripts(bb));
    const plan = {
      box: {},
      customization: { user: { name: 'ada', admin: true, passwordHash: '$6$x$y' }, rootPasswordHash: undefined },
    } as unknown as Parameters<typeof accounts>[0];
    const m = mergeAccounts(
      accounts(plan, 86400 * 20000),
      { passwd: text('etc/passwd'), group: text('etc/group'), shadow: text('etc/shadow') },
      effects.filter((e): e is AccountEffect => ['user', 'group', 'group-member'].includes(e.kind)),
      20000,
    );
    const passwd = m.passwd.split('\n');
    expect(passwd[0]).toBe('root:x:0:0:root:/root:/bin/sh');
    expect(passwd).toContain('klogd:x:100:101:klogd:/dev/null:/sbin/nologin');
    expect(passwd).toContain('sshd:x:22:22:sshd:/dev/null:/sbin/nologin');
    expect(passwd).toContain('ada:x:1000:1000:ada:/home/ada:/bin/sh');
    expect(m.group.split('\n')).toEqual(expect.arrayContaining(['klogd:x:101:', 'shadow:x:42:', 'wheel:x:10:root,ada', 'users:x:100:games']));
    expect(m.shadow.split('\n')).toEqual(expect.arrayContaining(['klogd:!:20000:0:::::', 'root:!:20000:0:::::', 'ada:$6$x$y:20000:0:::::']));
    expect(m.created).toEqual(['group klogd (busybox)', 'user klogd (busybox)']);
    expect(new Set(passwd.filter(Boolean).map((l) => l.split(':')[2])).size).toBe(passwd.filter(Boolean).length);
  });

  it('applies ln -s (not over an existing file unless -f), mkdir -p, chmod and chown with the merged ids', () => {
    const f = (path: string, type: FsEntry['type'] = 'file'): FsEntry => ({
      path,
      type,
      mode: type === 'dir' ? 0o755 : 0o644,
      uid: 0,
      gid: 0,
      mtime: 0,
      size: 0,
      owner: 'p',
    });
    const root: FsManifest = new Map([
      ['/etc', f('/etc', 'dir')],
      ['/etc/dinit.d', f('/etc/dinit.d', 'dir')],
      ['/etc/x', f('/etc/x')],
      ['/etc/shadow', f('/etc/shadow')],
    ]);
    const { effects } = scriptEffects(
      'p',
      '1',
      new Map([['post-install', 'ln -s ../foo /etc/dinit.d/foo\nln -s /a /etc/x\nmkdir -p /var/lib/p\nchmod 640 etc/shadow\nchown root:shadow etc/shadow\n']]),
    );
    expect(applyFileEffects(root, effects, { uids: new Map([['root', 0]]), gids: new Map([['shadow', 42]]) }, 0)).toEqual([]);
    expect(root.get('/etc/dinit.d/foo')).toMatchObject({ type: 'symlink', linkTarget: '../foo' });
    expect(root.get('/etc/x')!.type).toBe('file');
    expect(root.get('/var/lib/p')!.type).toBe('dir');
    expect(root.get('/etc/shadow')).toMatchObject({ mode: 0o640, uid: 0, gid: 42 });
  });
});
