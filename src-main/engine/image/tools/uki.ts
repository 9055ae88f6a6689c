/**
 * Unified kernel images: the systemd EFI stub with .osrel, .cmdline, .linux and .initrd sections added by objcopy
 * (section addresses as in systemd's ukify for stubs without an explicit layout). Only the host's objcopy, so
 * x86_64 only here; other architectures use systemd-boot or extlinux.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runTool } from './run';

export interface UkiParts {
  stub: Uint8Array;
  osRelease: string;
  cmdline: string;
  kernel: Uint8Array;
  initrd: Uint8Array;
}

export async function makeUki(out: string, parts: UkiParts, scratch: string, signal?: AbortSignal): Promise<void> {
  const f = (n: string) => join(scratch, n);
  await writeFile(f('stub.efi'), parts.stub);
  await writeFile(f('osrel'), parts.osRelease);
  await writeFile(f('cmdline'), parts.cmdline);
  await writeFile(f('linux'), parts.kernel);
  await writeFile(f('initrd'), parts.initrd);
  await runTool('objcopy', [
    '--add-section', `.osrel=${f('osrel')}`, '--change-section-vma', '.osrel=0x20000',
    '--add-section', `.cmdline=${f('cmdline')}`, '--change-section-vma', '.cmdline=0x30000',
    '--add-section', `.linux=${f('linux')}`, '--change-section-vma', '.linux=0x2000000',
    '--add-section', `.initrd=${f('initrd')}`, '--change-section-vma', '.initrd=0x3000000',
    f('stub.efi'), out,
  ], 'making the unified kernel image', { signal });
}
