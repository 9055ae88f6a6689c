/** Maps OS errors on a target to errors a user can act on. */
import { NexusError } from '../../../src-shared/errors';

export function targetError(device: string, err: unknown, during: 'open' | 'write' | 'read' | 'flush'): NexusError {
  if (err instanceof NexusError) return err;
  const e = err as NodeJS.ErrnoException;
  switch (e?.code) {
    case 'EPERM':
    case 'EROFS':
      // A locked SD card accepts open(O_RDWR) and fails the first write with EPERM on Linux.
      return new NexusError(
        'WRITE_PROTECTED',
        `${device} is write-protected: the ${during} was refused (${e.code}).`,
        'Slide the lock switch on the SD card or adapter to unlocked, re-insert it and try again.',
        { cause: err },
      );
    case 'EACCES':
      return new NexusError(
        'PERMISSION_DENIED',
        `No permission to ${during} ${device}.`,
        'Flashing needs administrator rights; on Windows, antivirus software may also block raw disk access.',
        { cause: err },
      );
    case 'EBUSY':
      return new NexusError(
        'DEVICE_BUSY',
        `${device} is busy: another program has it open or a partition is still mounted.`,
        'Close programs using the drive (file managers, terminals in it) and try again.',
        { cause: err },
      );
    case 'ENOSPC':
      return new NexusError(
        'TARGET_TOO_SMALL',
        `${device} ran out of space during the ${during}: the drive is smaller than the image or shrank (it was removed or failed).`,
        'Re-insert the drive and check its real capacity; counterfeit cards often report a fake size.',
        { cause: err },
      );
    case 'ENOENT':
    case 'ENXIO':
    case 'ENODEV':
      return new NexusError('DRIVE_GONE', `${device} disappeared during the ${during}.`, 'Re-insert the drive and start again.', { cause: err });
    case 'EIO':
      return new NexusError(
        'IO_ERROR',
        `The drive ${device} reported an I/O error during the ${during}.`,
        'The card or reader may be failing; try another card or reader.',
        { cause: err },
      );
    case 'EINVAL':
      return new NexusError(
        'DIRECT_IO_UNSUPPORTED',
        `${device} refused a direct (${during}) I/O request (EINVAL).`,
        'The device does not accept unbuffered I/O; report this with the device type.',
        { cause: err },
      );
    default:
      return new NexusError('TARGET_IO_FAILED', `${during} on ${device} failed: ${e?.message ?? String(err)}.`, 'Check the drive and try again.', {
        cause: err,
      });
  }
}
