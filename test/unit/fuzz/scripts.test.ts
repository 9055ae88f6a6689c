/**
 * Property-based fuzzing of the install-script reader (feeds/scripts.ts): a signed package's scripts are never run on
 * the build host, their effects (accounts, links, directories, modes, owners) are read from the text and later written
 * into passwd/group/shadow and the root. Scripts assembled from the command shapes aports uses, with hostile arguments:
 * every recognised effect is one the image can hold safely; anything else leaves the script "not understood".
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parsePkgInfo } from '../../../src-main/engine/feeds/package-file';
import { scriptEffects, type ScriptEffect } from '../../../src-main/engine/feeds/scripts';
import { outcome, params, timeout } from './fuzz';

const NAME = /^[A-Za-z0-9_.][A-Za-z0-9_.-]{0,31}\$?$/;
const ROOT_PATH = /^\/$|^(\/(?!\.\.?(\/|$))[^/\0]+)+$/;

function checkEffect(e: ScriptEffect): void {
  switch (e.kind) {
    case 'group':
      expect(e.name).toMatch(NAME);
      if (e.gid !== undefined) expect(Number.isSafeInteger(e.gid) && e.gid >= 0 && e.gid < 2 ** 32 - 1).toBe(true);
      break;
    case 'user':
      expect(e.name).toMatch(NAME);
      if (e.uid !== undefined) expect(Number.isSafeInteger(e.uid) && e.uid >= 0 && e.uid < 2 ** 32 - 1).toBe(true);
      if (e.group !== undefined) expect(e.group).toMatch(NAME);
      for (const p of [e.home, e.shell]) if (p) expect(p).toMatch(/^\/$|^(\/(?!\.\.?(\/|$))[A-Za-z0-9._+@-]+)+$/);
      if (e.gecos !== undefined) expect(e.gecos).not.toMatch(/[:\n]/);
      break;
    case 'group-member':
      expect(e.user).toMatch(NAME);
      expect(e.group).toMatch(NAME);
      break;
    case 'dir':
    case 'mode':
    case 'owner':
    case 'symlink':
      expect(e.path).toMatch(ROOT_PATH);
      break;
    case 'shell':
      expect(e.shell.startsWith('/')).toBe(true);
      break;
    default:
  }
}

const hostileWord = fc.oneof(
  fc.constantFrom(
    'evil:x:0:0',
    'root',
    'klogd',
    '-5',
    '1e3',
    'abc',
    '99999999999',
    '4294967295',
    '100',
    '/../../etc',
    'etc/../../x',
    '/bin/sh:x',
    'a:0:0:x',
    '',
    '-',
    '$user',
    '/home/x',
    'nobody',
    "'quoted name'",
    '"a b"',
    '\\:',
    'x$',
  ),
  fc.stringMatching(/^[a-z0-9:./_$-]{1,12}$/),
);
const command = fc.oneof(
  fc
    .tuple(
      fc.constantFrom('adduser -S -D -H', 'adduser', 'addgroup -S', 'addgroup', 'useradd -r', 'groupadd -r'),
      fc.array(fc.tuple(fc.constantFrom('-u', '-g', '-G', '-h', '-s', '-d', '-c', '--home', '--uid', ''), hostileWord), { maxLength: 4 }),
      hostileWord,
    )
    .map(([tool, opts, name]) => `${tool} ${opts.map(([o, v]) => `${o} ${v}`).join(' ')} ${name}`),
  fc
    .tuple(
      fc.constantFrom('ln -s', 'ln -sf', 'mkdir -p', 'mkdir -m 700', 'chmod 0755', 'chown root:root', 'chown evil:x', 'add-shell'),
      hostileWord,
      hostileWord,
    )
    .map(([t, a, b]) => `${t} ${a} ${b}`),
  fc.constantFrom('busybox --install -s', 'exit 0', 'user=dhcpcd', 'adduser -S -D -H $user', 'echo done > /dev/null', 'true'),
);

describe('fuzz: install-script effects', () => {
  it(
    'hostile arguments never become an effect the image cannot hold safely',
    () => {
      fc.assert(
        fc.property(
          fc.array(command, { minLength: 1, maxLength: 8 }),
          fc.constantFrom('pre-install', 'post-install', 'trigger', 'pre-deinstall'),
          (cmds, script) => {
            const { effects, skipped } = scriptEffects('pkg', '1.0-r0', new Map([[script, `#!/bin/sh\n${cmds.join('\n')}\n`]]));
            effects.forEach(checkEffect);
            for (const s of skipped) expect(s.understood).toBe(s.ignoredCommands.length === 0);
          },
        ),
        params(800),
      );
    },
    timeout,
  );

  it('regressions found by the fuzzer: forged passwd fields and nonsense ids are not recognised', () => {
    const text =
      '#!/bin/sh\naddgroup -S -g abc grp\nadduser -S -D -H -h "/../../etc" -s "/bin/sh:x" -g "a:0:0:x" -u 1e3 -G grp "evil:x:0:0"\nadduser -u -5 bob\n';
    const { effects, skipped } = scriptEffects('p', '1', new Map([['post-install', text]]));
    expect(scriptEffects('p', '1', new Map([['post-install', 'ln -s . .\nmkdir -p ./a/./b\n']])).effects).toEqual([]); // was a link at "/."
    // Before: a user "evil:x:0:0" (a uid-0 passwd line), home /../../etc, GECOS "a:0:0:x", uid -5 and gid NaN.
    expect(effects).toEqual([]);
    expect(skipped[0]).toMatchObject({
      understood: false,
      ignoredCommands: [expect.stringMatching(/^addgroup/), expect.stringMatching(/^adduser -S/), 'adduser -u -5 bob'],
    });
    // Real aports shapes still work.
    const real = scriptEffects(
      'dhcpcd',
      '10.1.0-r0',
      new Map([
        [
          'pre-install',
          'addgroup -S dhcpcd 2>/dev/null\nadduser -S -D -H -h /var/lib/dhcpcd -s /sbin/nologin -G dhcpcd -g dhcpcd dhcpcd 2>/dev/null\nexit 0\n',
        ],
      ]),
    );
    expect(real.effects.map((e) => e.kind)).toEqual(['group', 'user']);
    expect(real.skipped[0]!.understood).toBe(true);
  });
});

describe('fuzz: .PKGINFO (the signed control data of a package)', () => {
  const key = fc.constantFrom(
    'pkgname',
    'pkgver',
    'size',
    'replaces',
    'replaces_priority',
    'triggers',
    'origin',
    'datahash',
    'depend',
    'provides',
    'builddate',
    '# comment',
    'x',
  );
  const value = fc.oneof(
    fc.constantFrom('busybox', '1.37.0-r30', '1e400', '-5', 'abc', '9007199254740993', '', ' ', '0', '12', 'a b  c', 'NaN'),
    fc.string({ maxLength: 20 }).map((v) => v.replace(/\n/g, ' ')),
  );
  it(
    'hostile fields: a package description with safe numbers, or BAD_PACKAGE',
    () => {
      fc.assert(
        fc.property(fc.array(fc.tuple(key, value), { maxLength: 10 }), fc.boolean(), (lines, named) => {
          const text = [...(named ? ['pkgname = p', 'pkgver = 1-r0'] : []), ...lines.map(([k, v]) => `${k} = ${v}`)].join('\n');
          const info = outcome(() => parsePkgInfo(text, 'fuzz.apk'), ['BAD_PACKAGE']);
          if (info) {
            expect(Number.isSafeInteger(info.replacesPriority) && info.replacesPriority >= 0).toBe(true);
            if (info.installedSize !== undefined) expect(Number.isSafeInteger(info.installedSize)).toBe(true);
            for (const w of [...info.replaces, ...info.triggers]) expect(w).not.toMatch(/\s/);
          }
        }),
        params(800),
      );
      // Regression: "replaces_priority = 1e400" gave an Infinity priority (every file conflict won), "-5" a negative one.
      expect(parsePkgInfo('pkgname = p\npkgver = 1\nreplaces_priority = 1e400', 'x').replacesPriority).toBe(0);
      expect(parsePkgInfo('pkgname = p\npkgver = 1\nreplaces_priority = 7', 'x').replacesPriority).toBe(7);
    },
    timeout,
  );
});
