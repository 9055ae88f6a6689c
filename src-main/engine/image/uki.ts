/**
 * Unified kernel images made in-process: the systemd EFI stub with .osrel, .cmdline, .linux and .initrd (and, when
 * given, .uname and .dtb) appended by uki-pe.ts, at the addresses systemd's ukify used for stubs without an explicit
 * layout. No objcopy, so this works on any host; tools/uki.ts keeps the objcopy way as a cross-check.
 */
import { addPeSections, type PeSection } from './uki-pe';

export interface UkiParts {
  stub: Uint8Array;
  osRelease: string;
  cmdline: string;
  kernel: Uint8Array;
  initrd: Uint8Array;
  /** `uname -r` of the kernel (.uname, read by systemd-stub ≥ 254 and bootctl). */
  uname?: string;
  dtb?: Uint8Array;
  epoch: number;
}

/** Section name and address, in order; a section too large for its slot pushes the next ones up (uki-pe.ts). */
export const UKI_LAYOUT = [
  { name: '.osrel', vma: 0x20000 },
  { name: '.cmdline', vma: 0x30000 },
  { name: '.uname', vma: 0x40000 },
  { name: '.dtb', vma: 0x40000 },
  { name: '.linux', vma: 0x2000000 },
  { name: '.initrd', vma: 0x3000000 },
] as const;

export function ukiSections(parts: UkiParts): PeSection[] {
  const enc = (s: string) => new TextEncoder().encode(s);
  const data: Record<(typeof UKI_LAYOUT)[number]['name'], Uint8Array | undefined> = {
    '.osrel': enc(parts.osRelease),
    '.cmdline': enc(parts.cmdline),
    '.uname': parts.uname === undefined ? undefined : enc(parts.uname),
    '.dtb': parts.dtb,
    '.linux': parts.kernel,
    '.initrd': parts.initrd,
  };
  return UKI_LAYOUT.flatMap((l) => (data[l.name] ? [{ name: l.name, vma: l.vma, data: data[l.name]! }] : []));
}

export function buildUki(parts: UkiParts): Buffer {
  return addPeSections(parts.stub, ukiSections(parts), parts.epoch);
}
