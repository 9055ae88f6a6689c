import { describe, expect, it } from 'vitest';
import { readCpio, writeCpio } from '../../../src-main/engine/image/cpio';

describe('cpio newc writer', () => {
  const archive = writeCpio([
    { path: '/bin', type: 'dir', mode: 0o755, mtime: 1000 },
    { path: '/bin/sh', type: 'file', mode: 0o4755, uid: 0, gid: 0, data: new TextEncoder().encode('abcde'), mtime: 1000 },
    { path: '/init', type: 'symlink', mode: 0o777, linkTarget: '/bin/sh' },
    { path: '/home/u', type: 'dir', mode: 0o750, uid: 1000, gid: 1000 },
    { path: '/dev/console', type: 'char', mode: 0o600, rdevMajor: 5, rdevMinor: 1 },
  ]);

  it('aligns every header to 4 bytes and ends with the trailer', () => {
    expect(archive.length % 4).toBe(0);
    expect(archive.toString('latin1', 0, 6)).toBe('070701');
    expect(archive.includes(Buffer.from('TRAILER!!!\0'))).toBe(true);
  });

  it('round-trips names, types, modes, owners and data', () => {
    const e = readCpio(archive);
    expect(e.map((x) => x.path)).toEqual(['bin', 'bin/sh', 'init', 'home/u', 'dev/console']);
    expect(e[1]!.mode).toBe(0o104755);
    expect(e[1]!.data.toString()).toBe('abcde');
    expect(e[2]!.mode & 0o170000).toBe(0o120000);
    expect(e[2]!.data.toString()).toBe('/bin/sh');
    expect([e[3]!.uid, e[3]!.gid]).toEqual([1000, 1000]);
    expect(e[4]!.mode & 0o170000).toBe(0o020000);
  });

  it('matches the byte layout of GNU cpio -H newc for one file', () => {
    const one = writeCpio([{ path: 'a', type: 'file', mode: 0o644, data: Buffer.from('x'), mtime: 0 }]);
    // 110-byte header + "a\0" = 112 (aligned), 1 byte data + 3 padding
    expect(one.toString('latin1', 0, 110)).toBe(
      '070701' +
        [
          '00000001',
          '000081a4',
          '00000000',
          '00000000',
          '00000001',
          '00000000',
          '00000001',
          '00000000',
          '00000000',
          '00000000',
          '00000000',
          '00000002',
          '00000000',
        ].join(''),
    );
    expect(one.subarray(110, 116)).toEqual(Buffer.from('a\0x\0\0\0'));
  });
});
