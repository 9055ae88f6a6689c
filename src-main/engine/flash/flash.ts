/**
 * flash(): the whole privileged operation — enumerate drives, open the source, re-check every
 * target against the safety policy, unmount, write, verify, eject. Runs in the privileged helper
 * (or in-process in a CLI already running as root). Never called in the Electron main process.
 */
import { constants } from 'node:fs';
import { open, readFile } from 'node:fs/promises';
import { NexusError } from '../../../src-shared/errors';
import type { Drive } from '../../../src-shared/drives';
import { FlashRequest, type FlashProgress, type FlashRequestInput, type FlashResult } from '../../../src-shared/flash';
import { MAX_BMAP_BYTES, checkRequestedTarget, type TargetVerdict } from '../../../src-shared/safety';
import { listDrives } from '../drives/list';
import { appRoot } from '../paths';
import { bmapSelfChecksumOk, parseBmap, type Bmap } from './bmap';
import type { TargetDevice } from './device';
import { unmountDrive } from './host-ops';
import { openSource, type OpenedSource, type PinnedFile } from './source';
import { writeImage } from './writer';

export interface FlashRunOptions {
  signal?: AbortSignal;
  onProgress?: (p: FlashProgress) => void;
  log?: (level: 'debug' | 'info' | 'warn' | 'error', message: string) => void;
  /** Drive enumeration (defaults to listDrives() with the NEXUS_EXTRA_DRIVES hook). */
  listDrives?: () => Promise<Drive[]>;
  openTarget?: (d: Drive) => Promise<TargetDevice>;
  chunkSize?: number;
  writeDepth?: number;
  progressIntervalMs?: number;
  /** Skip unmounting (tests on fakes). */
  skipUnmount?: boolean;
  /** The privileged helper's checked files: read through a no-follow open of that very inode (source-check.ts). */
  pinnedSource?: PinnedFile;
  pinnedBmap?: PinnedFile;
}

/** Reads a pinned block map: no link followed, the checked inode, at most MAX_BMAP_BYTES. */
async function readPinned(path: string, pinned: PinnedFile): Promise<string> {
  const fh = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  try {
    const st = await fh.stat();
    if (!st.isFile() || st.dev !== pinned.dev || st.ino !== pinned.ino || st.size > MAX_BMAP_BYTES) throw new Error('replaced after it was checked');
    return await fh.readFile('utf8');
  } finally {
    await fh.close();
  }
}

export async function loadBmap(path: string, pinned?: PinnedFile): Promise<Bmap> {
  const xml = await (pinned ? readPinned(path, pinned) : readFile(path, 'utf8')).catch((e: Error) => {
    throw new NexusError('BMAP_NOT_FOUND', `Cannot read the block map ${path}${pinned ? ` (${e.message})` : ''}.`, 'Check the --bmap path.');
  });
  if (!bmapSelfChecksumOk(xml))
    throw new NexusError('BMAP_INVALID', `The block map ${path} fails its own checksum.`, 'The .bmap file is damaged; download it again.');
  return parseBmap(xml);
}

/** Paths that must never be on a target: the image, its bmap, the app. */
export function protectedPaths(req: FlashRequest): string[] {
  return [...(req.source.kind === 'file' ? [req.source.path] : []), ...(req.bmap ? [req.bmap] : []), appRoot(), process.execPath];
}

/** Policy verdicts for every requested target; throws TARGET_REFUSED naming each refusal. */
export function enforcePolicy(req: FlashRequest, drives: readonly Drive[], imageSize: number | null): { targets: Drive[]; verdicts: TargetVerdict[] } {
  const ctx = {
    imageSize,
    protectedPaths: protectedPaths(req),
    allDrives: drives,
    includeSystem: req.includeSystem,
    confirmedSystemDevices: req.confirmedSystemDevices,
  };
  const verdicts = req.targets.map((t) => checkRequestedTarget(t, ctx));
  const refused = verdicts.filter((v) => !v.allowed);
  if (refused.length) {
    const reasons = refused.flatMap((v) => v.refusals);
    const [first] = reasons;
    const all = reasons.map((r) => r.message).join(' ') || 'A target drive was refused.';
    throw new NexusError(first && refused.length === 1 && reasons.length === 1 ? first.code : 'TARGET_REFUSED', all, first?.hint);
  }
  if (new Set(req.targets).size !== req.targets.length) throw new NexusError('TARGET_REFUSED', 'The same drive was given twice.', 'List each drive once.');
  const targets = req.targets.map((t) => {
    const drive = drives.find((d) => d.device === t || d.raw === t);
    // checkRequestedTarget refuses a device that is not in the list, so this is only reached by a bug.
    if (!drive) throw new NexusError('TARGET_REFUSED', `${t} is not a drive of this machine.`, 'Run "nexus drives" to list the drives.');
    return drive;
  });
  return { targets, verdicts };
}

export async function flash(input: FlashRequestInput, o: FlashRunOptions = {}): Promise<FlashResult> {
  const req = FlashRequest.parse(input);
  // The drive listing (a child process, tens of ms) runs while the bmap is parsed and the source opened.
  const listing = (o.listDrives ?? (() => listDrives()))();
  listing.catch(() => undefined); // awaited below
  const bmap = req.bmap ? await loadBmap(req.bmap, o.pinnedBmap) : null;
  const source: OpenedSource = await openSource(req.source, o.signal, o.pinnedSource);
  try {
    const drives = await listing;
    const size = bmap ? bmap.imageSize : source.size;
    if (bmap && source.size !== null && source.size !== bmap.imageSize) {
      throw new NexusError(
        'BMAP_MISMATCH',
        `The block map describes a ${bmap.imageSize}-byte image but ${source.name} is ${source.size} bytes.`,
        'Use the .bmap generated for this image.',
      );
    }
    const { targets, verdicts } = enforcePolicy(req, drives, size);
    for (const v of verdicts) for (const w of v.warnings) o.log?.('warn', w.message);
    // Unmount what the fresh listing shows mounted (the exclusive open then catches anything left).
    if (!o.skipUnmount) for (const t of targets) if (t.mountpoints.length > 0) await unmountDrive(t);
    return await writeImage({
      source,
      bmap,
      targets,
      verify: req.verify,
      eject: req.eject,
      ...(o.signal ? { signal: o.signal } : {}),
      ...(o.onProgress ? { onProgress: o.onProgress } : {}),
      ...(o.log ? { log: o.log } : {}),
      ...(o.openTarget ? { openTarget: o.openTarget } : {}),
      ...(o.chunkSize ? { chunkSize: o.chunkSize } : {}),
      ...(o.writeDepth ? { writeDepth: o.writeDepth } : {}),
      ...(o.progressIntervalMs ? { progressIntervalMs: o.progressIntervalMs } : {}),
    });
  } catch (e) {
    await source.close().catch(() => undefined);
    throw e;
  }
}

/** Exact image size for the up-front checks (bmap, decompressed or raw size), without writing anything. */
export async function probeImageSize(src: FlashRequest['source'], bmapPath: string | null): Promise<number | null> {
  if (bmapPath) return (await loadBmap(bmapPath)).imageSize;
  if (src.kind === 'url') return null;
  const s = await openSource(src);
  await s.close();
  return s.size;
}
