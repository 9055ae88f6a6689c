/**
 * FAT names: the 8.3 short name every reader sees and, when the real name is anything else (lower case, longer,
 * other characters), VFAT long-name (LFN) entries in front of it. Short names follow the Windows basis-name
 * rules (fatgen103 §7.4: upper case, spaces and leading dots dropped, other characters outside the short-name
 * set become "_", a "~N" tail when the name was cut or changed or is taken), so "bcm2712-rpi-5-b.dtb" is
 * BCM271~1.DTB and "config.txt" is CONFIG.TXT with its LFN.
 */
import { NexusError } from '../../../../src-shared/errors';

const SHORT_OK = /^[A-Z0-9$%'\-_@~`!(){}^#&]$/;
// Characters a long name may not hold (Windows and fatgen103): control characters and "*/:<>?\|.
// eslint-disable-next-line no-control-regex
const LONG_BAD = /[\u0000-\u001f"*/:<>?\\|]/;
const MAX_LONG = 255;

function badName(name: string, why: string): NexusError {
  return new NexusError('FAT_BAD_NAME', `"${name}" cannot be a name on a FAT file system: ${why}.`, 'Rename the file in the board definition or package.');
}

/** Checks one path component as a VFAT long name. */
export function checkLongName(name: string): void {
  if (name === '' || name === '.' || name === '..') throw badName(name, 'empty or a dot name');
  if (name.length > MAX_LONG) throw badName(`${name.slice(0, 40)}…`, `it has ${name.length} characters (at most ${MAX_LONG})`);
  if (LONG_BAD.test(name)) throw badName(name, 'it contains a control character or one of "*/:<>?\\|');
  if (/[. ]$/.test(name)) throw badName(name, 'it ends with a dot or a space');
}

/** The 11-byte short name ("CONFIG  TXT") when `name` is already a valid upper-case 8.3 name, else null. */
export function exactShortName(name: string): string | null {
  const m = /^([^.]{1,8})(?:\.([^.]{1,3}))?$/.exec(name);
  if (!m) return null;
  const [, base, ext = ''] = m;
  if (![...base!, ...ext].every((c) => SHORT_OK.test(c))) return null;
  return base!.padEnd(8, ' ') + ext.padEnd(3, ' ');
}

/** The basis name (base, ext) and whether it lost information (so it needs a numeric tail). */
function basis(name: string): { base: string; ext: string; lossy: boolean } {
  let lossy = false;
  const conv = (s: string) =>
    [...s.toUpperCase()]
      .map((c) => {
        if (SHORT_OK.test(c)) return c;
        lossy = true;
        return '_';
      })
      .join('');
  const stripped = name.replace(/ /g, '').replace(/^\.+/, '');
  if (stripped !== name) lossy = true;
  const dot = stripped.lastIndexOf('.');
  const rawBase = (dot < 0 ? stripped : stripped.slice(0, dot)).replace(/\./g, '');
  const rawExt = dot < 0 ? '' : stripped.slice(dot + 1);
  if (dot >= 0 && rawBase.length !== stripped.slice(0, dot).length) lossy = true;
  let base = conv(rawBase);
  let ext = conv(rawExt);
  if (base.length > 8 || ext.length > 3) lossy = true;
  base = base.slice(0, 8);
  ext = ext.slice(0, 3);
  if (base === '') {
    base = '_';
    lossy = true;
  }
  return { base, ext, lossy };
}

/**
 * Assigns short names to the names of one directory (in the given order): exact 8.3 names keep theirs, the
 * others get a basis name, with "~1", "~2"… when needed. Returns the 11-byte names and whether each needs LFNs.
 */
export function assignShortNames(names: string[]): Array<{ short: string; lfn: boolean }> {
  const taken = new Set<string>();
  const exact = names.map(exactShortName);
  for (const s of exact) if (s) taken.add(s);
  return names.map((name, i) => {
    if (exact[i]) return { short: exact[i]!, lfn: false };
    const { base, ext, lossy } = basis(name);
    const plain = base.padEnd(8, ' ') + ext.padEnd(3, ' ');
    if (!lossy && !taken.has(plain)) {
      taken.add(plain);
      return { short: plain, lfn: true };
    }
    for (let n = 1; n < 1_000_000; n++) {
      const tail = `~${n}`;
      const s = (base.slice(0, 8 - tail.length) + tail).padEnd(8, ' ') + ext.padEnd(3, ' ');
      if (!taken.has(s)) {
        taken.add(s);
        return { short: s, lfn: true };
      }
    }
    throw badName(name, 'no free short name for it');
  });
}

export function shortNameChecksum(short11: Buffer): number {
  let sum = 0;
  for (let i = 0; i < 11; i++) sum = (((sum & 1) << 7) + (sum >> 1) + short11[i]!) & 0xff;
  return sum;
}

/** The LFN entries for `name`, in on-disk order (last part first), each 32 bytes. */
export function lfnEntries(name: string, checksum: number): Buffer[] {
  const units: number[] = [];
  for (let i = 0; i < name.length; i++) units.push(name.charCodeAt(i));
  const count = Math.ceil(units.length / 13);
  if (units.length % 13) units.push(0);
  while (units.length < count * 13) units.push(0xffff);
  const out: Buffer[] = [];
  for (let k = count; k >= 1; k--) {
    const e = Buffer.alloc(32);
    e[0] = k | (k === count ? 0x40 : 0);
    e[11] = 0x0f;
    e[13] = checksum;
    const part = units.slice((k - 1) * 13, k * 13);
    part.forEach((u, j) => e.writeUInt16LE(u, j < 5 ? 1 + j * 2 : j < 11 ? 14 + (j - 5) * 2 : 28 + (j - 11) * 2));
    out.push(e);
  }
  return out;
}

/** Volume labels as mkfs.fat accepts them, restricted to upper case (lower case "might not work", it warns). */
export function checkLabel(label: string): string {
  if (label.length === 0) return 'NO NAME    ';
  if (label.length > 11 || !/^[\x20-\x7e]+$/.test(label) || /[a-z*?.,;:/\\|+=<>[\]"]/.test(label) || label.startsWith(' '))
    throw new NexusError(
      'FAT_BAD_LABEL',
      `"${label}" cannot be a FAT volume label.`,
      "Use at most 11 characters: upper-case letters, digits, spaces (not first) and !#$%&'()-@^_`{}~.",
    );
  return label.padEnd(11, ' ');
}
