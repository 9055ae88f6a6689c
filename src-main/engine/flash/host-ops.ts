/** Unmounting before the write and ejecting after it, per platform. */
import { execa } from 'execa';
import { NexusError } from '../../../src-shared/errors';
import type { Drive } from '../../../src-shared/drives';

interface LsblkMounts {
  blockdevices?: Array<{ mountpoints?: Array<string | null>; children?: LsblkMounts['blockdevices'] }>;
}

function collectMounts(devs: LsblkMounts['blockdevices']): string[] {
  return (devs ?? []).flatMap((d) => [...(d.mountpoints ?? []).filter((m): m is string => !!m && m !== '[SWAP]'), ...collectMounts(d.children)]);
}

/** Unmounts every partition of the drive (deepest mount points first). */
export async function unmountDrive(drive: Drive): Promise<void> {
  if (process.platform === 'linux') {
    const r = await execa('lsblk', ['-J', '-o', 'PATH,MOUNTPOINTS', drive.device], { reject: false });
    if (r.exitCode !== 0) return;
    const mounts = collectMounts((JSON.parse(r.stdout) as LsblkMounts).blockdevices).sort((a, b) => b.length - a.length);
    for (const m of mounts) {
      const u = await execa('umount', [m], { reject: false });
      if (u.exitCode !== 0) {
        throw new NexusError(
          'DEVICE_BUSY',
          `Could not unmount ${m} on ${drive.device}: ${String(u.stderr).trim()}.`,
          'Close programs using files on the drive and try again.',
        );
      }
    }
  } else if (process.platform === 'darwin') {
    const u = await execa('diskutil', ['unmountDisk', drive.device], { reject: false });
    if (u.exitCode !== 0)
      throw new NexusError(
        'DEVICE_BUSY',
        `diskutil could not unmount ${drive.device}: ${String(u.stderr).trim()}.`,
        'Close programs using the drive and try again.',
      );
  } else if (process.platform === 'win32') {
    // Take every volume on the disk offline so Windows releases its cache and locks (diskpart script via stdin).
    const num = /PhysicalDrive(\d+)/i.exec(drive.device)?.[1];
    if (num === undefined) return;
    const script = `select disk ${num}\nattributes disk clear readonly noerr\nclean noerr\nrescan\n`;
    await execa('diskpart', [], { input: script, reject: false });
  }
}

/** Ejects / powers off the drive. Returns false (and never throws) when the OS says no. */
export async function ejectDrive(drive: Drive): Promise<boolean> {
  const cmd: [string, string[]] | null =
    process.platform === 'linux' ? ['eject', [drive.device]] : process.platform === 'darwin' ? ['diskutil', ['eject', drive.device]] : null;
  if (!cmd) return false;
  const r = await execa(cmd[0], cmd[1], { reject: false }).catch(() => ({ exitCode: 1 }));
  return r.exitCode === 0;
}
