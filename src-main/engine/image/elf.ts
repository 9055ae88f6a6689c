/**
 * Just enough ELF reading to copy a dynamically linked program into an initramfs: its interpreter (PT_INTERP)
 * and the libraries it needs (DT_NEEDED), for 32/64-bit little-endian objects; and one section's bytes by name
 * (a kernel module's .modinfo).
 */
export interface ElfDeps {
  interp: string | null;
  needed: string[];
}

export function isElf(b: Uint8Array): boolean {
  return b.length > 52 && b[0] === 0x7f && b[1] === 0x45 && b[2] === 0x4c && b[3] === 0x46;
}

export function readElfDeps(bytes: Uint8Array): ElfDeps | null {
  if (!isElf(bytes)) return null;
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const is64 = b[4] === 2;
  if (b[5] !== 1) return null; // big-endian: not used by our targets
  const u = (o: number) => (is64 ? Number(b.readBigUInt64LE(o)) : b.readUInt32LE(o));
  const phoff = u(is64 ? 0x20 : 0x1c);
  const phentsize = b.readUInt16LE(is64 ? 0x36 : 0x2a);
  const phnum = b.readUInt16LE(is64 ? 0x38 : 0x2c);
  const loads: Array<{ vaddr: number; offset: number; filesz: number }> = [];
  let interp: string | null = null;
  let dynamic: { offset: number; size: number } | null = null;
  for (let i = 0; i < phnum; i++) {
    const o = phoff + i * phentsize;
    const type = b.readUInt32LE(o);
    const offset = is64 ? u(o + 8) : u(o + 4);
    const vaddr = is64 ? u(o + 16) : u(o + 8);
    const filesz = is64 ? u(o + 32) : u(o + 16);
    if (type === 1) loads.push({ vaddr, offset, filesz });
    if (type === 3) interp = b.toString('latin1', offset, offset + filesz).replace(/\0.*$/s, '');
    if (type === 2) dynamic = { offset, size: filesz };
  }
  if (!dynamic) return { interp, needed: [] };
  const toOffset = (vaddr: number) => {
    const seg = loads.find((l) => vaddr >= l.vaddr && vaddr < l.vaddr + l.filesz);
    return seg ? vaddr - seg.vaddr + seg.offset : null;
  };
  const entSize = is64 ? 16 : 8;
  const neededOffs: number[] = [];
  let strtab: number | null = null;
  for (let o = dynamic.offset; o + entSize <= dynamic.offset + dynamic.size; o += entSize) {
    const tag = is64 ? Number(b.readBigInt64LE(o)) : b.readInt32LE(o);
    const val = is64 ? Number(b.readBigUInt64LE(o + 8)) : b.readUInt32LE(o + 4);
    if (tag === 0) break;
    if (tag === 1) neededOffs.push(val);
    if (tag === 5) strtab = toOffset(val);
  }
  if (strtab === null) return { interp, needed: [] };
  const needed = neededOffs.map((n) => {
    const start = strtab! + n;
    return b.toString('latin1', start, b.indexOf(0, start));
  });
  return { interp, needed };
}

/**
 * The bytes of the section called `name`, found through the section headers, or null when `bytes` is not a
 * little-endian ELF object with such a section inside the file (also for extended section numbering, which kernel
 * modules do not use).
 */
export function elfSection(bytes: Uint8Array, name: string): Uint8Array | null {
  if (!isElf(bytes) || bytes[5] !== 1) return null;
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const is64 = b[4] === 2;
  if (b.length < (is64 ? 64 : 52)) return null;
  const shoff = is64 ? Number(b.readBigUInt64LE(0x28)) : b.readUInt32LE(0x20);
  const shentsize = b.readUInt16LE(is64 ? 0x3a : 0x2e);
  const shnum = b.readUInt16LE(is64 ? 0x3c : 0x30);
  const shstrndx = b.readUInt16LE(is64 ? 0x3e : 0x32);
  if (shnum === 0 || shstrndx >= shnum || shentsize < (is64 ? 64 : 40) || shoff + shnum * shentsize > b.length) return null;
  const header = (i: number) => {
    const o = shoff + i * shentsize;
    const offset = is64 ? Number(b.readBigUInt64LE(o + 0x18)) : b.readUInt32LE(o + 0x10);
    const size = is64 ? Number(b.readBigUInt64LE(o + 0x20)) : b.readUInt32LE(o + 0x14);
    return { name: b.readUInt32LE(o), offset, size, inFile: offset + size <= b.length };
  };
  const names = header(shstrndx);
  if (!names.inFile) return null;
  const want = Buffer.from(`${name}\0`, 'latin1');
  for (let i = 0; i < shnum; i++) {
    const s = header(i);
    const at = names.offset + s.name;
    if (at + want.length > names.offset + names.size || b.compare(want, 0, want.length, at, at + want.length) !== 0) continue;
    return s.inFile ? b.subarray(s.offset, s.offset + s.size) : null;
  }
  return null;
}
