import { describe, expect, it } from 'vitest';
import type { Drive } from '../../../src-shared/drives';
import {
  LARGE_DRIVE_THRESHOLD,
  checkRequestedTarget,
  checkTarget,
  driveOwningPath,
  holdsProtectedPath,
  isLarge,
  isTooSmall,
  visibleDrives,
  type SafetyContext,
} from '../../../src-shared/safety';

const GiB = 1024 ** 3;
function drive(p: Partial<Drive> = {}): Drive {
  return {
    device: '/dev/sdb',
    raw: '/dev/sdb',
    description: 'SD card',
    size: 32 * GiB,
    blockSize: 512,
    logicalBlockSize: 512,
    bus: 'USB',
    removable: true,
    usb: true,
    card: true,
    system: false,
    readOnly: false,
    virtual: false,
    mountpoints: [],
    source: 'drivelist',
    ...p,
  };
}
const sysDisk = drive({
  device: '/dev/sda',
  raw: '/dev/sda',
  system: true,
  removable: false,
  size: 512 * GiB,
  mountpoints: [
    { path: '/', label: null },
    { path: '/home', label: null },
  ],
});
function ctx(p: Partial<SafetyContext> = {}): SafetyContext {
  return {
    imageSize: 4 * GiB,
    protectedPaths: ['/home/u/images/os.img'],
    allDrives: [sysDisk, drive()],
    includeSystem: false,
    confirmedSystemDevices: [],
    ...p,
  };
}
const codes = (v: { refusals: Array<{ code: string }> }) => v.refusals.map((r) => r.code).sort();

describe('safety predicates', () => {
  it('hides system drives unless asked', () => {
    expect(visibleDrives([sysDisk, drive()], false).map((d) => d.device)).toEqual(['/dev/sdb']);
    expect(visibleDrives([sysDisk, drive()], true)).toHaveLength(2);
  });

  it('size: unknown image never counts as too small; exact fit is fine; one byte short is not', () => {
    expect(isTooSmall(drive({ size: 100 }), null)).toBe(false);
    expect(isTooSmall(drive({ size: 100 }), 100)).toBe(false);
    expect(isTooSmall(drive({ size: 99 }), 100)).toBe(true);
    expect(isTooSmall(drive({ size: null }), 100)).toBe(true);
  });

  it('flags drives above the threshold only', () => {
    expect(isLarge(drive({ size: LARGE_DRIVE_THRESHOLD }))).toBe(false);
    expect(isLarge(drive({ size: LARGE_DRIVE_THRESHOLD + 1 }))).toBe(true);
    expect(isLarge(drive({ size: null }))).toBe(false);
  });

  it('attributes a path to the drive with the longest mount point', () => {
    const usb = drive({ device: '/dev/sdc', mountpoints: [{ path: '/media/u/STICK', label: 'STICK' }] });
    const all = [sysDisk, usb];
    expect(driveOwningPath('/media/u/STICK/os.img', all)?.device).toBe('/dev/sdc');
    expect(driveOwningPath('/media/u/STICKY/os.img', all)?.device).toBe('/dev/sda');
    expect(driveOwningPath('/home/u/x', all)?.device).toBe('/dev/sda');
    expect(driveOwningPath('relative/x', [usb])).toBeUndefined();
    const win = drive({ device: '\\\\.\\PhysicalDrive1', mountpoints: [{ path: 'E:\\', label: null }] });
    expect(driveOwningPath('e:\\images\\os.img', [win])?.device).toBe('\\\\.\\PhysicalDrive1');
    expect(holdsProtectedPath(usb, ['/media/u/STICK/os.img'], all)).toBe(true);
    expect(holdsProtectedPath(usb, ['/home/u/os.img'], all)).toBe(false);
  });
});

describe('checkTarget: every combination', () => {
  const sizes: Array<[string, number | null]> = [
    ['unknown', null],
    ['too small', 2 * GiB],
    ['exact', 4 * GiB],
    ['huge', 2 * LARGE_DRIVE_THRESHOLD],
  ];
  for (const system of [false, true])
    for (const readOnly of [false, true])
      for (const [sizeName, size] of sizes)
        for (const holdsSource of [false, true])
          for (const includeSystem of [false, true])
            for (const confirmed of [false, true]) {
              const name = `system=${system} ro=${readOnly} size=${sizeName} source=${holdsSource} include=${includeSystem} confirmed=${confirmed}`;
              it(name, () => {
                const d = drive({ system, readOnly, size, mountpoints: holdsSource ? [{ path: '/media/u/SD', label: null }] : [] });
                const v = checkTarget(
                  d,
                  ctx({
                    allDrives: [sysDisk, d],
                    protectedPaths: ['/media/u/SD/os.img'],
                    includeSystem,
                    confirmedSystemDevices: confirmed ? ['/dev/sdb'] : [],
                  }),
                );
                const expected: string[] = [];
                if (system && !(includeSystem && confirmed)) expected.push('SYSTEM_DRIVE');
                if (holdsSource) expected.push('SOURCE_DRIVE');
                if (readOnly) expected.push('WRITE_PROTECTED');
                if (size === null) expected.push('UNKNOWN_SIZE');
                else if (size < 4 * GiB) expected.push('DRIVE_TOO_SMALL');
                expect(codes(v)).toEqual(expected.sort());
                expect(v.allowed).toBe(expected.length === 0);
                const w = v.warnings.map((x) => x.code);
                expect(w.includes('LARGE_DRIVE')).toBe(sizeName === 'huge');
                expect(w.includes('SYSTEM_DRIVE_OVERRIDE')).toBe(system && includeSystem && confirmed);
                expect(w.includes('MOUNTED')).toBe(holdsSource);
                for (const r of v.refusals) expect(r.hint).toBeTruthy();
              });
            }
});

describe('checkRequestedTarget', () => {
  it('refuses names that are not known drives, matches raw names', () => {
    expect(codes(checkRequestedTarget('/dev/sdz', ctx()))).toEqual(['DRIVE_NOT_FOUND']);
    const mac = drive({ device: '/dev/disk4', raw: '/dev/rdisk4' });
    expect(checkRequestedTarget('/dev/rdisk4', ctx({ allDrives: [mac] })).allowed).toBe(true);
  });
  it('the write-protected message says so and tells how to fix it', () => {
    const v = checkTarget(drive({ readOnly: true }), ctx());
    expect(v.refusals[0]!.message).toMatch(/write-protected/);
    expect(v.refusals[0]!.hint).toMatch(/lock switch/);
  });
});
