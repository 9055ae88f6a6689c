/**
 * PE/COFF sections appended in-process, as `objcopy --add-section --change-section-vma` does, so a unified kernel
 * image (systemd EFI stub + .osrel/.cmdline/.linux/.initrd/...) is made without binutils. For the stubs we use the
 * result is byte-identical to objcopy's once both carry the same timestamp: new section headers go into the room
 * left in the header area, the data at the end of the sections, file-aligned; the COFF symbol and string tables
 * (systemd's stubs keep them) move behind the new data; SizeOfImage, SizeOfInitializedData, the section count, the
 * timestamp (SOURCE_DATE_EPOCH, not the clock) and the PE checksum are updated.
 */
import { NexusError } from '../../../src-shared/errors';

export interface PeSection {
  /** At most 8 bytes, e.g. ".linux". */
  name: string;
  data: Uint8Array;
  /** Requested relative virtual address; moved up past the previous section if that would overlap it. */
  vma?: number;
}

/** Initialized, readable data: what objcopy gives an added section on PE (and what ukify uses). */
const DATA_READ = 0x40000040;
const SECTION_HEADER = 40;
const SYMBOL = 18;

const alignUp = (n: number, a: number) => Math.ceil(n / a) * a;

function badStub(why: string): NexusError {
  return new NexusError(
    'UKI_BAD_STUB',
    `The EFI stub cannot take the unified kernel image's sections: ${why}.`,
    'Use the systemd-efistub package of the same Alpine release as the kernel.',
  );
}

/** The PE checksum (as in Windows' CheckSumMappedFile): 16-bit one's-complement-style sum with the field as zero, plus the length. */
export function peChecksum(b: Buffer, checksumAt: number): number {
  let sum = 0;
  const n = b.length & ~1;
  for (let i = 0; i < n; i += 2) {
    if (i === checksumAt || i === checksumAt + 2) continue;
    sum += b[i]! | (b[i + 1]! << 8);
    sum = (sum & 0xffff) + (sum >>> 16);
  }
  if (b.length & 1) sum += b[b.length - 1]!;
  sum = (sum & 0xffff) + (sum >>> 16);
  sum = (sum & 0xffff) + (sum >>> 16);
  return (sum + b.length) >>> 0;
}

export function addPeSections(stub: Uint8Array, sections: PeSection[], epoch: number): Buffer {
  const src = Buffer.from(stub.buffer, stub.byteOffset, stub.byteLength);
  if (src.length < 0x40 || src.toString('latin1', 0, 2) !== 'MZ') throw badStub('it is not a PE file (no MZ header)');
  const pe = src.readUInt32LE(0x3c);
  if (pe + 24 > src.length || src.toString('latin1', pe, pe + 4) !== 'PE\0\0') throw badStub('it is not a PE file (no PE signature)');
  const coff = pe + 4;
  const count = src.readUInt16LE(coff + 2);
  const symbols = src.readUInt32LE(coff + 8);
  const symbolCount = src.readUInt32LE(coff + 12);
  const optSize = src.readUInt16LE(coff + 16);
  const opt = coff + 20;
  const magic = src.readUInt16LE(opt);
  if (magic !== 0x20b && magic !== 0x10b) throw badStub(`unknown optional header magic 0x${magic.toString(16)}`);
  const securityDir = opt + (magic === 0x20b ? 112 : 96) + 4 * 8;
  if (src.readUInt32LE(securityDir + 4) !== 0)
    throw badStub('it is signed (an Authenticode signature would not cover the new sections); use the unsigned stub');
  const sectionAlign = src.readUInt32LE(opt + 32);
  const fileAlign = src.readUInt32LE(opt + 36);
  const sizeOfHeaders = src.readUInt32LE(opt + 60);
  const table = opt + optSize;

  let rawEnd = sizeOfHeaders;
  let vmaEnd = 0;
  let firstRaw = sizeOfHeaders;
  for (let i = 0; i < count; i++) {
    const h = table + i * SECTION_HEADER;
    const vsize = src.readUInt32LE(h + 8),
      va = src.readUInt32LE(h + 12),
      rsize = src.readUInt32LE(h + 16),
      rptr = src.readUInt32LE(h + 20);
    vmaEnd = Math.max(vmaEnd, va + Math.max(vsize, rsize));
    if (rsize) {
      rawEnd = Math.max(rawEnd, rptr + rsize);
      firstRaw = Math.min(firstRaw, rptr);
    }
  }
  const headersEnd = table + (count + sections.length) * SECTION_HEADER;
  if (headersEnd > firstRaw) throw badStub(`no room for ${sections.length} more section headers (${headersEnd - firstRaw} bytes short)`);

  // The COFF symbol table and the string table after it (its size is its first 4 bytes).
  let symtab: Buffer = Buffer.alloc(0);
  if (symbols && symbolCount) {
    const strings = symbols + symbolCount * SYMBOL;
    const end = strings + 4 <= src.length ? strings + src.readUInt32LE(strings) : strings;
    symtab = src.subarray(symbols, Math.min(end, src.length));
  }

  const placed: { name: string; data: Uint8Array; va: number; rptr: number; rsize: number }[] = [];
  let rptr = alignUp(rawEnd, fileAlign);
  let vma = alignUp(vmaEnd, sectionAlign);
  for (const s of sections) {
    if (Buffer.byteLength(s.name, 'latin1') > 8 || !/^[\x21-\x7e]+$/.test(s.name))
      throw new Error(`PE section name "${s.name}" must be 1-8 printable ASCII characters`);
    const va = Math.max(s.vma ?? 0, vma);
    if (va % sectionAlign) throw new Error(`PE section ${s.name} address 0x${va.toString(16)} is not aligned to 0x${sectionAlign.toString(16)}`);
    const rsize = alignUp(s.data.length, fileAlign);
    placed.push({ name: s.name, data: s.data, va, rptr, rsize });
    rptr += rsize;
    vma = alignUp(va + s.data.length, sectionAlign);
  }
  const total = rptr + symtab.length;
  const out = Buffer.alloc(total);
  src.copy(out, 0, 0, Math.min(rawEnd, src.length));
  out.writeUInt16LE(count + sections.length, coff + 2);
  out.writeUInt32LE(epoch >>> 0, coff + 4);
  out.writeUInt32LE(symtab.length ? rptr : 0, coff + 8);
  if (symtab.length) symtab.copy(out, rptr);
  let initialized = src.readUInt32LE(opt + 8);
  placed.forEach((p, i) => {
    const h = table + (count + i) * SECTION_HEADER;
    out.fill(0, h, h + SECTION_HEADER);
    out.write(p.name, h, 'latin1');
    out.writeUInt32LE(p.data.length, h + 8);
    out.writeUInt32LE(p.va, h + 12);
    out.writeUInt32LE(p.rsize, h + 16);
    out.writeUInt32LE(p.rptr, h + 20);
    out.writeUInt32LE(DATA_READ, h + 36);
    out.set(p.data, p.rptr);
    initialized += p.rsize;
  });
  out.writeUInt32LE(initialized >>> 0, opt + 8);
  out.writeUInt32LE(vma, opt + 56);
  out.writeUInt32LE(0, opt + 64);
  out.writeUInt32LE(peChecksum(out, opt + 64), opt + 64);
  return out;
}

/** The sections of a PE file by name, for checks: the bytes of each (its virtual size). */
export function readPeSections(file: Uint8Array): Map<string, { va: number; data: Buffer }> {
  const b = Buffer.from(file.buffer, file.byteOffset, file.byteLength);
  const pe = b.readUInt32LE(0x3c);
  const count = b.readUInt16LE(pe + 6);
  const table = pe + 24 + b.readUInt16LE(pe + 20);
  const out = new Map<string, { va: number; data: Buffer }>();
  for (let i = 0; i < count; i++) {
    const h = table + i * SECTION_HEADER;
    const name = b.toString('latin1', h, h + 8).replace(/\0+$/, '');
    const vsize = b.readUInt32LE(h + 8),
      rsize = b.readUInt32LE(h + 16),
      rptr = b.readUInt32LE(h + 20);
    out.set(name, { va: b.readUInt32LE(h + 12), data: b.subarray(rptr, rptr + Math.min(vsize || rsize, rsize)) });
  }
  return out;
}
