/**
 * A target drive opened for unbuffered, exclusive I/O.
 * Linux: O_DIRECT | O_EXCL (O_EXCL on a block device fails with EBUSY while anything has it mounted).
 * macOS: the raw node /dev/rdiskN is uncached by itself. Windows: \\.\PhysicalDriveN (Node cannot
 * pass FILE_FLAG_NO_BUFFERING; verification there relies on the volume being dismounted).
 */
import { constants } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import type { Drive } from '../../../src-shared/drives';
import { targetError } from './errors';

export interface TargetDevice {
  readonly device: string;
  write(buf: Buffer, offset: number, length: number, position: number): Promise<void>;
  read(buf: Buffer, offset: number, length: number, position: number): Promise<number>;
  flush(): Promise<void>;
  close(): Promise<void>;
}

export function directFlags(): number {
  const c = constants as typeof constants & { O_DIRECT?: number };
  if (process.platform === 'linux') return constants.O_RDWR | (c.O_DIRECT ?? 0) | constants.O_EXCL;
  return constants.O_RDWR;
}

export function devicePathFor(drive: Drive): string {
  return process.platform === 'darwin' ? drive.raw : drive.device;
}

export async function openTarget(drive: Drive): Promise<TargetDevice> {
  const path = devicePathFor(drive);
  let fh: FileHandle;
  try {
    fh = await open(path, directFlags());
  } catch (e) {
    throw targetError(drive.device, e, 'open');
  }
  return new DirectDevice(drive.device, fh);
}

class DirectDevice implements TargetDevice {
  constructor(
    readonly device: string,
    private readonly fh: FileHandle,
  ) {}

  async write(buf: Buffer, offset: number, length: number, position: number): Promise<void> {
    let done = 0;
    while (done < length) {
      let n: number;
      try {
        ({ bytesWritten: n } = await this.fh.write(buf, offset + done, length - done, position + done));
      } catch (e) {
        throw targetError(this.device, e, 'write');
      }
      // A short write means the end of the device: the next attempt reports ENOSPC.
      if (n === 0) throw targetError(this.device, Object.assign(new Error('no space'), { code: 'ENOSPC' }), 'write');
      done += n;
    }
  }

  async read(buf: Buffer, offset: number, length: number, position: number): Promise<number> {
    try {
      return (await this.fh.read(buf, offset, length, position)).bytesRead;
    } catch (e) {
      throw targetError(this.device, e, 'read');
    }
  }

  async flush(): Promise<void> {
    try {
      await this.fh.datasync();
    } catch (e) {
      throw targetError(this.device, e, 'flush');
    }
  }

  close(): Promise<void> {
    return this.fh.close().catch(() => undefined);
  }
}
