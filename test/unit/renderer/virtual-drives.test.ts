// Virtual block devices (zram, RAM disks, loops, nbd, device-mapper, md) are hidden from the drive list unless
// asked for; a device added on purpose through the NEXUS_EXTRA_DRIVES developer hook stays visible.
import { describe, expect, it } from 'vitest';
import type { Drive } from '../../../src-shared/drives';
import { isHiddenVirtual } from '../../../src-shared/safety';

const drive = (device: string, o: Partial<Drive> = {}): Drive => ({
  device,
  raw: device,
  description: '',
  size: 8 << 30,
  blockSize: 512,
  logicalBlockSize: 512,
  bus: 'USB',
  removable: true,
  usb: true,
  card: false,
  system: false,
  readOnly: false,
  virtual: false,
  mountpoints: [],
  source: 'drivelist',
  ...o,
});

describe('virtual drives', () => {
  it('hides zram (drivelist reports it removable), RAM disks, loops, nbd, dm- and md devices', () => {
    for (const d of ['/dev/zram0', '/dev/ram1', '/dev/loop7', '/dev/nbd0', '/dev/dm-2', '/dev/md127']) expect(isHiddenVirtual(drive(d)), d).toBe(true);
    expect(isHiddenVirtual(drive('/dev/vdb', { virtual: true }))).toBe(true);
  });

  it('shows real cards and sticks, and what the developer hook added explicitly', () => {
    for (const d of ['/dev/sdb', '/dev/mmcblk0', '/dev/nvme1n1', '/dev/disk4']) expect(isHiddenVirtual(drive(d)), d).toBe(false);
    expect(isHiddenVirtual(drive('/dev/loop3', { source: 'extra', virtual: true }))).toBe(false);
  });
});
