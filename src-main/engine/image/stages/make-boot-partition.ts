/** Stage "boot": the boot partition's files (kernel or UKI, initramfs, loader configuration, DTBs) on FAT, and raw partitions. */
import { createHash } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { NexusError } from '../../../../src-shared/errors';
import type { PlannedPartition } from '../../../../src-shared/plan';
import type { Stage } from '../../runner';
import { packageFile, packageFiles } from '../boot-sources';
import { blsEntry, extlinuxConf, loaderConf, rpiCmdlineTxt, rpiConfigTxt, type BootNames } from '../config/boot';
import { osRelease } from '../config/etc';
import { readEntry } from '../content';
import { writeFat, type FatFile } from '../fat/writer';
import { fatUsedPrefix } from '../fs-extent';
import { mbrPartitionHint } from '../mbr-hint';
import { buildUki } from '../uki';
import { cachedFor } from '../cache';
import type { BootPartitionMade, FilesystemsMade, PartitionContent } from './image-parts';

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

export const makeBootPartitionStage: Stage<FilesystemsMade, BootPartitionMade> = {
  id: 'boot',
  title: 'Make the boot partition',
  async run(input, ctx) {
    const { plan, configured, seed, epoch, verity } = input;
    const boot = plan.boot;
    const files: FatFile[] = [];
    const kernelBytes = await readEntry(configured.kernel.image);
    const initrd = await readFile(input.initramfs);
    const cmdline = [boot.kernelCmdline, verity ? `nexus.verity=${verity.rootHash}` : '', mbrPartitionHint(plan, seed), 'panic=10'].filter(Boolean).join(' ');
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
          const stubEntry = [...configured.packages.values()].find((e) => /\/linux(x64|aa64|riscv64)\.efi\.stub$/.test(e.path));
          if (!stubEntry)
            throw new NexusError(
              'BOOT_FILE_MISSING',
              'No systemd EFI stub (systemd-efistub) in the packages, so no unified kernel image can be made.',
              "Add systemd-efistub to the board's boot packages.",
            );
          const stub = await readEntry(stubEntry);
          const osrel = osRelease(plan);
          const key = { v: 4, stub: sha256(stub), kernel: sha256(kernelBytes), initrd: sha256(initrd), cmdline, osrel, epoch };
          const dir = await cachedFor(ctx, 'uki', key, async (d) => {
            await writeFile(join(d, 'uki.efi'), buildUki({ stub, osRelease: osrel, cmdline, kernel: kernelBytes, initrd, epoch }));
          });
          files.push({ dest: f.dest, data: await readFile(join(dir, 'uki.efi')) });
          break;
        }
        default:
          for (const pf of packageFiles(configured.packages, f.from, f.dest)) files.push({ dest: pf.dest, data: await readEntry(pf.entry) });
      }
    }
    const part = plan.partitions.find((p) => p.role === 'esp' || p.role === 'boot');
    if (!part)
      throw new NexusError('PLAN_INVALID', `The ${plan.board.name} plan has no ESP or boot partition.`, 'Fix the board definition in profiles/boards/.');
    const sizeBytes = (part.sizeMiB === 'auto' ? 64 : part.sizeMiB) * 1024 * 1024;
    const total = files.reduce((n, f) => n + f.data.length, 0);
    if (total > sizeBytes * 0.95)
      throw new NexusError(
        'BOOT_PARTITION_FULL',
        `The boot files (${Math.ceil(total / 1048576)} MiB) do not fit the ${part.sizeMiB} MiB ${part.label} partition.`,
        'Use a board definition with a larger boot partition.',
      );
    const volumeId = seed.hex('fat-volid', 4);
    // v3: written in-process by fat/writer.ts (v2 partitions were made by mkfs.vfat + mtools).
    const key = { v: 3, files: files.map((f) => [f.dest, sha256(f.data)]).sort(), sizeBytes, fat: boot.fat, label: part.label, volumeId, epoch };
    const dir = await cachedFor(ctx, 'boot-fat', key, async (d) => {
      await writeFat(join(d, 'boot.vfat'), files, {
        sizeBytes,
        fat: boot.fat,
        label: part.label === 'ESP' ? 'NEXUSESP' : 'NEXUSBOOT',
        volumeId,
        epoch,
        signal: ctx.signal,
      });
    });
    const path = join(dir, 'boot.vfat');
    const contents = new Map<PlannedPartition['role'], PartitionContent>(input.contents);
    contents.set(part.role, { path, policy: { kind: 'prefix', bytes: await fatUsedPrefix(path) } });
    for (const raw of plan.partitions.filter((p) => p.filesystem === 'raw')) {
      if (!raw.from)
        throw new NexusError('BOOT_SOURCE_INVALID', `The raw partition ${raw.label} names no source.`, 'Fix the board definition in profiles/boards/.');
      const data = await readEntry(packageFile(configured.packages, raw.from, raw.label));
      if (typeof raw.sizeMiB === 'number' && data.length > raw.sizeMiB * 1048576)
        throw new NexusError(
          'RAW_PARTITION_TOO_SMALL',
          `${raw.from} is larger than the ${raw.sizeMiB} MiB ${raw.label} partition.`,
          'Fix the board definition.',
        );
      const rawDir = await cachedFor(ctx, 'raw', { v: 1, sha: sha256(data) }, async (d) => writeFile(join(d, 'raw.bin'), data));
      contents.set(raw.role, { path: join(rawDir, 'raw.bin'), policy: { kind: 'all' } });
    }
    return { ...input, contents, kernelCmdline: cmdline };
  },
};
