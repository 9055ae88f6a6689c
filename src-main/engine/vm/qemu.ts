/**
 * QEMU command lines per architecture, under TCG (KVM is not assumed): x86_64 q35 + OVMF, arm64 virt + AAVMF,
 * riscv64 virt + OpenSBI + U-Boot (S-mode), booting the image from a virtio disk exactly as firmware would.
 */
import { existsSync } from 'node:fs';
import { NexusError } from '../../../src-shared/errors';
import type { Arch } from '../../../src-shared/arch';

export interface QemuSetup {
  binary: string;
  args: string[];
  /** A writable copy of the UEFI variable store is needed (path the caller must create from `varsTemplate`). */
  varsTemplate?: string;
}

export const FIRMWARE = {
  x86_64: {
    code: ['/usr/share/OVMF/OVMF_CODE_4M.fd', '/usr/share/OVMF/OVMF_CODE.fd'],
    vars: ['/usr/share/OVMF/OVMF_VARS_4M.fd', '/usr/share/OVMF/OVMF_VARS.fd'],
    pkg: 'ovmf',
  },
  arm64: { code: ['/usr/share/AAVMF/AAVMF_CODE.fd'], vars: ['/usr/share/AAVMF/AAVMF_VARS.fd'], pkg: 'qemu-efi-aarch64' },
  riscv64: { code: ['/usr/lib/u-boot/qemu-riscv64_smode/u-boot.bin'], vars: [], pkg: 'u-boot-qemu' },
} as const;

function firstExisting(paths: readonly string[], pkg: string, what: string): string {
  const hit = paths.find((p) => existsSync(p));
  if (!hit)
    throw new NexusError('FIRMWARE_MISSING', `${what} is not installed (looked for ${paths.join(', ')}).`, `Debian/Ubuntu: sudo apt-get install ${pkg}`);
  return hit;
}

export interface QemuOptions {
  memoryMiB?: number;
  /**
   * Boot the image file writably: what the guest writes stays in the file (for tests across reboots, on a copy
   * of an image only). Default: snapshot=on, writes are discarded when QEMU exits.
   */
  writable?: boolean;
  /**
   * Host TCP ports forwarded to the guest through QEMU's user network (the guest gets 10.0.2.15 by DHCP), bound to
   * 127.0.0.1 only; e.g. { host: 2222, guest: 22 } for `ssh -p 2222 USER@127.0.0.1`. Without it the VM has no network.
   */
  forwardPorts?: ReadonlyArray<{ host: number; guest: number }>;
  /**
   * The VM's display adapter: 'none' (default: serial console only) or 'virtio-gpu' (a virtio-gpu-pci card, for
   * graphical sessions; the window is still not shown, so read the screen with QMP's `screendump`).
   */
  display?: QemuDisplay;
  /** A QMP control socket at this path (a Unix socket QEMU listens on; qmp.ts talks to it). */
  qmpSocket?: string;
}

export const QEMU_DISPLAYS = ['none', 'virtio-gpu'] as const;
export type QemuDisplay = (typeof QEMU_DISPLAYS)[number];

const isPort = (p: number) => Number.isInteger(p) && p >= 1 && p <= 65535;

/** A virtio NIC on QEMU's user network with the port forwards (no option ROM: the firmware must not try PXE). */
function userNetwork(forwards: ReadonlyArray<{ host: number; guest: number }>): string[] {
  for (const f of forwards) {
    if (!isPort(f.host) || !isPort(f.guest))
      throw new NexusError(
        'USAGE_PORT',
        `Port forward ${f.host} → ${f.guest} is not a pair of TCP ports (1-65535).`,
        'Give whole numbers between 1 and 65535.',
      );
  }
  const fwd = forwards.map((f) => `,hostfwd=tcp:127.0.0.1:${f.host}-:${f.guest}`).join('');
  return ['-netdev', `user,id=net0${fwd}`, '-device', 'virtio-net-pci,netdev=net0,romfile='];
}

/**
 * The display adapter's arguments. 'none' adds no card (x86 machines keep QEMU's default VGA, which nothing reads).
 * 'virtio-gpu' replaces that default VGA: with both, QEMU's first console (what `screendump` reads) is the VGA,
 * showing the firmware framebuffer's text console while the session draws on the virtio-gpu head.
 */
function displayArgs(display: QemuDisplay | undefined): string[] {
  if (display === undefined || display === 'none') return [];
  if (display === 'virtio-gpu') return ['-vga', 'none', '-device', 'virtio-gpu-pci'];
  throw new NexusError(
    'USAGE_DISPLAY',
    `"${String(display)}" is not a VM display (known: ${QEMU_DISPLAYS.join(', ')}).`,
    `Use one of: ${QEMU_DISPLAYS.join(', ')}.`,
  );
}

/** QMP on a Unix socket; a path with a comma would be read as another QEMU option, so it is refused. */
function qmpArgs(path: string | undefined): string[] {
  if (path === undefined) return [];
  if (!path.startsWith('/') || path.includes(','))
    throw new NexusError(
      'USAGE_QMP_SOCKET',
      `QMP socket path "${path}" must be absolute and contain no comma.`,
      'Pick an absolute path such as /tmp/vm/qmp.sock.',
    );
  return ['-qmp', `unix:${path},server=on,wait=off`];
}

export function qemuSetup(arch: Arch, image: string, varsCopy: string, o: QemuOptions = {}): QemuSetup {
  const fw = FIRMWARE[arch];
  const memoryMiB = o.memoryMiB ?? 512;
  const disk = ['-drive', `file=${image},format=raw,if=virtio${o.writable ? '' : ',snapshot=on'}`];
  const net = o.forwardPorts?.length ? userNetwork(o.forwardPorts) : ['-net', 'none'];
  const common = ['-m', String(memoryMiB), '-nographic', '-no-reboot', ...net, '-smp', '1', ...displayArgs(o.display), ...qmpArgs(o.qmpSocket)];
  if (arch === 'riscv64') {
    const uboot = firstExisting(fw.code, fw.pkg, 'U-Boot for QEMU riscv64');
    return { binary: 'qemu-system-riscv64', args: ['-M', 'virt', ...common, '-bios', 'default', '-kernel', uboot, ...disk] };
  }
  const code = firstExisting(fw.code, fw.pkg, `UEFI firmware for ${arch}`);
  const vars = firstExisting(fw.vars, fw.pkg, `UEFI variable store for ${arch}`);
  const pflash = ['-drive', `if=pflash,format=raw,readonly=on,file=${code}`, '-drive', `if=pflash,format=raw,file=${varsCopy}`];
  if (arch === 'x86_64') return { binary: 'qemu-system-x86_64', args: ['-M', 'q35', ...common, ...pflash, ...disk], varsTemplate: vars };
  return { binary: 'qemu-system-aarch64', args: ['-M', 'virt', '-cpu', 'cortex-a57', ...common, ...pflash, ...disk], varsTemplate: vars };
}
