/** Pure parsers: dependency tokens, APKINDEX text, gzip member splitting, install-script effects, lock files. */
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { parseApkIndexText } from '../../../src-main/engine/feeds/apkindex';
import { checksumHex } from '../../../src-main/engine/feeds/cache';
import { formatDep, parseDep, parseProvides } from '../../../src-main/engine/feeds/deps';
import { readGzipMembers } from '../../../src-main/engine/feeds/gzip-members';
import { makeLock, serializeLock } from '../../../src-main/engine/feeds/lock';
import { resolvePackages } from '../../../src-main/engine/feeds/resolver';
import { scriptEffects } from '../../../src-main/engine/feeds/scripts';

const repo = { name: 'main', branch: 'v3.22', arch: 'x86_64', base: '' };

describe('dependency tokens', () => {
  it.each([
    ['busybox', { name: 'busybox', conflict: false }],
    ['so:libc.musl-x86_64.so.1', { name: 'so:libc.musl-x86_64.so.1', conflict: false }],
    ['/bin/sh', { name: '/bin/sh', conflict: false }],
    ['!openssh-client', { name: 'openssh-client', conflict: true }],
    ['lua-dbi=0.7.2-r1', { name: 'lua-dbi', conflict: false, op: '=', version: '0.7.2-r1' }],
    ['python3>=3.12', { name: 'python3', conflict: false, op: '>=', version: '3.12' }],
    ['foo<2', { name: 'foo', conflict: false, op: '<', version: '2' }],
    ['foo<=2', { name: 'foo', conflict: false, op: '<=', version: '2' }],
    ['foo>1', { name: 'foo', conflict: false, op: '>', version: '1' }],
    ['foo~1.2', { name: 'foo', conflict: false, op: '~', version: '1.2' }],
    ['foo=~1.2', { name: 'foo', conflict: false, op: '~', version: '1.2' }],
    ['foo><Q1abc=', { name: 'foo', conflict: false, op: '><', version: 'Q1abc=' }],
    ['!foo<3', { name: 'foo', conflict: true, op: '<', version: '3' }],
    ['py3.12:setuptools', { name: 'py3.12:setuptools', conflict: false }],
    ['toybox@testing', { name: 'toybox', tag: 'testing', conflict: false }],
    ['!foo@edge>=2', { name: 'foo', tag: 'edge', conflict: true, op: '>=', version: '2' }],
    ['a>~2.5', { name: 'a', conflict: false, op: '>~', version: '2.5' }],
    ['a<~2.5', { name: 'a', conflict: false, op: '<~', version: '2.5' }],
  ])('%s', (token, dep) => {
    expect(parseDep(token)).toEqual(dep);
    expect(formatDep(parseDep(token))).toBe(token.replace('=~', '~'));
  });

  it('keeps an unknown operator spelling visible as an invalid version, which requests refuse', () => {
    expect(parseDep('foo==1')).toEqual({ name: 'foo', conflict: false, op: '=', version: '=1' });
    for (const bad of ['foo==', 'foo=', 'foo=invalid', '@tag', 'foo@']) {
      expect(() => resolvePackages([], [{ dep: bad, from: ['box'] }]), bad).toThrow(expect.objectContaining({ code: 'PACKAGE_INVALID_DEPENDENCY' }));
    }
  });

  it('parses versioned and virtual provides', () => {
    expect(parseProvides('cmd:dhcpd=4.4.3_p1-r0 dhcp-server')).toEqual([{ name: 'cmd:dhcpd', version: '4.4.3_p1-r0' }, { name: 'dhcp-server' }]);
  });
});

describe('APKINDEX text', () => {
  const text = [
    'C:Q1LLq2qDNrS/qRnhxQ3hsY/sHbQnc=',
    'P:foo',
    'V:1.0-r0',
    'A:x86_64',
    'S:1234',
    'I:4096',
    'T:Foo tool',
    'U:https://foo',
    'L:MIT',
    'o:foo-src',
    'm:Someone <a@b>',
    't:1700000000',
    'c:abcdef',
    'k:50',
    'D:so:libc.musl-x86_64.so.1 !bar',
    'p:cmd:foo=1.0-r0 foo-any',
    'i:base docs',
    'x:unknown lower',
    '',
    'P:newfmt',
    'V:2',
    'Z:unknown upper',
    '',
    'P:noversion',
    '',
  ].join('\n');

  it('reads every field letter, ignores unknown lower-case letters, marks unknown upper-case ones uninstallable', () => {
    const [foo, nf, ...rest] = parseApkIndexText(text, repo);
    expect(rest).toEqual([]);
    expect(foo).toMatchObject({
      checksum: 'Q1LLq2qDNrS/qRnhxQ3hsY/sHbQnc=',
      name: 'foo',
      version: '1.0-r0',
      arch: 'x86_64',
      size: 1234,
      installedSize: 4096,
      description: 'Foo tool',
      url: 'https://foo',
      license: 'MIT',
      origin: 'foo-src',
      maintainer: 'Someone <a@b>',
      buildTime: 1700000000,
      commit: 'abcdef',
      providerPriority: 50,
      depends: [
        { name: 'so:libc.musl-x86_64.so.1', conflict: false },
        { name: 'bar', conflict: true },
      ],
      provides: [{ name: 'cmd:foo', version: '1.0-r0' }, { name: 'foo-any' }],
      installIf: [
        { name: 'base', conflict: false },
        { name: 'docs', conflict: false },
      ],
    });
    expect(foo!.uninstallable).toBeUndefined();
    expect(nf!.uninstallable).toMatch(/Z:/);
    expect(() => resolvePackages([{ repo, description: '', signer: null, packages: [nf!] }], [{ dep: 'newfmt', from: ['box'] }])).toThrow(/uninstallable/);
  });

  it('joins repeated D:/p:/i: lines, as apk does', () => {
    const [pkg] = parseApkIndexText('P:multi\nV:1\np:a=1\nD:x\np:b\nD:!y\ni:z\ni:w\n', repo);
    expect(pkg!.provides).toEqual([{ name: 'a', version: '1' }, { name: 'b' }]);
    expect(pkg!.depends.map(formatDep)).toEqual(['x', '!y']);
    expect(pkg!.installIf.map(formatDep)).toEqual(['z', 'w']);
  });

  it('refuses packages apk cannot install: another architecture, a tag in an index dependency, a name provided twice', () => {
    const idx = (stanza: string) => [{ repo, description: '', signer: null, packages: parseApkIndexText(`P:p\nV:1\n${stanza}\n`, repo) }];
    const uninstallable = expect.objectContaining({ code: 'PACKAGE_UNINSTALLABLE' });
    expect(() => resolvePackages(idx('A:aarch64'), [{ dep: 'p', from: ['b'] }])).toThrow(/p is built for aarch64, not x86_64/);
    expect(resolvePackages(idx('A:noarch'), [{ dep: 'p', from: ['b'] }]).packages).toHaveLength(1);
    expect(() => resolvePackages(idx('D:q@tag'), [{ dep: 'p', from: ['b'] }])).toThrow(uninstallable);
    expect(() => resolvePackages(idx('p:p'), [{ dep: 'p', from: ['b'] }])).toThrow(uninstallable);
    expect(() => resolvePackages(idx('p:s=2 s=3'), [{ dep: 'p', from: ['b'] }])).toThrow(uninstallable);
  });

  it('takes tagged repositories only for name@tag and the dependencies of what came from them', () => {
    const pkgs = (r: typeof repo & { tag?: string }, text: string) => ({ repo: r, description: '', signer: null, packages: parseApkIndexText(text, r) });
    const testing = { ...repo, name: 'testing', tag: 'testing' };
    const idx = [pkgs(repo, 'P:app\nV:1\nD:lib\n\nP:lib\nV:1\n'), pkgs(testing, 'P:app\nV:2\nD:lib>=2 extra\n\nP:lib\nV:2\n\nP:extra\nV:1\n')];
    const got = (...deps: string[]) =>
      resolvePackages(
        idx,
        deps.map((dep) => ({ dep, from: ['b'] })),
      ).packages.map((p) => `${p.pkg.name}${p.tag ? `@${p.tag}` : ''}-${p.pkg.version}`);
    expect(got('app')).toEqual(['app-1', 'lib-1']);
    expect(got('app@testing')).toEqual(['app@testing-2', 'extra@testing-1', 'lib@testing-2']);
    expect(() => got('extra')).toThrow(/extra 1 is only in the repository tagged @testing \(ask for extra@testing\)/);
    expect(() => got('lib>=2')).toThrow(expect.objectContaining({ code: 'PACKAGE_VERSION_UNAVAILABLE' }));
    // A tag no repository has is a typo, not a request for the untagged package.
    expect(() => got('app@tesitng')).toThrow('b → app@tesitng: no repository tagged @tesitng in');
  });

  it('backtracks to an older version when the newest cannot be completed', () => {
    const idx = [{ repo, description: '', signer: null, packages: parseApkIndexText('P:app\nV:2\nD:gone\n\nP:app\nV:1\n', repo) }];
    expect(resolvePackages(idx, [{ dep: 'app', from: ['b'] }]).packages.map((p) => p.pkg.version)).toEqual(['1']);
    // When nothing works, the first attempt's error is reported.
    expect(() => resolvePackages(idx, [{ dep: 'app>1', from: ['b'] }])).toThrow('b → app → gone: not in');
  });

  it('picks virtual providers only through provider_priority, the highest first', () => {
    const pk = (name: string, extra: string) => parseApkIndexText(`P:${name}\nV:1-r0\n${extra}\n`, repo)[0]!;
    const idx = [{ repo, description: '', signer: null, packages: [pk('low', 'p:server\nk:10'), pk('high', 'p:server\nk:200'), pk('none', 'p:server')] }];
    expect(resolvePackages(idx, [{ dep: 'server', from: ['b'] }]).packages.map((p) => p.pkg.name)).toEqual(['high']);
    // An explicit request elsewhere wins over the priority (settled before ambiguous deps).
    expect(
      resolvePackages(idx, [
        { dep: 'server', from: ['b'] },
        { dep: 'low', from: ['b'] },
      ]).packages.map((p) => p.pkg.name),
    ).toEqual(['low']);
    // Without priorities even a single virtual provider must be asked for (apk's provides14), or be wanted anyway.
    const one = [{ repo, description: '', signer: null, packages: [pk('none', 'p:server')] }];
    expect(() => resolvePackages(one, [{ dep: 'server', from: ['b'] }])).toThrow('b → server: a virtual package provided by none, none preferred');
    expect(
      resolvePackages(one, [
        { dep: 'server', from: ['b'] },
        { dep: 'none', from: ['b'] },
      ]).packages.map((p) => p.pkg.name),
    ).toEqual(['none']);
    const two = [{ repo, description: '', signer: null, packages: [pk('none', 'p:server'), pk('other', 'p:server')] }];
    expect(() => resolvePackages(two, [{ dep: 'server', from: ['b'] }])).toThrow('b → server: a virtual package provided by none, other, none preferred');
  });
});

describe('gzip members', () => {
  it('splits members with FNAME/FEXTRA/FCOMMENT headers and reports truncation', () => {
    const plain = gzipSync(Buffer.from('first'));
    // Hand-made header with FEXTRA + FNAME + FCOMMENT flags around a raw deflate body of the second member.
    const raw = gzipSync(Buffer.from('second member'));
    const body = raw.subarray(10);
    const header = Buffer.concat([
      Buffer.from([0x1f, 0x8b, 8, 4 | 8 | 16, 0, 0, 0, 0, 0, 3]),
      Buffer.from([2, 0, 0xaa, 0xbb]),
      Buffer.from('name\0'),
      Buffer.from('comment\0'),
    ]);
    const buf = Buffer.concat([plain, header, body]);
    const members = readGzipMembers(buf, 'test')!;
    expect(members.map((m) => [m.start, m.end, m.data.toString()])).toEqual([
      [0, plain.length, 'first'],
      [plain.length, buf.length, 'second member'],
    ]);
    expect(readGzipMembers(buf.subarray(0, buf.length - 3), 'test', Infinity, true)).toBeNull();
    expect(() => readGzipMembers(buf.subarray(0, buf.length - 3), 'test')).toThrow(/truncated inside gzip member 2/);
    expect(() => readGzipMembers(Buffer.from('not gzip at all'), 'x')).toThrow(/no gzip member/);
  });

  it('converts index checksums to cache keys', () => {
    expect(checksumHex('Q1LLq2qDNrS/qRnhxQ3hsY/sHbQnc=')).toBe(Buffer.from('LLq2qDNrS/qRnhxQ3hsY/sHbQnc=', 'base64').toString('hex'));
    expect(() => checksumHex('Z9nope')).toThrow();
  });
});

describe('install script effects', () => {
  it('reads users, groups, memberships and applet installs; reports every script as skipped', () => {
    const scripts = new Map([
      [
        'pre-install',
        '#!/bin/sh\naddgroup -S -g 101 nginx 2>/dev/null\nadduser -S -D -H -h /var/lib/nginx -s /sbin/nologin -G nginx -g "Nginx web server" nginx 2>/dev/null\naddgroup nginx www-data\nexit 0\n',
      ],
      ['post-install', 'useradd -r -d /srv/x -s /bin/false -c "X user" xuser\ngroupadd -r xgrp\n/bin/busybox --install -s\nupdate-ca-certificates --fresh\n'],
      ['post-upgrade', 'adduser -S ignored\n'],
    ]);
    const { effects, skipped } = scriptEffects('nginx', '1.26-r0', scripts);
    // apk's order on a fresh install: pre-install, post-install (upgrade scripts are never run there).
    expect(effects).toEqual([
      { kind: 'group', package: 'nginx', name: 'nginx', gid: 101, system: true },
      {
        kind: 'user',
        package: 'nginx',
        name: 'nginx',
        home: '/var/lib/nginx',
        shell: '/sbin/nologin',
        group: 'nginx',
        gecos: 'Nginx web server',
        system: true,
        createHome: false,
      },
      { kind: 'group-member', package: 'nginx', user: 'nginx', group: 'www-data' },
      { kind: 'user', package: 'nginx', name: 'xuser', home: '/srv/x', shell: '/bin/false', gecos: 'X user', system: true, createHome: false },
      { kind: 'group', package: 'nginx', name: 'xgrp', system: true },
      { kind: 'applet-links', package: 'nginx', tool: 'busybox', symlinks: true },
    ]);
    expect(skipped.map((s) => [s.script, s.effects, s.understood])).toEqual([
      ['pre-install', 3, true],
      ['post-install', 3, false],
      ['post-upgrade', 0, false],
    ]);
    expect(skipped[1]!.ignoredCommands).toEqual(['update-ca-certificates --fresh']);
    expect(skipped[1]!.text).toBe(scripts.get('post-install'));
  });

  it("expands plain variable assignments, as aports' dhcpcd.pre-install names its account; leaves unknown variables unrecognised", () => {
    // aports main/dhcpcd/dhcpcd.pre-install, verbatim.
    const text =
      '#!/bin/sh\n\nuser=dhcpcd\ngroup=dhcpcd\n\naddgroup -S $group 2>/dev/null\nadduser -S -D -h /var/lib/$user -s /sbin/nologin -G $group -g $user $user 2>/dev/null\n\nexit 0\n';
    const { effects, skipped } = scriptEffects(
      'dhcpcd',
      '10.3.0-r0',
      new Map([
        ['pre-install', text],
        ['post-install', 'x=$(id -u)\nadduser -S ${nobody}\n'],
      ]),
    );
    expect(effects).toEqual([
      { kind: 'group', package: 'dhcpcd', name: 'dhcpcd', system: true },
      {
        kind: 'user',
        package: 'dhcpcd',
        name: 'dhcpcd',
        home: '/var/lib/dhcpcd',
        shell: '/sbin/nologin',
        group: 'dhcpcd',
        gecos: 'dhcpcd',
        system: true,
        createHome: true,
      },
    ]);
    expect(skipped.map((s) => [s.script, s.understood])).toEqual([
      ['pre-install', true],
      ['post-install', false],
    ]);
    expect(skipped[1]!.ignoredCommands).toEqual(['x=$(id -u)', 'adduser -S ${nobody}']);
  });

  it("reads a home written with a trailing slash as that directory (aports' fontconfig.pre-install, verbatim)", () => {
    const text =
      '#!/bin/sh\n\naddgroup -S fontconfig 2>/dev/null\nadduser -S -D -h /var/cache/fontconfig/ -H -s /sbin/nologin -G fontconfig -g fontconfig fontconfig 2>/dev/null\n\nexit 0\n';
    const { effects, skipped } = scriptEffects('fontconfig', '2.17.1-r0', new Map([['pre-install', text]]));
    expect(effects[1]).toMatchObject({ kind: 'user', name: 'fontconfig', home: '/var/cache/fontconfig', createHome: false, system: true });
    expect(skipped.map((s) => s.understood)).toEqual([true]);
  });
});

describe('install script symlinks', () => {
  it('records ln -s links (dinit service enablement; relative to the root apk runs scripts in) and ignores hostile ones', () => {
    const { effects } = scriptEffects(
      'sshd',
      '1-r0',
      new Map([['post-install', 'ln -sf ../sshd /etc/dinit.d/boot.d/sshd\nln -s /x /etc/../../escape\nln -s a relative\nln -s /y $HOME/z\n']]),
    );
    expect(effects).toEqual([
      { kind: 'symlink', package: 'sshd', path: '/etc/dinit.d/boot.d/sshd', target: '../sshd', force: true },
      { kind: 'symlink', package: 'sshd', path: '/relative', target: 'a', force: false },
    ]);
  });
});

describe('lock file', () => {
  it('is sorted and stable', () => {
    const pkgs = parseApkIndexText('C:Q1b\nP:zeta\nV:1\nS:10\nI:20\nL:MIT\n\nC:Q1a\nP:alpha\nV:2\nS:1\nI:2\nL:GPL-2.0-only\no:alpha-src\n', repo);
    const a = serializeLock(makeLock({ name: 'alpine', branch: 'v3.22', arch: 'x86_64', repositories: ['main'] }, { main: 'v3.22.2' }, pkgs));
    const b = serializeLock(makeLock({ name: 'alpine', branch: 'v3.22', arch: 'x86_64', repositories: ['main'] }, { main: 'v3.22.2' }, [...pkgs].reverse()));
    expect(a).toBe(b);
    expect(JSON.parse(a).packages.map((p: { name: string }) => p.name)).toEqual(['alpha', 'zeta']);
    expect(JSON.parse(a).packages[0]).toEqual({
      name: 'alpha',
      version: '2',
      arch: 'x86_64',
      repository: 'main',
      checksum: 'Q1a',
      size: 1,
      installedSize: 2,
      license: 'GPL-2.0-only',
      origin: 'alpha-src',
      url: '',
    });
  });
});

describe('APKINDEX bytes', () => {
  it('keeps UTF-8 in free-text fields when parsing the raw buffer', async () => {
    const { parseApkIndexBuffer } = await import('../../../src-main/engine/feeds/apkindex');
    const [p] = parseApkIndexBuffer(Buffer.from('P:x\nV:1\nT:Grüße – 日本\nm:Sören <s@x>\nL:MIT\n', 'utf8'), repo);
    expect(p).toMatchObject({ description: 'Grüße – 日本', maintainer: 'Sören <s@x>', license: 'MIT' });
  });
});
