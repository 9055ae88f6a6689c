/** Turns drivelist entries and `lsblk -J -b -O` devices into the shared Drive model. */
import type { Drive, MountPoint } from '../../../src-shared/drives';

/** The subset of drivelist's Drive we read (kept structural so tests can feed plain objects). */
export interface DrivelistEntry {
  device: string;
  raw: string;
  description: string;
  size: number | null;
  blockSize: number;
  logicalBlockSize: number;
  busType: string;
  isReadOnly: boolean;
  isSystem: boolean;
  isRemovable: boolean;
  isVirtual: boolean | null;
  isUSB: boolean | null;
  isCard: boolean | null;
  mountpoints: Array<{ path: string; label: string | null }>;
}

export function fromDrivelist(e: DrivelistEntry): Drive {
  return {
    device: e.device,
    raw: e.raw || e.device,
    description: e.description ?? '',
    size: e.size ?? null,
    blockSize: e.blockSize || 512,
    logicalBlockSize: e.logicalBlockSize || 512,
    bus: e.busType || 'UNKNOWN',
    removable: !!e.isRemovable,
    usb: !!e.isUSB,
    card: !!e.isCard,
    system: !!e.isSystem,
    readOnly: !!e.isReadOnly,
    virtual: !!e.isVirtual,
    mountpoints: (e.mountpoints ?? []).map((m) => ({ path: m.path, label: m.label ?? null })),
    source: 'drivelist',
  };
}

export interface LsblkDevice {
  path?: string | null;
  name?: string;
  size?: number | string | null;
  ro?: boolean | string | null;
  rm?: boolean | string | null;
  type?: string | null;
  tran?: string | null;
  model?: string | null;
  vendor?: string | null;
  label?: string | null;
  'log-sec'?: number | string | null;
  'phy-sec'?: number | string | null;
  mountpoints?: Array<string | null> | null;
  mountpoint?: string | null;
  children?: LsblkDevice[];
}

/** Mount points that make a device a system drive. */
const SYSTEM_MOUNTS = new Set(['/', '/boot', '/boot/efi', '/efi', '/usr', '/var', '/home', '[SWAP]']);

const bool = (v: unknown) => v === true || v === '1' || v === 1;
const num = (v: unknown, dflt: number) => (v === null || v === undefined || v === '' ? dflt : Number(v));

function mountsOf(dev: LsblkDevice): MountPoint[] {
  const own = (dev.mountpoints ?? [dev.mountpoint ?? null]).filter((m): m is string => !!m).map((path) => ({ path, label: dev.label ?? null }));
  return [...own, ...(dev.children ?? []).flatMap(mountsOf)];
}

export function fromLsblk(dev: LsblkDevice): Drive {
  const device = dev.path ?? `/dev/${dev.name}`;
  const mountpoints = mountsOf(dev);
  const type = dev.type ?? 'disk';
  const description =
    [dev.vendor, dev.model]
      .map((s) => s?.trim())
      .filter(Boolean)
      .join(' ') || `${type} device ${dev.name ?? device}`;
  return {
    device,
    raw: device,
    description,
    size: dev.size === null || dev.size === undefined ? null : Number(dev.size),
    blockSize: num(dev['phy-sec'], 512),
    logicalBlockSize: num(dev['log-sec'], 512),
    bus: (dev.tran ?? type).toUpperCase(),
    removable: bool(dev.rm) || type === 'loop',
    usb: dev.tran === 'usb',
    card: dev.tran === 'mmc',
    system: mountpoints.some((m) => SYSTEM_MOUNTS.has(m.path)),
    readOnly: bool(dev.ro),
    virtual: type === 'loop' || (dev.name ?? '').startsWith('zram'),
    mountpoints,
    source: 'extra',
  };
}
