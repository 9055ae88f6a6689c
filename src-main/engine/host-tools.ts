/**
 * Host tools the engine runs (always through execa with argument arrays). One registry, so
 * `nexus doctor` can list them and every stage can say exactly what to install when one is missing.
 */
import { access, constants } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { NexusError } from '../../src-shared/errors';

export interface HostTool {
  /** Executable name looked up on PATH. */
  command: string;
  /** Features that need it (shown by `nexus doctor`). */
  features: string[];
  packages: { apt?: string; dnf?: string; pacman?: string; brew?: string; winget?: string };
  /** Absolute files that are not executables but are needed (firmware blobs etc.). */
  optional?: boolean;
}

export const HOST_TOOLS: readonly HostTool[] = [
  // The build writes ext4 roots itself (image/ext4/); e2fsprogs only cross-checks them.
  {
    command: 'mke2fs',
    features: ['cross-check: ext4 roots (the build writes them itself)'],
    packages: { apt: 'e2fsprogs', dnf: 'e2fsprogs', pacman: 'e2fsprogs', brew: 'e2fsprogs' },
    optional: true,
  },
  {
    command: 'e2fsck',
    features: ['cross-check: ext4 filesystem checks (the build writes them itself)'],
    packages: { apt: 'e2fsprogs', dnf: 'e2fsprogs', pacman: 'e2fsprogs', brew: 'e2fsprogs' },
    optional: true,
  },
  // The build writes EROFS roots itself (image/erofs/); erofs-utils only cross-checks them.
  {
    command: 'mkfs.erofs',
    features: ['cross-check: EROFS roots (the build writes them itself)'],
    packages: { apt: 'erofs-utils', dnf: 'erofs-utils', pacman: 'erofs-utils', brew: 'erofs-utils' },
    optional: true,
  },
  // The build writes dm-verity trees and UKIs itself (verity-tree.ts, uki.ts); these two only cross-check them.
  {
    command: 'veritysetup',
    features: ['cross-check: dm-verity hash trees (the build writes them itself)'],
    packages: { apt: 'cryptsetup-bin', dnf: 'cryptsetup', pacman: 'cryptsetup', brew: 'cryptsetup' },
    optional: true,
  },
  // The build writes the empty F2FS state partition itself (image/f2fs/); mkfs.f2fs only cross-checks it.
  {
    command: 'mkfs.f2fs',
    features: ['cross-check: F2FS state partitions (the build writes them itself)'],
    packages: { apt: 'f2fs-tools', dnf: 'f2fs-tools', pacman: 'f2fs-tools' },
    optional: true,
  },
  // The build writes FAT boot and kit partitions itself (image/fat/); dosfstools and mtools only cross-check them.
  {
    command: 'mkfs.vfat',
    features: ['cross-check: FAT boot partitions (the build writes them itself)'],
    packages: { apt: 'dosfstools', dnf: 'dosfstools', pacman: 'dosfstools', brew: 'dosfstools' },
    optional: true,
  },
  {
    command: 'mcopy',
    features: ['cross-check: FAT boot partitions (the build writes them itself)'],
    packages: { apt: 'mtools', dnf: 'mtools', pacman: 'mtools', brew: 'mtools' },
    optional: true,
  },
  {
    command: 'mmd',
    features: ['cross-check: FAT boot partitions (the build writes them itself)'],
    packages: { apt: 'mtools', dnf: 'mtools', pacman: 'mtools', brew: 'mtools' },
    optional: true,
  },
  {
    command: 'debugfs',
    features: ['cross-check: ext4 contents and ownership (the build writes them itself)'],
    packages: { apt: 'e2fsprogs', dnf: 'e2fsprogs', pacman: 'e2fsprogs', brew: 'e2fsprogs' },
    optional: true,
  },
  {
    command: 'zstd',
    features: ['flash: .zst images', 'backups: .img.zst', 'cross-check: --compress=zst (the build compresses itself)'],
    packages: { apt: 'zstd', dnf: 'zstd', pacman: 'zstd', brew: 'zstd' },
    optional: true,
  },
  {
    command: 'xz',
    features: ['flash: .xz images, on the second core (without it they are decoded in process)', 'cross-check: --compress=xz (the build compresses itself)'],
    packages: { apt: 'xz-utils', dnf: 'xz', pacman: 'xz', brew: 'xz' },
    optional: true,
  },
  {
    command: 'sfdisk',
    features: ['cross-check: GPT/MBR partition tables (the build and the offline kit write them themselves)'],
    packages: { apt: 'fdisk', dnf: 'util-linux', pacman: 'util-linux', brew: 'util-linux' },
    optional: true,
  },
  {
    command: 'objcopy',
    features: ['cross-check: unified kernel images (the build writes them itself)'],
    packages: { apt: 'binutils', dnf: 'binutils', pacman: 'binutils', brew: 'binutils' },
    optional: true,
  },
  // The boot test and "Try in a VM" are offered only where QEMU is found: optional, never needed to build.
  // The .deb recommends these packages and their firmware (electron-builder.yml, kept in step by a unit test).
  {
    command: 'qemu-system-x86_64',
    features: ['optional: boot test and "Try in a VM" for x86_64 (UEFI firmware: ovmf)'],
    packages: { apt: 'qemu-system-x86', dnf: 'qemu-system-x86', pacman: 'qemu-system-x86', brew: 'qemu', winget: 'SoftwareFreedomConservancy.QEMU' },
    optional: true,
  },
  {
    command: 'qemu-system-aarch64',
    features: ['optional: boot test and "Try in a VM" for arm64 (UEFI firmware: qemu-efi-aarch64)'],
    packages: { apt: 'qemu-system-arm', dnf: 'qemu-system-aarch64', pacman: 'qemu-system-aarch64', brew: 'qemu', winget: 'SoftwareFreedomConservancy.QEMU' },
    optional: true,
  },
  {
    command: 'qemu-system-riscv64',
    features: ['optional: boot test and "Try in a VM" for riscv64 (firmware: u-boot-qemu)'],
    packages: { apt: 'qemu-system-misc', dnf: 'qemu-system-riscv', pacman: 'qemu-system-riscv', brew: 'qemu', winget: 'SoftwareFreedomConservancy.QEMU' },
    optional: true,
  },
  { command: 'bmaptool', features: ['tests: bmap interoperability'], packages: { apt: 'bmap-tools', dnf: 'bmap-tools', pacman: 'bmap-tools' }, optional: true },
  {
    command: 'signify-openbsd',
    features: ['tests: signify interoperability (openbox)'],
    packages: { apt: 'signify-openbsd', dnf: 'signify', pacman: 'signify', brew: 'signify-osx' },
    optional: true,
  },
  { command: 'lsblk', features: ['flash: drive details'], packages: { apt: 'util-linux', dnf: 'util-linux', pacman: 'util-linux' } },
  { command: 'pkexec', features: ['flash: privileged writer (Linux)'], packages: { apt: 'pkexec', dnf: 'polkit', pacman: 'polkit' }, optional: true },
  { command: 'bzip2', features: ['flash: .bz2 images'], packages: { apt: 'bzip2', dnf: 'bzip2', pacman: 'bzip2', brew: 'bzip2' }, optional: true },
  { command: 'umount', features: ['flash: unmount the target first (Linux)'], packages: { apt: 'mount', dnf: 'util-linux', pacman: 'util-linux' } },
  { command: 'eject', features: ['flash: --eject (Linux)'], packages: { apt: 'eject', dnf: 'util-linux', pacman: 'util-linux' }, optional: true },
];

const found = new Map<string, string | null>();

/** Finds an executable on PATH without a shell. */
export async function whichTool(command: string, pathEnv = process.env.PATH ?? ''): Promise<string | null> {
  const key = `${command}\0${pathEnv}`;
  if (found.has(key)) return found.get(key)!;
  let result: string | null = null;
  const dirs = [...pathEnv.split(delimiter), '/usr/sbin', '/sbin'].filter(Boolean);
  for (const dir of dirs) {
    const candidate = join(dir, command);
    try {
      await access(candidate, constants.X_OK);
      result = candidate;
      break;
    } catch {
      /* keep looking */
    }
  }
  found.set(key, result);
  return result;
}

export function installHint(command: string): string {
  const tool = HOST_TOOLS.find((t) => t.command === command);
  if (!tool) return `Install "${command}" with your package manager.`;
  const p = tool.packages;
  const parts = [
    p.apt && `Debian/Ubuntu: sudo apt-get install ${p.apt}`,
    p.dnf && `Fedora: sudo dnf install ${p.dnf}`,
    p.pacman && `Arch: sudo pacman -S ${p.pacman}`,
    p.brew && `macOS: brew install ${p.brew}`,
    p.winget && `Windows: winget install ${p.winget}`,
  ].filter(Boolean);
  return parts.join('; ');
}

/** Returns the tool's absolute path or throws TOOL_MISSING naming the package to install. */
export async function requireTool(command: string, feature?: string): Promise<string> {
  const path = await whichTool(command);
  if (path) return path;
  throw new NexusError('TOOL_MISSING', `"${command}" is not installed${feature ? `; it is needed for ${feature}` : ''}.`, installHint(command));
}

export interface DoctorRow {
  command: string;
  path: string | null;
  features: string[];
  install: string;
  optional: boolean;
}

export async function doctor(): Promise<DoctorRow[]> {
  return Promise.all(
    HOST_TOOLS.map(async (t) => ({
      command: t.command,
      path: await whichTool(t.command),
      features: t.features,
      install: installHint(t.command),
      optional: !!t.optional,
    })),
  );
}
