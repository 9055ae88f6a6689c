/**
 * Unified kernel images made by the host's objcopy: no longer what the engine uses (../uki.ts writes them
 * in-process), kept as the cross-check the tests compare that writer with, byte for byte.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runTool } from './run';

export interface UkiParts {
  stub: Uint8Array;
  osRelease: string;
  cmdline: string;
  kernel: Uint8Array;
  initrd: Uint8Array;
  epoch: number;
}

export async function makeUki(out: string, parts: UkiParts, scratch: string, signal?: AbortSignal): Promise<void> {
  const f = (n: string) => join(scratch, n);
  await writeFile(f('stub.efi'), parts.stub);
  await writeFile(f('osrel'), parts.osRelease);
  await writeFile(f('cmdline'), parts.cmdline);
  await writeFile(f('linux'), parts.kernel);
  await writeFile(f('initrd'), parts.initrd);
  await runTool(
    'objcopy',
    [
      '--add-section',
      `.osrel=${f('osrel')}`,
      '--change-section-vma',
      '.osrel=0x20000',
      '--add-section',
      `.cmdline=${f('cmdline')}`,
      '--change-section-vma',
      '.cmdline=0x30000',
      '--add-section',
      `.linux=${f('linux')}`,
      '--change-section-vma',
      '.linux=0x2000000',
      '--add-section',
      `.initrd=${f('initrd')}`,
      '--change-section-vma',
      '.initrd=0x3000000',
      f('stub.efi'),
      out,
    ],
    'making the unified kernel image',
    { signal },
  );
  await fixPeTimestamp(out, parts.epoch);
}

/**
 * objcopy stamps the PE/COFF header with the clock (and a checksum over it); reproducible images need
 * SOURCE_DATE_EPOCH there, so set the timestamp and recompute the PE checksum.
 */
async function fixPeTimestamp(path: string, epoch: number): Promise<void> {
  const b = await readFile(path);
  const pe = b.readUInt32LE(0x3c);
  if (b.toString('latin1', pe, pe + 4) !== 'PE\0\0') throw new Error('the unified kernel image is not a PE file');
  b.writeUInt32LE(epoch >>> 0, pe + 8);
  const checksumAt = pe + 24 + 64;
  b.writeUInt32LE(0, checksumAt);
  let sum = 0;
  const aligned = b.byteOffset % 2 ? Buffer.from(b) : b;
  const words = new Uint16Array(aligned.buffer, aligned.byteOffset, Math.floor(b.length / 2));
  for (let i = 0; i < words.length; i++) {
    sum += words[i]!;
    sum = (sum & 0xffff) + (sum >>> 16);
  }
  if (b.length % 2) sum = ((sum + b[b.length - 1]!) & 0xffff) + ((sum + b[b.length - 1]!) >>> 16);
  sum = (sum & 0xffff) + (sum >>> 16);
  b.writeUInt32LE((sum + b.length) >>> 0, checksumAt);
  await writeFile(path, b);
}
