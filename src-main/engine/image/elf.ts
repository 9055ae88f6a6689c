/**
 * Just enough ELF reading to copy a dynamically linked program into an initramfs: its interpreter (PT_INTERP)
 * and the libraries it needs (DT_NEEDED), for 32/64-bit little-endian objects.
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
