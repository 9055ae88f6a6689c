/**
 * Image composition stages for the runner: configure → initramfs → filesystems → boot partition → assemble →
 * pack. Every expensive stage is cached by the hash of its inputs (see cache.ts), so a hostname-only change
 * rebuilds the root filesystem and what contains it, and reuses everything else.
 */
import { createHash } from 'node:crypto';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { NexusError } from '../../../src-shared/errors';
import type { BuildPlan, PlannedPartition } from '../../../src-shared/plan';
import { hashCanonical } from '../plan/canonical';
import type { FsEntry, FsManifest } from '../rootfs/entries';
import type { Stage, StageContext } from '../runner';
import { cachedStage } from './cache';
import { blsEntry, extlinuxConf, loaderConf, rpiCmdlineTxt, rpiConfigTxt, type BootNames } from './config/boot';
import { osRelease } from './config/etc';
import type { ApkDbInput } from './config/apk';
import { configureRoot, type ConfiguredRoot } from './configure';
import { readEntry } from './content';
import { f2fsMetadataPrefix, fatUsedPrefix, type MapPolicy } from './fs-extent';
import { buildDiskInitramfs, packInitramfs } from './initramfs';
import { layoutDisk, tableEntries, type DiskLayout } from './layout';
import { manifestHash } from './manifest-ops';
import { seedFor, type Seed } from './reproducible';
import type { PackageScripts } from './script-effects';
import { stageTree } from './staging';
import { makeErofs } from './tools/erofs';
import { makeExt4 } from './tools/ext4';
import { makeF2fs } from './tools/f2fs';
import { makeVfat, type FatFile } from './tools/vfat';
import { buildUki } from './uki';
import { writeVerityTree } from './verity-tree';
import type { LockFile } from './lock';

export interface ComposeState {
  plan: BuildPlan;
  /** Root filesystem from the feed stage (packages unpacked, nothing generated yet). */
  manifest: FsManifest;
  lock: LockFile;
  /** The unpack stage's install-script effects and script records, applied/emulated/deferred by configure. */
  scripts?: PackageScripts;
  /** The resolved packages and trusted keys, for apk's configuration on the device (config/apk.ts). */
  apk?: ApkDbInput;
  epoch: number;
  /** Override the stage cache root (tests). */
  cacheRoot?: string;
  seed?: Seed;
  configured?: ConfiguredRoot;
  rootHash?: string;
  initramfs?: string;
  /** Partition role → file holding its content. */
  contents: Map<string, { path: string; policy: MapPolicy }>;
  verity?: { rootHash: string; salt: string; uuid: string };
  kernelCmdline?: string;
  layout?: DiskLayout;
  cacheHits: string[];
  warnings: string[];
}

/** Seeds come from the plan without the user's customization, so a hostname change keeps every UUID. */
function layoutSeed(plan: BuildPlan, epoch: number): Seed {
  const { customization: _c, planHash: _h, outputs: _o, ...rest } = plan;
  return seedFor({ ...plan, planHash: hashCanonical(rest) }, epoch);
}

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

async function cached(state: ComposeState, ctx: StageContext, stage: string, key: unknown, produce: (dir: string) => Promise<void>): Promise<string> {
  const r = await cachedStage(stage, key, produce, state.cacheRoot);
  if (r.hit) {
    state.cacheHits.push(stage);
    ctx.log('info', `${stage}: reused from cache`);
  }
  return r.dir;
}

export const configureStage: Stage<ComposeState, ComposeState> = {
  id: 'configure',
  title: 'Configure the root filesystem',
  async run(state, ctx) {
    if (!state.plan.boot || !state.plan.filesystems)
      throw new NexusError('PLAN_NOT_COMPOSABLE', `${state.plan.box.name} is not built by composition.`, 'Use the official-image recipe for this Box.');
    state.seed = layoutSeed(state.plan, state.epoch);
    state.configured = await configureRoot(state.manifest, state.plan, state.epoch, state.scripts, state.apk);
    for (const l of state.configured.log) ctx.log('info', l);
    state.rootHash = manifestHash(state.configured.rootfs);
    state.warnings.push(...state.configured.warnings);
    return state;
  },
};

export const initramfsStage: Stage<ComposeState, ComposeState> = {
  id: 'initramfs',
  title: 'Build the initramfs',
  async run(state, ctx) {
    const cfg = state.configured!;
    const ram = state.plan.filesystems!.root.type === 'initramfs';
    const source = ram ? cfg.rootfs : await buildDiskInitramfs(cfg.rootfs, state.plan, cfg.modules.files, state.epoch);
    const key = { v: 3, kind: ram ? 'ram' : 'disk', tree: ram ? state.rootHash : manifestHash(source) };
    const dir = await cached(state, ctx, 'initramfs', key, async (d) => {
      ctx.progress({ message: `packing ${source.size} entries` });
      await writeFile(join(d, 'initramfs.img'), await packInitramfs(source));
    });
    state.initramfs = join(dir, 'initramfs.img');
    return state;
  },
};

export const filesystemsStage: Stage<ComposeState, ComposeState> = {
  id: 'filesystems',
  title: 'Make the filesystems',
  async run(state, ctx) {
    const { plan, seed } = state;
    const fs = plan.filesystems!;
    if (fs.root.type === 'erofs') {
      const uuid = seed!.uuid('root-fs');
      const salt = seed!.hex('verity-salt', 32);
      const vuuid = seed!.uuid('verity');
      const key = { v: 3, tree: state.rootHash, uuid, salt, vuuid, epoch: state.epoch, compression: fs.root.compression ?? 'none', verity: fs.root.verity };
      const dir = await cached(state, ctx, 'root-erofs', key, async (d) => {
        const staged = await stageTree(state.configured!.rootfs, await ctx.tempDir('nexus-root-'), ctx.signal);
        if (staged.ownershipNotApplied.length)
          ctx.log('warn', `not running as root: ${staged.ownershipNotApplied.length} non-root-owned files become root-owned in the EROFS root`);
        ctx.progress({ message: 'mkfs.erofs' });
        await makeErofs(join(d, 'root.erofs'), staged.dir, {
          uuid,
          epoch: state.epoch,
          compression: fs.root.compression,
          allRoot: staged.ownershipNotApplied.length > 0,
          signal: ctx.signal,
        });
        // EROFS images need not be 4 KiB multiples; verity works in 4 KiB blocks.
        const size = (await stat(join(d, 'root.erofs'))).size;
        if (size % 4096) await writeFile(join(d, 'root.erofs'), Buffer.alloc(4096 - (size % 4096)), { flag: 'a' });
        if (fs.root.verity) {
          ctx.progress({ message: 'dm-verity hash tree' });
          const v = await writeVerityTree(join(d, 'root.erofs'), join(d, 'root.verity'), { salt, uuid: vuuid }, ctx.signal);
          await writeFile(join(d, 'verity.json'), JSON.stringify(v));
        }
      });
      state.contents.set('root', { path: join(dir, 'root.erofs'), policy: { kind: 'all' } });
      if (fs.root.verity) {
        state.contents.set('root-verity', { path: join(dir, 'root.verity'), policy: { kind: 'all' } });
        state.verity = JSON.parse(await readFile(join(dir, 'verity.json'), 'utf8')) as ComposeState['verity'];
      }
    } else if (fs.root.type === 'ext4') {
      const uuid = seed!.uuid('root-fs');
      const hashSeed = seed!.uuid('root-htree');
      const key = { v: 2, tree: state.rootHash, uuid, hashSeed, epoch: state.epoch };
      const dir = await cached(state, ctx, 'root-ext4', key, async (d) => {
        const scratch = await ctx.tempDir('nexus-root-');
        const staged = await stageTree(state.configured!.rootfs, join(scratch, 'tree'), ctx.signal);
        // Content plus a third and 64 MiB of room to grow: "auto" sizes a writable root for use, not just to fit.
        const content = [...state.configured!.rootfs.values()].reduce((n, e) => n + (e.type === 'file' ? Math.ceil(e.size / 4096) * 4096 + 256 : 256), 0);
        const sizeBytes = Math.ceil((content * 1.34 + 64 * 1048576) / 1048576) * 1048576;
        ctx.progress({ message: 'mke2fs -d' });
        await makeExt4(join(d, 'root.ext4'), staged.dir, {
          sizeBytes,
          uuid,
          hashSeed,
          label: 'root',
          epoch: state.epoch,
          fixOwnership: staged.ownershipNotApplied,
          scratch,
          signal: ctx.signal,
        });
      });
      state.contents.set('root', { path: join(dir, 'root.ext4'), policy: { kind: 'all' } });
    }
    if (fs.overlay) {
      const part = plan.partitions.find((p) => p.role === 'state')!;
      const sizeBytes = (part.sizeMiB === 'auto' ? fs.overlay.sizeMiB : part.sizeMiB) * 1024 * 1024;
      const uuid = seed!.uuid('state-fs');
      const dir = await cached(state, ctx, 'state-f2fs', { v: 2, sizeBytes, uuid, epoch: state.epoch }, async (d) => {
        await makeF2fs(join(d, 'state.f2fs'), sizeBytes, { uuid, label: 'state', epoch: state.epoch, signal: ctx.signal });
      });
      const path = join(dir, 'state.f2fs');
      state.contents.set('state', { path, policy: { kind: 'prefix', bytes: await f2fsMetadataPrefix(path) } });
    }
    return state;
  },
};

/** Bytes of a `package:NAME:/path` source (or every file below it, for a trailing "/"). */
function packageFiles(packages: FsManifest, from: string, dest: string): Array<{ dest: string; entry: NonNullable<ReturnType<FsManifest['get']>> }> {
  const m = /^package:([^:]+):(\/.*)$/.exec(from);
  if (!m) throw new NexusError('BOOT_SOURCE_INVALID', `Unknown boot file source "${from}".`, 'Fix the board definition in profiles/boards/.');
  const [, pkg, path] = m as unknown as [string, string, string];
  if (path.endsWith('/')) {
    const found = [...packages.values()].filter((e) => e.type === 'file' && e.path.startsWith(path)).sort((a, b) => a.path.localeCompare(b.path));
    if (!found.length)
      throw new NexusError('BOOT_FILE_MISSING', `The package "${pkg}" has no files under ${path}.`, "Check the board's boot packages in the feed.");
    return found.map((entry) => ({ dest: dest.replace(/\/?$/, '/') + entry.path.slice(path.length), entry }));
  }
  const entry = packages.get(path) ?? dtbInOtherLayout(packages, pkg, path);
  if (!entry || entry.type !== 'file')
    throw new NexusError(
      'BOOT_FILE_MISSING',
      `The package "${pkg}" does not provide ${path}, which the board needs as ${dest}.`,
      `Check that the feed's ${pkg} package matches the board.`,
    );
  return [{ dest, entry }];
}

/**
 * Device trees live in two layouts in Alpine's kernels: `/boot/dtbs-<flavour>/<vendor>/<board>.dtb` (linux-lts,
 * linux-virt: `make dtbs_install`) and directly in `/boot/<board>.dtb` (linux-rpi). A board naming one layout still
 * finds the file the named package installed in the other one (same file name, same package).
 */
function dtbInOtherLayout(packages: FsManifest, pkg: string, path: string): FsEntry | undefined {
  if (!/^\/boot\/.*\.dtbo?$/.test(path)) return undefined;
  const base = path.split('/').pop()!;
  const hits = [...packages.values()].filter((e) => e.type === 'file' && e.owner === pkg && e.path.startsWith('/boot/') && e.path.split('/').pop() === base);
  return hits.length === 1 ? hits[0] : undefined;
}

/** MBR partitions have no names: tell the initramfs the disk signature and the partition numbers instead. */
export function mbrPartitionHint(plan: BuildPlan, seed: Seed): string {
  const disk = plan.partitions.filter((p) => p.role === 'root' || p.role === 'root-verity' || p.role === 'state');
  if (plan.partitionTable !== 'mbr' || disk.length === 0) return '';
  const id = Buffer.alloc(4);
  id.writeUInt32LE(mbrDiskId(seed));
  return `nexus.mbr=${id.toString('hex')} nexus.parts=${disk.map((p) => `${p.label}:${p.index}`).join(',')}`;
}

export const mbrDiskId = (seed: Seed) => parseInt(seed.hex('mbr-disk-id', 4), 16);

export const bootStage: Stage<ComposeState, ComposeState> = {
  id: 'boot',
  title: 'Make the boot partition',
  async run(state, ctx) {
    const { plan, configured } = state;
    const boot = plan.boot!;
    const files: FatFile[] = [];
    const kernelBytes = await readEntry(configured!.kernel.image);
    const initrd = await readFile(state.initramfs!);
    const cmdline = [boot.kernelCmdline, state.verity ? `nexus.verity=${state.verity.rootHash}` : '', mbrPartitionHint(plan, state.seed!), 'panic=10']
      .filter(Boolean)
      .join(' ');
    state.kernelCmdline = cmdline;
    const kernelDest = boot.files.find((f) => f.from === 'kernel' || /vmlinu|Image/.test(f.from))?.dest ?? 'vmlinuz';
    const names: BootNames = { kernel: kernelDest, initramfs: boot.files.find((f) => f.from === 'generated:initramfs')?.dest ?? 'initramfs' };
    const fdtdir = boot.files.some((f) => f.dest.startsWith('dtbs/')) ? 'dtbs' : undefined;
    const text = (s: string) => new TextEncoder().encode(s);
    for (const f of boot.files) {
      switch (f.from) {
        case 'kernel':
          files.push({ dest: f.dest, data: kernelBytes });
          break;
        case 'generated:initramfs':
          files.push({ dest: f.dest, data: initrd });
          break;
        case 'generated:config.txt':
          files.push({ dest: f.dest, data: text(rpiConfigTxt(names)) });
          break;
        case 'generated:cmdline.txt':
          files.push({ dest: f.dest, data: text(rpiCmdlineTxt(cmdline)) });
          break;
        case 'generated:extlinux.conf':
          files.push({ dest: f.dest, data: text(extlinuxConf(names, cmdline, fdtdir)) });
          break;
        case 'generated:loader.conf':
          files.push({ dest: f.dest, data: text(loaderConf()) });
          break;
        case 'generated:bls-entry':
          files.push({ dest: f.dest, data: text(blsEntry(`Nexus ${plan.box.name}`, names, cmdline)) });
          break;
        case 'generated:uki': {
          const stubEntry = [...configured!.packages.values()].find((e) => /\/linux(x64|aa64|riscv64)\.efi\.stub$/.test(e.path));
          if (!stubEntry)
            throw new NexusError(
              'BOOT_FILE_MISSING',
              'No systemd EFI stub (systemd-efistub) in the packages, so no unified kernel image can be made.',
              "Add systemd-efistub to the board's boot packages.",
            );
          const stub = await readEntry(stubEntry);
          const osrel = osRelease(plan);
          const key = { v: 4, stub: sha256(stub), kernel: sha256(kernelBytes), initrd: sha256(initrd), cmdline, osrel, epoch: state.epoch };
          const dir = await cached(state, ctx, 'uki', key, async (d) => {
            await writeFile(join(d, 'uki.efi'), buildUki({ stub, osRelease: osrel, cmdline, kernel: kernelBytes, initrd, epoch: state.epoch }));
          });
          files.push({ dest: f.dest, data: await readFile(join(dir, 'uki.efi')) });
          break;
        }
        default:
          for (const pf of packageFiles(configured!.packages, f.from, f.dest)) files.push({ dest: pf.dest, data: await readEntry(pf.entry) });
      }
    }
    const part = plan.partitions.find((p) => p.role === 'esp' || p.role === 'boot')!;
    const sizeBytes = (part.sizeMiB === 'auto' ? 64 : part.sizeMiB) * 1024 * 1024;
    const total = files.reduce((n, f) => n + f.data.length, 0);
    if (total > sizeBytes * 0.95)
      throw new NexusError(
        'BOOT_PARTITION_FULL',
        `The boot files (${Math.ceil(total / 1048576)} MiB) do not fit the ${part.sizeMiB} MiB ${part.label} partition.`,
        'Use a board definition with a larger boot partition.',
      );
    const volumeId = state.seed!.hex('fat-volid', 4);
    const key = { v: 2, files: files.map((f) => [f.dest, sha256(f.data)]).sort(), sizeBytes, fat: boot.fat, label: part.label, volumeId, epoch: state.epoch };
    const dir = await cached(state, ctx, 'boot-fat', key, async (d) => {
      await makeVfat(join(d, 'boot.vfat'), files, {
        sizeBytes,
        fat: boot.fat,
        label: part.label === 'ESP' ? 'NEXUSESP' : 'NEXUSBOOT',
        volumeId,
        epoch: state.epoch,
        scratch: await ctx.tempDir('nexus-fat-'),
        signal: ctx.signal,
      });
    });
    const path = join(dir, 'boot.vfat');
    state.contents.set(part.role, { path, policy: { kind: 'prefix', bytes: await fatUsedPrefix(path) } });
    for (const raw of plan.partitions.filter((p) => p.filesystem === 'raw')) {
      const [pf] = packageFiles(configured!.packages, raw.from!, raw.label);
      const data = await readEntry(pf!.entry);
      if (typeof raw.sizeMiB === 'number' && data.length > raw.sizeMiB * 1048576)
        throw new NexusError(
          'RAW_PARTITION_TOO_SMALL',
          `${raw.from} is larger than the ${raw.sizeMiB} MiB ${raw.label} partition.`,
          'Fix the board definition.',
        );
      const rawDir = await cached(state, ctx, 'raw', { v: 1, sha: sha256(data) }, async (d) => writeFile(join(d, 'raw.bin'), data));
      state.contents.set(raw.role, { path: join(rawDir, 'raw.bin'), policy: { kind: 'all' } });
    }
    return state;
  },
};

/** Content size per planned partition, for "auto" sizes. */
export async function contentSizes(state: ComposeState): Promise<Map<PlannedPartition['role'], number>> {
  const out = new Map<PlannedPartition['role'], number>();
  for (const [role, c] of state.contents) out.set(role as PlannedPartition['role'], (await stat(c.path)).size);
  return out;
}

export { tableEntries, layoutDisk };
