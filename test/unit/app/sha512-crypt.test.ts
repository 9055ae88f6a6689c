import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { PasswordHash } from '../../../src-shared/customization';
import { sha512Crypt } from '../../../src-main/app/sha512-crypt';

const hasOpenssl = (() => {
  try {
    execFileSync('openssl', ['version']);
    return true;
  } catch {
    return false;
  }
})();

describe('sha512Crypt ($6$)', () => {
  it('matches the vectors of the SHA-crypt specification', () => {
    expect(sha512Crypt('Hello world!', { salt: 'saltstring' })).toBe(
      '$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1',
    );
    expect(sha512Crypt('Hello world!', { salt: 'saltstringsaltstring', rounds: 10000 })).toBe(
      '$6$rounds=10000$saltstringsaltst$OW1/O6BYHV6BcXZu8QVeXbDWra3Oeqh0sbHbbMCVNSnCM/UrjmM0Dp8vOuZeHBy/YTBmSK6H9qs/y3RnOaw5v.',
    );
    expect(sha512Crypt('we have a short salt string but not a short password', { salt: 'short', rounds: 77777 })).toBe(
      '$6$rounds=77777$short$WuQyW2YR.hBNpjjRhpYD/ifIw05xdfeEyQoMxIXbkvr0gge1a1x3yRULJ5CCaUeOxFmtlcGZelFl5CxtgfiAc0',
    );
    expect(
      sha512Crypt('a very much longer text to encrypt.  This one even stretches over morethan one line.', { salt: 'anotherlongsaltstring', rounds: 1400 }),
    ).toBe('$6$rounds=1400$anotherlongsalts$POfYwTEok97VWcjxIiSOjiykti.o/pQs.wPvMxQ6Fm7I6IoYN3CmLs66x9t0oSwbtEW7o7UmJEiDwGqd8p4ur1');
  });

  it.skipIf(!hasOpenssl)('agrees with `openssl passwd -6` on long and non-ASCII passwords', () => {
    for (const [pw, salt] of [
      ['correct horse battery staple, '.repeat(5), 'Ab9./xyz'],
      ['pässwört ✓', 'q'],
      ['x', 'ZZZZZZZZZZZZZZZZ'],
    ] as const) {
      const expected = execFileSync('openssl', ['passwd', '-6', '-salt', salt, '-stdin'], { input: pw }).toString().trim();
      expect(sha512Crypt(pw, { salt })).toBe(expected);
    }
  });

  it('uses a fresh 16-character salt each time and produces what the customization schema accepts', () => {
    const a = sha512Crypt('secret');
    const b = sha512Crypt('secret');
    expect(a).not.toBe(b);
    expect(a).toMatch(/^\$6\$[./A-Za-z0-9]{16}\$[./A-Za-z0-9]{86}$/);
    expect(PasswordHash.safeParse(a).success).toBe(true);
  });
});
