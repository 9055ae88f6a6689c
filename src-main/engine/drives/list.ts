/**
 * Drive enumeration: drivelist, plus an explicit test hook for block devices drivelist hides (loops).
 *
 * Test hook: NEXUS_EXTRA_DRIVES=/dev/loop3,/dev/loop4 (or the `extraDevices` option) adds those
 * devices, read through `lsblk -J -b -O`. It is off unless set; only /dev/loop* and /dev/zram* are
 * accepted so that it cannot be used to smuggle in a disk that drivelist marks as system.
 */
import { execa } from 'execa';
import { NexusError } from '../../../src-shared/errors';
import type { Drive } from '../../../src-shared/drives';
import { fromDrivelist, fromLsblk, type DrivelistEntry, type LsblkDevice } from './normalize';

export const EXTRA_DRIVES_ENV = 'NEXUS_EXTRA_DRIVES';
const EXTRA_ALLOWED = /^\/dev\/(loop\d+|zram\d+)$/;

export interface ListOptions {
  /** Extra block devices (test hook); defaults to NEXUS_EXTRA_DRIVES. */
  extraDevices?: readonly string[];
  /** Replaces drivelist (tests). */
  drivelist?: () => Promise<DrivelistEntry[]>;
}

export function extraDevicesFromEnv(env: NodeJS.ProcessEnv = process.env): string[] {
  return (env[EXTRA_DRIVES_ENV] ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

async function drivelistList(): Promise<DrivelistEntry[]> {
  const mod = (await import('drivelist')) as unknown as { list: () => Promise<DrivelistEntry[]>; default?: { list: () => Promise<DrivelistEntry[]> } };
  const list = mod.list ?? mod.default?.list;
  if (!list) throw new NexusError('DRIVELIST_UNAVAILABLE', 'The drive enumeration module could not be loaded.', 'Reinstall the application.');
  return list();
}

export async function readExtraDrives(devices: readonly string[]): Promise<Drive[]> {
  if (devices.length === 0) return [];
  for (const d of devices) {
    if (!EXTRA_ALLOWED.test(d))
      throw new NexusError(
        'EXTRA_DRIVE_REFUSED',
        `${d} is not accepted by ${EXTRA_DRIVES_ENV}.`,
        'Only /dev/loopN and /dev/zramN can be added by the test hook.',
      );
  }
  const r = await execa('lsblk', ['-J', '-b', '-O', ...devices], { reject: false });
  if (r.exitCode !== 0) {
    // A device listed but gone (detached loop) must not hide the others: retry one by one.
    if (devices.length > 1) return (await Promise.all(devices.map((d) => readExtraDrives([d]).catch(() => [])))).flat();
    return [];
  }
  const parsed = JSON.parse(r.stdout) as { blockdevices?: LsblkDevice[] };
  return (parsed.blockdevices ?? []).map(fromLsblk);
}

/** All drives, sorted by device name. System drives are included; hide them with visibleDrives(). */
export async function listDrives(options: ListOptions = {}): Promise<Drive[]> {
  const extra = options.extraDevices ?? extraDevicesFromEnv();
  const [base, extras] = await Promise.all([(options.drivelist ?? drivelistList)(), readExtraDrives(extra)]);
  const drives = base.map(fromDrivelist);
  for (const e of extras) if (!drives.some((d) => d.device === e.device)) drives.push(e);
  return drives.sort((a, b) => a.device.localeCompare(b.device));
}
