/** `nexus verify IMAGE --drive DEV`: compare a drive with an image, bypassing the page cache. */
import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import { NexusError } from '../../../src-shared/errors';
import type { Drive } from '../../../src-shared/drives';
import { listDrives } from '../drives/list';
import { loadBmap } from './flash';
import { devicePathFor, type TargetDevice } from './device';
import { targetError } from './errors';
import { openSource } from './source';
import { verifyImageOnDevice } from './verify';
import { DEFAULT_CHUNK } from './writer';

export interface VerifyDriveResult {
  device: string;
  ok: boolean;
  bytesCompared: number;
  mismatchOffset?: number;
}

async function openReadOnly(drive: Drive): Promise<TargetDevice> {
  const c = constants as typeof constants & { O_DIRECT?: number };
  const flags = constants.O_RDONLY | (process.platform === 'linux' ? (c.O_DIRECT ?? 0) : 0);
  const fh = await open(devicePathFor(drive), flags).catch((e) => {
    throw targetError(drive.device, e, 'open');
  });
  return {
    device: drive.device,
    write: async () => {
      throw new Error('read-only');
    },
    read: async (b, off, len, pos) => (await fh.read(b, off, len, pos)).bytesRead,
    flush: async () => undefined,
    close: () => fh.close(),
  };
}

export async function verifyDrive(
  imagePath: string,
  device: string,
  o: { bmap?: string | null; signal?: AbortSignal; onBytes?: (n: number) => void; listDrives?: () => Promise<Drive[]> } = {},
): Promise<VerifyDriveResult> {
  const drives = await (o.listDrives ?? (() => listDrives()))();
  const drive = drives.find((d) => d.device === device || d.raw === device);
  if (!drive) throw new NexusError('DRIVE_NOT_FOUND', `${device} is not a known drive.`, 'Run `nexus drives` to list the drives.');
  const bmap = o.bmap ? await loadBmap(o.bmap) : null;
  const source = await openSource({ kind: 'file', path: imagePath }, o.signal);
  const dev = await openReadOnly(drive);
  try {
    const r = await verifyImageOnDevice(source, bmap, dev, {
      chunkSize: DEFAULT_CHUNK,
      ...(o.signal ? { signal: o.signal } : {}),
      ...(o.onBytes ? { onBytes: o.onBytes } : {}),
    });
    return {
      device: drive.device,
      ok: r.mismatchOffset === undefined,
      bytesCompared: r.bytesCompared,
      ...(r.mismatchOffset !== undefined ? { mismatchOffset: r.mismatchOffset } : {}),
    };
  } finally {
    await dev.close().catch(() => undefined);
    await source.close().catch(() => undefined);
  }
}
