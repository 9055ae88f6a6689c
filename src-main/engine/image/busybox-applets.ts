/**
 * `busybox --install -s`, emulated without running the (foreign-architecture) binary: one symlink
 * `<dir>/<applet> -> /bin/busybox` per applet compiled into the binary.
 *
 * Where each link goes, in order of preference:
 * 1. `/etc/busybox-paths.d/busybox` when the package ships it: Alpine's busybox APKBUILD writes the binary's own
 *    `--list-full` output there (busybox 1.36.1-r15 and later; checked: the list equals the links
 *    `--install -s` made in every minirootfs under testdata/alpine/minirootfs/, and 1.37.0-r30 ships one).
 * 2. Otherwise the applet names are read from the binary (busybox keeps them as one sorted, NUL-separated
 *    string table that starts "[\0[[\0") and placed with APPLET_DIRS, a table derived from the links that
 *    `busybox --install -s` really made in Alpine's minirootfs (see below), plus the version-tagged moves
 *    in APPLET_MOVES; an applet in neither goes to DEFAULT_APPLET_DIR.
 *
 * Paths another package already ships (busybox-binsh's /bin/sh, a real coreutils binary, …) are left alone,
 * as `--install -s` does (it never replaces an existing file).
 */

export type AppletDir = '/bin' | '/sbin' | '/usr/bin' | '/usr/sbin';

/**
 * Applet directories as `busybox --install -s` made them in alpine-minirootfs-3.20.3 and -20240923
 * (busybox 1.36.1-r29 and -r32; the same 304 links on x86_64, aarch64 and riscv64), read from the tarballs in
 * testdata/alpine/minirootfs/. Busybox itself decides these (each applet's BB_DIR_* in its applet table).
 */
const FROM_MINIROOTFS: Record<AppletDir, string> = {
  '/bin': `arch ash base64 bbconfig cat chattr chgrp chmod chown cp date dd df dmesg dnsdomainname dumpkmap echo egrep
    false fatattr fdflush fgrep fsync getopt grep gunzip gzip hostname ionice iostat ipcalc kbd_mode kill link
    linux32 linux64 ln login ls lsattr lzop makemime mkdir mknod mktemp more mount mountpoint mpstat mv netstat
    nice pidof ping ping6 pipe_progress printenv ps pwd reformime rev rm rmdir run-parts sed setpriv setserial sh
    sleep stat stty su sync tar touch true umount uname usleep watch zcat`,
  '/sbin': `acpid adjtimex arp blkid blockdev depmod fbsplash fdisk findfs fsck fstrim getty halt hwclock ifconfig ifdown
    ifenslave ifup init inotifyd insmod ip ipaddr iplink ipneigh iproute iprule iptunnel klogd loadkmap logread
    losetup lsmod mdev mkdosfs mkfs.vfat mkswap modinfo modprobe nameif nologin pivot_root poweroff raidautorun
    reboot rmmod route setconsole slattach swapoff swapon switch_root sysctl syslogd tunctl udhcpc vconfig
    watchdog zcip`,
  '/usr/bin': `[ [[ awk basename bc beep blkdiscard bunzip2 bzcat bzip2 cal chvt cksum clear cmp comm cpio crontab cryptpw
    cut dc deallocvt diff dirname dos2unix du eject env expand expr factor fallocate find flock fold free fuser
    groups hd head hexdump hostid id install ipcrm ipcs killall last less logger lsof lsusb lzcat lzma lzopcat
    md5sum mesg microcom mkfifo mkpasswd nc nl nmeter nohup nproc nsenter nslookup od openvt passwd paste pgrep
    pkill pmap printf pscan pstree pwdx readlink realpath renice reset resize seq setkeycodes setsid sha1sum
    sha256sum sha3sum sha512sum showkey shred shuf sort split strings sum tac tail tee test time timeout top tr
    traceroute traceroute6 tree truncate tty ttysize udhcpc6 unexpand uniq unix2dos unlink unlzma unlzop unshare
    unxz unzip uptime uudecode uuencode vi vlock volname wc wget which who whoami whois xargs xxd xzcat yes`,
  '/usr/sbin': `add-shell addgroup adduser arping brctl chpasswd chroot crond delgroup deluser ether-wake fbset killall5
    loadfont nanddump nandwrite nbd-client ntpd partprobe rdate rdev readahead remove-shell rfkill sendmail
    setfont setlogcons`,
};

export const APPLET_DIRS: ReadonlyMap<string, AppletDir> = new Map(
  (Object.entries(FROM_MINIROOTFS) as Array<[AppletDir, string]>).flatMap(([dir, names]) =>
    names
      .split(/\s+/)
      .filter(Boolean)
      .map((n) => [n, dir] as const),
  ),
);

/**
 * Applets busybox moved after 1.36.1, from the busybox-paths.d list of busybox-1.37.0-r30 (x86_64, in
 * testdata/alpine/official/packages): the only difference to the 1.36.1 table.
 */
export const APPLET_MOVES: ReadonlyArray<{ applet: string; dir: AppletDir; since: [number, number, number] }> = [
  { applet: 'blkdiscard', dir: '/sbin', since: [1, 37, 0] },
];

/**
 * For applets in neither table (new in a later busybox): /usr/bin, busybox's most common location (137 of the 304
 * applets of 1.36.1) and the one for general user commands. Every directory is on the PATH the images set, so a
 * wrong guess costs nothing but the FHS position.
 */
export const DEFAULT_APPLET_DIR: AppletDir = '/usr/bin';

/** The applet names compiled into a busybox binary, or null when the table is not found. */
export function readBusyboxApplets(binary: Uint8Array): string[] | null {
  const buf = Buffer.from(binary.buffer, binary.byteOffset, binary.byteLength);
  const start = buf.indexOf('[\0[[\0', 0, 'latin1');
  if (start < 0) return null;
  const names: string[] = [];
  let at = start;
  while (at < buf.length && buf[at] !== 0) {
    const end = buf.indexOf(0, at);
    if (end < 0) break;
    const name = buf.subarray(at, end).toString('latin1');
    if (!/^[\x21-\x7e]+$/.test(name)) break;
    names.push(name);
    at = end + 1;
  }
  // The table is sorted (busybox bsearches it): stop trusting it where the order breaks.
  for (let i = 1; i < names.length; i++) if (names[i]! <= names[i - 1]!) return names.slice(0, i);
  return names.length > 1 ? names : null;
}

/** "1.37.0" from the binary's banner ("BusyBox v1.37.0 (2025-…)"). */
export function readBusyboxVersion(binary: Uint8Array): [number, number, number] | null {
  const m = /BusyBox v(\d+)\.(\d+)\.(\d+)/.exec(Buffer.from(binary.buffer, binary.byteOffset, binary.byteLength).toString('latin1'));
  return m ? [Number(m[1]), Number(m[2]), Number(m[3])] : null;
}

const atLeast = (v: [number, number, number], w: [number, number, number]) => (v[0] !== w[0] ? v[0] > w[0] : v[1] !== w[1] ? v[1] > w[1] : v[2] >= w[2]);

export function appletDir(applet: string, version: [number, number, number] | null): { dir: AppletDir; known: boolean } {
  const moved = version ? APPLET_MOVES.find((m) => m.applet === applet && atLeast(version, m.since)) : undefined;
  if (moved) return { dir: moved.dir, known: true };
  const dir = APPLET_DIRS.get(applet);
  return dir ? { dir, known: true } : { dir: DEFAULT_APPLET_DIR, known: false };
}

export interface AppletLinkPlan {
  /** Absolute link paths, sorted. */
  links: string[];
  /** Where the paths came from. */
  source: 'paths-file' | 'binary+table';
  /** Applets placed by DEFAULT_APPLET_DIR (table source only). */
  defaulted: string[];
}

/**
 * The links `busybox --install -s` makes for this binary. `pathsFile` is the text of
 * /etc/busybox-paths.d/busybox when the package ships one (relative paths, one a line).
 */
export function busyboxAppletLinks(binary: Uint8Array, pathsFile?: string): AppletLinkPlan | null {
  if (pathsFile !== undefined) {
    const links = pathsFile
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith('#'))
      .map((l) => '/' + l.replace(/^\/+/, ''));
    if (links.length && links.every((l) => /^\/(usr\/)?s?bin\/[^/]+$/.test(l)))
      return { links: [...new Set(links)].sort(), source: 'paths-file', defaulted: [] };
  }
  const applets = readBusyboxApplets(binary);
  if (!applets) return null;
  const version = readBusyboxVersion(binary);
  const defaulted: string[] = [];
  const links = applets.map((a) => {
    const { dir, known } = appletDir(a, version);
    if (!known) defaulted.push(a);
    return `${dir}/${a}`;
  });
  return { links: links.sort(), source: 'binary+table', defaulted };
}
