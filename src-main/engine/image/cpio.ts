/**
 * cpio "newc" (SVR4 without CRC) archives, the format the kernel unpacks as an initramfs
 * (Documentation/driver-api/early-userspace/buffer-format.rst). Entries are written in the order given;
 * parents must come before children.
 */
export interface CpioEntry {
  path: string;
  type: 'file' | 'dir' | 'symlink' | 'char';
  mode: number;
  uid?: number;
  gid?: number;
  mtime?: number;
  data?: Uint8Array;
  linkTarget?: string;
  /** For device nodes. */
  rdevMajor?: number;
  rdevMinor?: number;
}

const TYPE_BITS = { file: 0o100000, dir: 0o040000, symlink: 0o120000, char: 0o020000 } as const;
const pad4 = (n: number) => (4 - (n % 4)) % 4;
const hex8 = (n: number) => (n >>> 0).toString(16).padStart(8, '0');

export function writeCpio(entries: CpioEntry[]): Buffer {
  const chunks: Buffer[] = [];
  let ino = 1;
  const emit = (name: string, mode: number, body: Uint8Array, e: Partial<CpioEntry>, nlink: number) => {
    const nameBytes = Buffer.from(name + '\0');
    const header = '070701' + [ino++, mode, e.uid ?? 0, e.gid ?? 0, nlink, e.mtime ?? 0, body.length, 0, 0, e.rdevMajor ?? 0, e.rdevMinor ?? 0, nameBytes.length, 0].map(hex8).join('');
    chunks.push(Buffer.from(header, 'latin1'), nameBytes, Buffer.alloc(pad4(110 + nameBytes.length)));
    if (body.length) chunks.push(Buffer.from(body.buffer, body.byteOffset, body.byteLength), Buffer.alloc(pad4(body.length)));
  };
  for (const e of entries) {
    const name = e.path.replace(/^\/+/, '') || '.';
    const body = e.type === 'symlink' ? Buffer.from(e.linkTarget ?? '') : e.type === 'file' ? (e.data ?? new Uint8Array()) : new Uint8Array();
    emit(name, TYPE_BITS[e.type] | (e.mode & 0o7777), body, e, e.type === 'dir' ? 2 : 1);
  }
  emit('TRAILER!!!', 0, new Uint8Array(), {}, 1);
  return Buffer.concat(chunks);
}

/** Reads a newc archive back (tests, and checking what an initramfs holds). */
export function readCpio(buf: Buffer): Array<{ path: string; mode: number; uid: number; gid: number; mtime: number; data: Buffer }> {
  const out = [];
  let o = 0;
  for (;;) {
    if (buf.toString('latin1', o, o + 6) !== '070701') throw new Error(`bad cpio magic at ${o}`);
    const f = (i: number) => parseInt(buf.toString('latin1', o + 6 + i * 8, o + 14 + i * 8), 16);
    const mode = f(1), uid = f(2), gid = f(3), mtime = f(5), size = f(6), nameSize = f(11);
    const name = buf.toString('utf8', o + 110, o + 110 + nameSize - 1);
    o += 110 + nameSize;
    o += pad4(110 + nameSize);
    const data = buf.subarray(o, o + size);
    o += size + pad4(size);
    if (name === 'TRAILER!!!') break;
    out.push({ path: name, mode, uid, gid, mtime, data });
  }
  return out;
}
