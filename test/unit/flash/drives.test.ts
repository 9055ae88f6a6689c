import { describe, expect, it } from 'vitest';
import { fromDrivelist, fromLsblk } from '../../../src-main/engine/drives/normalize';
import { extraDevicesFromEnv, listDrives, readExtraDrives } from '../../../src-main/engine/drives/list';
import { watchDrives } from '../../../src-main/engine/drives/watch';
import type { Drive } from '../../../src-shared/drives';
import { driveLabel, formatSize } from '../../../src-shared/drives';

const dl = {
  device: '/dev/sdb',
  raw: '/dev/sdb',
  description: 'SanDisk Ultra',
  size: 31914983424,
  blockSize: 512,
  logicalBlockSize: 512,
  busType: 'USB',
  isReadOnly: false,
  isSystem: false,
  isRemovable: true,
  isVirtual: false,
  isUSB: true,
  isCard: null,
  mountpoints: [{ path: '/media/u/boot', label: 'boot' }],
};

describe('drive normalization', () => {
  it('maps drivelist entries', () => {
    expect(fromDrivelist(dl)).toEqual({
      device: '/dev/sdb',
      raw: '/dev/sdb',
      description: 'SanDisk Ultra',
      size: 31914983424,
      blockSize: 512,
      logicalBlockSize: 512,
      bus: 'USB',
      removable: true,
      usb: true,
      card: false,
      system: false,
      readOnly: false,
      virtual: false,
      mountpoints: [{ path: '/media/u/boot', label: 'boot' }],
      source: 'drivelist',
    });
    expect(fromDrivelist({ ...dl, size: null, raw: '', blockSize: 0 })).toMatchObject({ size: null, raw: '/dev/sdb', blockSize: 512 });
  });

  it('maps lsblk -J -b -O devices (loops, read-only, system mounts in children)', () => {
    const loop = fromLsblk({
      path: '/dev/loop3',
      name: 'loop3',
      size: 16777216,
      ro: false,
      rm: false,
      type: 'loop',
      tran: null,
      'log-sec': 512,
      'phy-sec': 512,
      mountpoints: [null],
    });
    expect(loop).toMatchObject({
      device: '/dev/loop3',
      size: 16777216,
      removable: true,
      virtual: true,
      system: false,
      readOnly: false,
      mountpoints: [],
      source: 'extra',
    });
    expect(fromLsblk({ path: '/dev/loop4', name: 'loop4', size: '8388608', ro: '1', type: 'loop' })).toMatchObject({ readOnly: true, size: 8388608 });
    const sys = fromLsblk({
      path: '/dev/loop5',
      name: 'loop5',
      size: 1,
      type: 'loop',
      mountpoints: [null],
      children: [{ name: 'loop5p1', mountpoints: ['/boot'] }],
    });
    expect(sys.system).toBe(true);
    expect(sys.mountpoints.map((m) => m.path)).toEqual(['/boot']);
  });

  it('reads the test hook from the environment only when set', () => {
    expect(extraDevicesFromEnv({})).toEqual([]);
    expect(extraDevicesFromEnv({ NEXUS_EXTRA_DRIVES: '/dev/loop3, /dev/loop4,' })).toEqual(['/dev/loop3', '/dev/loop4']);
  });

  it('the test hook accepts only loop and zram devices', async () => {
    await expect(readExtraDrives(['/dev/sda'])).rejects.toMatchObject({ code: 'EXTRA_DRIVE_REFUSED' });
    await expect(readExtraDrives(['/dev/loop1;rm'])).rejects.toMatchObject({ code: 'EXTRA_DRIVE_REFUSED' });
  });

  it('listDrives without the hook lists only drivelist drives, sorted', async () => {
    const drives = await listDrives({ extraDevices: [], drivelist: async () => [{ ...dl, device: '/dev/sdc', raw: '/dev/sdc' }, dl] });
    expect(drives.map((d) => d.device)).toEqual(['/dev/sdb', '/dev/sdc']);
  });

  it('labels and sizes', () => {
    expect(formatSize(31914983424)).toBe('29.7 GiB');
    expect(formatSize(512)).toBe('512 B');
    expect(driveLabel(fromDrivelist(dl))).toBe('/dev/sdb — SanDisk Ultra (29.7 GiB)');
  });
});

describe('watchDrives', () => {
  it('emits the first list, then only changes', async () => {
    const a = fromDrivelist(dl);
    const b = fromDrivelist({ ...dl, device: '/dev/sdc', raw: '/dev/sdc' });
    const seq: Drive[][] = [[a], [a], [a, b], [a, b], [b], [b]];
    let i = 0;
    const ac = new AbortController();
    const seen: string[][] = [];
    const list = async () => {
      if (i === seq.length - 1) ac.abort();
      return seq[i++]!;
    };
    for await (const drives of watchDrives({ intervalMs: 1, signal: ac.signal, list })) seen.push(drives.map((d) => d.device));
    expect(seen).toEqual([['/dev/sdb'], ['/dev/sdb', '/dev/sdc'], ['/dev/sdc']]);
  });

  it('survives a failing enumeration', async () => {
    let i = 0;
    const ac = new AbortController();
    const seen: number[] = [];
    for await (const drives of watchDrives({
      intervalMs: 1,
      signal: ac.signal,
      list: async () => {
        i++;
        if (i === 1) throw new Error('transient');
        if (i > 3) ac.abort();
        return [];
      },
    }))
      seen.push(drives.length);
    expect(seen).toEqual([0]);
  });
});
