/**
 * cpio "newc" (SVR4 without CRC) archives, the format the kernel unpacks as an initramfs
 * (Documentation/driver-api/early-userspace/buffer-format.rst). Entries are written in the order given;
 * parents must come before children. Every header field is 8 hex digits: values newc cannot hold are refused (a
 * silent wrap would put another owner, time or size in the initramfs than the manifest says).
 */
import { NexusError } from '../../../src-shared/errors';

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

const U32_MAX = 0xffffffff;

function unrepresentable(name: string, what: string): NexusError {
  return new NexusError(
    'CPIO_UNREPRESENTABLE',
    `The initramfs cannot hold /${name}: ${what}.`,
    'Report the package or profile entry that carries it; the newc format stores names without NUL and 32-bit owners, times and sizes.',
  );
}

export function writeCpio(entries: CpioEntry[]): Buffer {
  const chunks: Buffer[] = [];
  let ino = 1;
  const emit = (name: string, mode: number, body: Uint8Array, e: Partial<CpioEntry>, nlink: number) => {
    if (name.includes('\0')) throw unrepresentable(name.replaceAll('\0', '\\0'), 'its name contains a NUL byte');
    for (const [field, v] of [
      ['uid', e.uid],
      ['gid', e.gid],
      ['mtime', e.mtime],
      ['rdevMajor', e.rdevMajor],
      ['rdevMinor', e.rdevMinor],
      ['size', body.length],
    ] as const) {
      if (v !== undefined && !(Number.isInteger(v) && v >= 0 && v <= U32_MAX)) throw unrepresentable(name, `its ${field} ${v} is not a 32-bit unsigned number`);
    }
    const nameBytes = Buffer.from(name + '\0');
    const header =
      '070701' +
      [ino++, mode, e.uid ?? 0, e.gid ?? 0, nlink, e.mtime ?? 0, body.length, 0, 0, e.rdevMajor ?? 0, e.rdevMinor ?? 0, nameBytes.length, 0].map(hex8).join('');
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

function badCpio(message: string): NexusError {
  return new NexusError(
    'BAD_CPIO',
    `The cpio archive is damaged: ${message}.`,
    'Rebuild the image; an initramfs Nexus writes always ends with a TRAILER!!! entry.',
  );
}

/** Reads a newc archive back (tests, and checking what an initramfs holds); BAD_CPIO when it is damaged or truncated. */
export function readCpio(buf: Buffer): Array<{ path: string; mode: number; uid: number; gid: number; mtime: number; data: Buffer }> {
  const out = [];
  let o = 0;
  for (;;) {
    if (o + 110 > buf.length) throw badCpio(`it ends at byte ${buf.length} without a TRAILER!!! entry`);
    if (buf.toString('latin1', o, o + 6) !== '070701') throw badCpio(`no newc header (070701) at byte ${o}`);
    const f = (i: number) => {
      const hex = buf.toString('latin1', o + 6 + i * 8, o + 14 + i * 8);
      if (!/^[0-9a-fA-F]{8}$/.test(hex)) throw badCpio(`header field ${i} at byte ${o} is not 8 hex digits`);
      return parseInt(hex, 16);
    };
    const mode = f(1),
      uid = f(2),
      gid = f(3),
      mtime = f(5),
      size = f(6),
      nameSize = f(11);
    if (nameSize < 1 || o + 110 + nameSize > buf.length) throw badCpio(`the name of the entry at byte ${o} does not fit in the archive`);
    const name = buf.toString('utf8', o + 110, o + 110 + nameSize - 1);
    o += 110 + nameSize;
    o += pad4(110 + nameSize);
    if (o + size > buf.length) throw badCpio(`the data of ${name} (${size} bytes) goes past the end of the archive`);
    const data = buf.subarray(o, o + size);
    o += size + pad4(size);
    if (name === 'TRAILER!!!') break;
    out.push({ path: name, mode, uid, gid, mtime, data });
  }
  return out;
}
