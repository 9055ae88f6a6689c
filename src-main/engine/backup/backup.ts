/**
 * `nexus backup` and the app's "Back up a card": read a drive into NAME.img.zst with NAME.bmap next to it.
 * Only the blocks the plan maps are read (plan.ts); the rest goes into the stream as zeros, which zstd stores
 * in next to nothing. Each mapped range is hashed as it is read (the .bmap's checksums); the finished file is
 * then decompressed again and every range compared with those hashes before it gets its final name. The
 * result restores through the ordinary write path (`nexus flash NAME.img.zst`: the .bmap is found next to it).
 */
import { createHash } from 'node:crypto';
import { open, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Writable } from 'node:stream';
import { execa } from 'execa';
import type { BackupProgress, BackupResult } from '../../../src-shared/backup';
import type { Drive } from '../../../src-shared/drives';
import { CancelledError, NexusError } from '../../../src-shared/errors';
import { driveOwningPath } from '../../../src-shared/safety';
import { listDrives } from '../drives/list';
import { requireTool } from '../host-tools';
import { bmapXml } from '../image/bmap';
import { BACKUP_BLOCK, planBackup } from './plan';

export interface BackupOptions {
  signal?: AbortSignal;
  onProgress?: (p: BackupProgress) => void;
  /** Drive enumeration (default: listDrives() with the NEXUS_EXTRA_DRIVES hook). */
  listDrives?: () => Promise<Drive[]>;
  /** Back up a system drive (`--include-system`). */
  includeSystem?: boolean;
  /** Replace an existing OUTPUT. */
  force?: boolean;
  /** zstd level (default 3) and threads (default 0: one per core). */
  level?: number;
  threads?: number;
}

const CHUNK = 4 << 20;
const ZEROS = Buffer.alloc(CHUNK);

export const bmapPathFor = (output: string) => output.replace(/\.img\.zst$/, '.bmap');

class Meter {
  private started = Date.now();
  private last = 0;
  constructor(
    private readonly onProgress: BackupOptions['onProgress'],
    private phase: BackupProgress['phase'],
    private total: number,
  ) {}
  next(phase: BackupProgress['phase'], total: number) {
    this.phase = phase;
    this.total = total;
    this.started = Date.now();
    this.last = 0;
  }
  report(done: number, force = false) {
    if (!this.onProgress || (!force && Date.now() - this.last < 200)) return;
    this.last = Date.now();
    const secs = (Date.now() - this.started) / 1000;
    const speed = secs > 0 ? done / secs : 0;
    this.onProgress({
      phase: this.phase,
      bytesDone: done,
      bytesTotal: this.total,
      speed,
      etaSeconds: speed > 0 ? Math.max(0, (this.total - done) / speed) : null,
    });
  }
}

/** Writes to a stream with back-pressure; fails when the consumer died. */
async function put(out: Writable, chunk: Buffer): Promise<void> {
  if (out.write(chunk)) return;
  await new Promise<void>((resolve, reject) => {
    const done = (err?: Error) => {
      out.off('drain', onDrain);
      out.off('close', onClose);
      if (err) reject(err);
      else resolve();
    };
    const onDrain = () => done();
    const onClose = () => done(new Error('the compressor stopped'));
    out.on('drain', onDrain);
    out.on('close', onClose);
  });
}

async function findDrive(device: string, o: BackupOptions): Promise<{ drive: Drive; drives: Drive[] }> {
  const drives = await (o.listDrives ?? (() => listDrives()))();
  const drive = drives.find((d) => d.device === device || d.raw === device);
  if (!drive)
    throw new NexusError('DRIVE_NOT_FOUND', `${device} is not a drive.`, 'Run `nexus drives` to list the drives; only a listed drive can be backed up.');
  if (drive.system && !o.includeSystem)
    throw new NexusError(
      'SYSTEM_DRIVE',
      `${drive.device} is a system drive (it holds the running system).`,
      'A backup of a running system is not consistent; pass --include-system only if you know it is not in use.',
    );
  if (drive.size === null || drive.size === 0) throw new NexusError('UNKNOWN_SIZE', `The size of ${drive.device} is unknown.`, 'Re-insert the drive.');
  return { drive, drives };
}

export async function backupDrive(device: string, output: string, o: BackupOptions = {}): Promise<BackupResult> {
  const started = Date.now();
  if (!/\.img\.zst$/.test(output))
    throw new NexusError('USAGE_BACKUP_OUTPUT', `${output} does not end in .img.zst.`, 'Name the backup like card.img.zst (its block map goes to card.bmap).');
  const { drive, drives } = await findDrive(device, o);
  const outDir = dirname(output);
  if (driveOwningPath(output, drives)?.device === drive.device) {
    throw new NexusError(
      'OUTPUT_ON_SOURCE',
      `${output} would be written onto ${drive.device}, the drive being backed up.`,
      'Save the backup on another drive.',
    );
  }
  const existing = await stat(output).catch(() => null);
  if (existing && !o.force) throw new NexusError('OUTPUT_EXISTS', `${output} already exists.`, 'Choose another name, or pass --force to replace it.');
  if (existing && !existing.isFile()) throw new NexusError('OUTPUT_NOT_A_FILE', `${output} is not a regular file.`, 'Choose a file name.');
  if (
    !(await stat(outDir).then(
      (s) => s.isDirectory(),
      () => false,
    ))
  )
    throw new NexusError('OUTPUT_DIR_MISSING', `${outDir} is not a directory.`, 'Create it first.');
  await requireTool('zstd', 'writing .img.zst backups');

  const fh = await open(drive.device, 'r').catch((e: NodeJS.ErrnoException) => {
    throw new NexusError(
      e.code === 'EACCES' || e.code === 'EPERM' ? 'PERMISSION_DENIED' : 'DRIVE_UNREADABLE',
      `Cannot open ${drive.device} for reading: ${e.code ?? e.message}.`,
      e.code === 'EACCES' || e.code === 'EPERM' ? 'Reading a whole drive needs administrator rights: run it with sudo.' : 'Re-insert the drive and try again.',
    );
  });
  const size = drive.size!;
  const readAt = async (position: number, length: number) => {
    const b = Buffer.alloc(length);
    const { bytesRead } = await fh.read(b, 0, length, position);
    return b.subarray(0, bytesRead);
  };
  const partial = `${output}.partial-${process.pid}-${Date.now().toString(36)}`;
  const bmapPath = bmapPathFor(output);
  const meter = new Meter(o.onProgress, 'scanning', size);
  try {
    meter.report(0, true);
    const plan = await planBackup(readAt, size);
    const mappedBytes = plan.mapped.reduce((n, r) => n + r.end - r.start, 0);
    meter.next('reading', mappedBytes);
    const zstd = execa('zstd', ['-q', `-${o.level ?? 3}`, `-T${o.threads ?? 0}`, `--stream-size=${size}`, '-f', '-o', partial, '-'], {
      stdin: 'pipe',
      stdout: 'ignore',
      stderr: 'pipe',
      reject: false,
      ...(o.signal ? { cancelSignal: o.signal } : {}),
    });
    const stdin = zstd.stdin!;
    stdin.on('error', () => undefined); // reported by zstd's exit status
    const hashes: string[] = [];
    let pos = 0;
    let done = 0;
    const zeros = async (until: number) => {
      while (pos < until) {
        const n = Math.min(CHUNK, until - pos);
        await put(stdin, n === CHUNK ? ZEROS : ZEROS.subarray(0, n));
        pos += n;
      }
    };
    try {
      // The next chunk is read while the current one is hashed and handed to zstd.
      const readChunk = async (at: number, n: number) => {
        const b = Buffer.allocUnsafe(n);
        const { bytesRead } = await fh.read(b, 0, n, at);
        if (bytesRead !== n)
          throw new NexusError(
            'DRIVE_READ_SHORT',
            `${drive.device} ended at byte ${at + bytesRead}, before its reported size ${size}.`,
            'The drive may have been removed; re-insert it and try again.',
          );
        return b;
      };
      for (const r of plan.mapped) {
        await zeros(r.start);
        const h = createHash('sha256');
        let next: Promise<Buffer> | null = readChunk(pos, Math.min(CHUNK, r.end - pos));
        while (next) {
          if (o.signal?.aborted) throw new CancelledError();
          const b: Buffer = await next;
          const after: number = pos + b.length;
          next = after < r.end ? readChunk(after, Math.min(CHUNK, r.end - after)) : null;
          next?.catch(() => undefined); // awaited on the next turn
          h.update(b);
          await put(stdin, b);
          pos = after;
          done += b.length;
          meter.report(done);
        }
        hashes.push(h.digest('hex'));
      }
      await zeros(size);
      stdin.end();
    } catch (e) {
      stdin.destroy();
      await zstd;
      throw e;
    }
    const z = await zstd;
    if (o.signal?.aborted) throw new CancelledError();
    if (z.exitCode !== 0)
      throw new NexusError(
        'BACKUP_WRITE_FAILED',
        `zstd could not write ${partial}: ${String(z.stderr).trim() || `exit ${z.exitCode}`}.`,
        'Check the free space where the backup goes.',
      );

    // Verify: the file on disk decodes to exactly what was read.
    meter.next('verifying', size);
    meter.report(0, true);
    await verifyBackup(partial, size, o.signal);

    const ranges = plan.mapped.map((r, i) => ({ first: r.start / BACKUP_BLOCK, last: Math.ceil(r.end / BACKUP_BLOCK) - 1, sha256: hashes[i]! }));
    await writeFile(`${bmapPath}.partial`, bmapXml({ imageSize: size, ranges }));
    await rename(`${bmapPath}.partial`, bmapPath);
    await rename(partial, output);
    meter.next('done', size);
    meter.report(size, true);
    return {
      device: drive.device,
      image: output,
      bmap: bmapPath,
      imageSize: size,
      mappedBytes,
      compressedSize: (await stat(output)).size,
      regions: plan.regions,
      verified: true,
      seconds: (Date.now() - started) / 1000,
    };
  } catch (e) {
    await rm(partial, { force: true });
    await rm(`${bmapPath}.partial`, { force: true });
    if (o.signal?.aborted) throw new CancelledError();
    throw e;
  } finally {
    await fh.close();
  }
}

/**
 * The file decodes to exactly the stream it was made from: zstd checks every frame's content checksum (computed
 * by the compressor over the bytes it was given, the same buffers that were hashed for the .bmap) and the frame's
 * recorded size. Cheaper than piping the whole image back through this process, and it proves the same thing.
 */
export async function verifyBackup(file: string, size: number, signal?: AbortSignal): Promise<void> {
  const fail = (why: string) =>
    new NexusError(
      'BACKUP_VERIFY_FAILED',
      `The backup ${file} does not hold what was read: ${why}.`,
      'Check the disk the backup is written to, then back up again.',
    );
  const t = await execa('zstd', ['-tq', '--', file], { reject: false, ...(signal ? { cancelSignal: signal } : {}) });
  if (signal?.aborted) throw new CancelledError();
  if (t.exitCode !== 0) throw fail(`zstd: ${String(t.stderr).trim() || `exit ${t.exitCode}`}`);
  const l = await execa('zstd', ['-lv', '--', file], { reject: false });
  const m = /Decompressed Size:.*\((\d+) B\)/.exec(`${l.stdout}\n${l.stderr}`);
  if (!m || Number(m[1]) !== size) throw fail(`it records ${m ? m[1] : 'no'} bytes, not ${size}`);
}
