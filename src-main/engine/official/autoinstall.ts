/**
 * The autoinstall(8) response file (install.conf) for OpenBSD's own installer, generated from the plan's
 * customization. Format: `question = answer` lines; the installer matches a line when its question text
 * contains the words of the left-hand side (case-insensitive, starting at a word, followed by a blank,
 * "?" or the end), uses the answer once, and takes its default for every question without a line.
 * Questions without a default (host name, root password, the user's password) must be answered or the
 * installer stops.
 *
 * Passwords: the installer stores an answer that looks like a bcrypt hash ("$2?$NN$…", over 40 chars)
 * or 13 "*" (password login disabled) as is, and encrypts anything else as a plain-text password. Our
 * customization carries only yescrypt/SHA-512 hashes, which OpenBSD cannot use, so those accounts get
 * 13 "*" (SSH key login only) and a warning; they are never passed on (they would become the password).
 */
import { randomBytes } from 'node:crypto';
import { bcrypt } from 'hash-wasm';
import { NexusError } from '../../../src-shared/errors';
import type { OfficialPlan } from '../../../src-shared/plan';

/** Installer questions (OpenBSD 7.x/8.0 install.sub and autoinstall(8)); "IF" and "USER" stand for names. */
export const INSTALLER_QUESTIONS: ReadonlyArray<{ question: string; required?: boolean; autoOnly?: boolean; group?: string }> = [
  { question: 'Terminal type?' },
  { question: "Choose your keyboard layout ('?' or 'L' for list)" },
  { question: "System hostname? (short form, e.g. 'foo')", required: true },
  { question: "Which network interface do you wish to configure? (or 'done')" },
  { question: "IPv4 address for IF? (or 'autoconf' or 'none')" },
  { question: "IPv6 address for IF? (or 'autoconf' or 'none')" },
  { question: 'Default IPv4 route? (IPv4 address or none)' },
  { question: "DNS domain name? (e.g. 'example.com')" },
  { question: "DNS nameservers? (IP address list or 'none')" },
  { question: 'Password for root account?', required: true },
  { question: 'Public ssh key for root account?', autoOnly: true },
  { question: 'Start sshd(8) by default?' },
  { question: 'Do you expect to run the X Window System?' },
  { question: 'Do you want the X Window System to be started by xenodm(1)?' },
  { question: 'Change the default console to com0?' },
  { question: "Which speed should com0 use? (or 'done')" },
  { question: "Setup a user? (enter a lower-case loginname, or 'no')" },
  { question: 'Full name for user USER?' },
  { question: 'Password for user USER?', required: true },
  { question: 'Public ssh key for user USER', autoOnly: true },
  { question: 'Allow root ssh login? (yes, no, prohibit-password)' },
  { question: "What timezone are you in? ('?' for list)" },
  { question: "Which disk is the root disk? ('?' for details)" },
  { question: 'Encrypt the root disk with a (p)assphrase or (k)eydisk?' },
  // The partitioning question differs per platform and per disk state: one answer covers all variants.
  { question: 'Use (W)hole disk MBR, whole disk (G)PT, (O)penBSD area or (E)dit?', group: 'whole-disk' },
  { question: 'Use (W)hole disk, use the (O)penBSD area or (E)dit the MBR?', group: 'whole-disk' },
  { question: 'Use (W)hole disk or (E)dit the MBR?', group: 'whole-disk' },
  { question: 'Use (W)hole disk or (E)dit the GPT?', group: 'whole-disk' },
  { question: 'Use (A)uto layout, (E)dit auto layout, or create (C)ustom layout?' },
  { question: 'URL to autopartitioning template for disklabel?', autoOnly: true },
  { question: "Location of sets? (disk http nfs or 'done')" },
  { question: 'Is the disk partition already mounted?' },
  { question: "Which disk contains the install media? (or 'done')" },
  { question: "HTTP proxy URL? (e.g. 'http://proxy:8080', or 'none')" },
  { question: "HTTP Server? (hostname, list#, 'done' or '?')" },
  { question: 'Server directory?' },
  { question: 'Unable to connect using https. Use http instead?' },
  { question: "Set name(s)? (or 'abort' or 'done')" },
  { question: 'Directory does not contain SHA256.sig. Continue without verification?' },
  { question: 'Unverified sets: site80.tgz. Continue without verification?' },
  { question: 'Cannot determine prefetch area. Continue without verification?' },
];

/** The installer's matching rule (_autorespond in install.sub), for checking generated keys. */
export function answerMatches(key: string, question: string): boolean {
  const esc = key.toLowerCase().replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`^(|.*\\s)${esc}([\\s?].*)?$`, 's').test(question.toLowerCase());
}

export interface AutoinstallOptions {
  /** Root disk as OpenBSD names it (sd0, wd0, nvme → sd0…); default: the installer's default (its first disk). */
  rootDisk?: string;
  /** Where the installer takes the sets from: the install image itself ("disk") or an HTTP mirror. Default from the image name. */
  sets?: 'disk' | 'http';
  /** bcrypt hashes ($2a$/$2b$) computed elsewhere (for example by the wizard from a typed password). */
  rootBcrypt?: string;
  userBcrypt?: string;
  /** For tests: a fixed temporary root password instead of a random one. */
  temporaryPassword?: string;
}

export interface Autoinstall {
  /** The install.conf text. */
  text: string;
  answers: Array<{ question: string; answer: string }>;
  warnings: string[];
  /** Set only when nobody could log in otherwise: show it to the user once, never store it. */
  temporaryRootPassword?: string;
  /** Package names to add after the first boot (pkg_add verifies their signatures). */
  packagesAfterInstall: string[];
}

const BCRYPT = /^\$2[aby]\$\d\d\$[./A-Za-z0-9]{53}$/;
export const isBcrypt = (h: string | undefined): h is string => !!h && BCRYPT.test(h);
const LOCKED = '*************';

/** XKB layout → wscons layout name (kbd(8)); undefined when OpenBSD has no matching layout. */
const KBD: Record<string, string> = {
  us: 'us',
  de: 'de',
  fr: 'fr',
  gb: 'uk',
  uk: 'uk',
  es: 'es',
  it: 'it',
  jp: 'jp',
  no: 'no',
  se: 'sv',
  sv: 'sv',
  fi: 'fi',
  dk: 'dk',
  pt: 'pt',
  br: 'br',
  ru: 'ru',
  ua: 'ua',
  pl: 'pl',
  hu: 'hu',
  cz: 'cz',
  si: 'si',
  ch: 'sg',
  be: 'be',
  nl: 'nl',
  tr: 'tr',
  is: 'is',
  ee: 'ee',
  lt: 'lt',
  lv: 'lv',
  latam: 'la',
  la: 'la',
  ca: 'cf',
};

function mirrorHostAndDir(mirror: string, version: string, arch: string): { host: string; dir: string } {
  const u = new URL(mirror);
  const base = u.pathname.replace(/^\/+|\/+$/g, '');
  return { host: u.port ? `${u.hostname}:${u.port}` : u.hostname, dir: [base, version, arch].filter(Boolean).join('/') };
}

export async function generateAutoinstall(plan: OfficialPlan, opts: AutoinstallOptions = {}): Promise<Autoinstall> {
  const o = plan.official;
  if (o.os !== 'openbsd') throw new NexusError('NOT_OPENBSD', 'install.conf answers are only made for OpenBSD official images.', 'Choose the openbox Box.');
  const c = plan.customization;
  const answers: Array<{ question: string; answer: string }> = [];
  const warnings: string[] = [];
  const put = (question: string, answer: string) => {
    if (/[\r\n]/.test(answer))
      throw new NexusError('ANSWER_INVALID', `The answer to "${question}" contains a line break.`, 'Remove line breaks from the value.');
    answers.push({ question, answer });
  };

  const [short, ...domain] = c.hostname.split('.');
  put('System hostname', short!);
  if (domain.length) put('DNS domain name', domain.join('.'));

  const kb = c.keyboard.split(/[(-]/)[0]!;
  if (kb !== 'us') {
    const wscons = KBD[kb];
    if (wscons) put('Choose your keyboard layout', wscons);
    else warnings.push(`OpenBSD has no console keyboard layout for "${c.keyboard}"; the installer keeps "us" (change it later with kbd(8)).`);
  }

  // Network: the first interface by DHCP (the installer's default interface), nothing else.
  put('IPv4 address for', 'autoconf');
  if (c.wifi)
    warnings.push(
      `Wi-Fi "${c.wifi.ssid}" is not put into install.conf: OpenBSD names Wi-Fi interfaces per driver and the installer would need the passphrase in plain text. The installer uses the wired network; configure Wi-Fi after the first boot (hostname.if(5)).`,
    );

  const keys = c.sshKeys;
  const user = c.user;
  const userHash = isBcrypt(opts.userBcrypt) ? opts.userBcrypt : isBcrypt(user?.passwordHash) ? user!.passwordHash : undefined;
  const rootHash = isBcrypt(opts.rootBcrypt) ? opts.rootBcrypt : isBcrypt(c.rootPasswordHash) ? c.rootPasswordHash : undefined;
  let temporaryRootPassword: string | undefined;

  let rootAnswer = rootHash ?? LOCKED;
  const someoneCanLogIn = keys.length > 0 || !!userHash || !!rootHash;
  if (!someoneCanLogIn) {
    temporaryRootPassword = opts.temporaryPassword ?? randomBytes(9).toString('base64url');
    const hash = await bcrypt({ password: temporaryRootPassword, salt: randomBytes(16), costFactor: 10, outputType: 'encoded' });
    rootAnswer = hash.replace(/^\$2a\$/, '$2b$');
    warnings.push(
      `No SSH key and no OpenBSD-usable password were given, so root gets a temporary password: ${temporaryRootPassword} (only its bcrypt hash is in install.conf). Log in on the console as root and change it with passwd(1).`,
    );
  }
  if (c.rootPasswordHash && !isBcrypt(c.rootPasswordHash)) {
    warnings.push(
      "The root password hash is yescrypt/SHA-512; OpenBSD's installer only takes bcrypt ($2b$) hashes, so it is not used" +
        (temporaryRootPassword ? '.' : ': root password login stays disabled (set one after the first login with passwd(1)).'),
    );
  }
  put('Password for root account', rootAnswer);
  put('Start sshd(8) by default', 'yes');

  const wantsX = o.packages.length > 0;
  put('Do you expect to run the X Window System', 'no');

  if (user) {
    put('Setup a user', user.name);
    put(`Full name for user ${user.name}`, user.name);
    put(`Password for user ${user.name}`, userHash ?? LOCKED);
    if (!userHash) {
      warnings.push(
        user.passwordHash
          ? `The password hash for ${user.name} is yescrypt/SHA-512, which OpenBSD cannot use: password login for ${user.name} is disabled (13 "*"); log in with the SSH key and run passwd(1) to set one.`
          : `${user.name} has no password: password login is disabled; log in with the SSH key and run passwd(1) to set one.`,
      );
      if (!keys.length)
        warnings.push(`${user.name} has neither a usable password nor an SSH key and cannot log in until root sets a password (passwd ${user.name}).`);
    }
    put(`Public ssh key for user ${user.name}`, keys[0] ?? 'none');
    put('Public ssh key for root account', 'none');
    put('Allow root ssh login', 'no');
  } else {
    put('Setup a user', 'no');
    put('Public ssh key for root account', keys[0] ?? 'none');
    put('Allow root ssh login', keys.length ? 'prohibit-password' : 'no');
  }
  if (keys.length > 1)
    warnings.push(
      `The installer takes one SSH key per account; only the first is installed. Add the other ${keys.length - 1} to ~/.ssh/authorized_keys after the first login.`,
    );
  if (user?.admin)
    warnings.push(
      `${user.name} is put into the wheel group by the installer; doas(1) is not configured: create /etc/doas.conf with "permit persist :wheel" to use it.`,
    );

  put('What timezone are you in', c.timezone);

  if (opts.rootDisk) {
    if (!/^(sd|wd|vnd)\d+$/.test(opts.rootDisk))
      throw new NexusError('ANSWER_INVALID', `"${opts.rootDisk}" is not an OpenBSD disk name.`, 'Use a name such as sd0 or wd0.');
    put('Which disk is the root disk', opts.rootDisk);
  }
  // Disk layout. On the boards (arm64, riscv64) the installer usually installs onto the card it booted
  // from, which holds the miniroot's own small OpenBSD partition: the installer's default would then be
  // "use the (O)penBSD area", far too small, so the whole disk is taken. On amd64 the target is another
  // disk and the installer's default (GPT on UEFI, MBR on BIOS) is right.
  if (o.arch !== 'amd64') put('Use (W)hole', 'whole');
  put('Use (A)uto layout, (E)dit auto layout, or create (C)ustom layout', 'a');

  const sets = opts.sets ?? (/^install\d+\.img$/.test(o.image) ? 'disk' : 'http');
  if (sets === 'disk') {
    put('Location of sets', 'disk');
    put('Is the disk partition already mounted', 'no');
  } else {
    const mirror = o.mirrors.find((m) => /^https?:\/\//.test(m));
    if (!mirror)
      throw new NexusError(
        'ANSWER_INVALID',
        'The release lists no http(s) mirror for the installer to take the sets from.',
        'Add a mirror to profiles/releases/.',
      );
    const { host, dir } = mirrorHostAndDir(mirror, o.version, o.arch);
    put('Location of sets', 'http');
    put('HTTP proxy URL', 'none');
    put('HTTP Server', host);
    put('Server directory', dir);
    // The installer verifies the sets with signify itself; plain http is only the transport.
    put('Use http instead', 'yes');
  }
  put('Set name(s)', wantsX ? '-game*' : '-game* -x*');
  put('Directory does not contain SHA256.sig. Continue without verification', 'no');

  for (const a of answers) {
    const hits = INSTALLER_QUESTIONS.filter((q) => answerMatches(a.question, q.question.replace('USER', user?.name ?? 'USER')));
    if (!hits.length) throw new Error(`internal: answer key "${a.question}" matches no known installer question`);
  }

  const header = [
    `# OpenBSD ${o.version} ${o.arch} autoinstall(8) response file made by Nexus Imager for ${plan.box.name} on ${plan.board.title}.`,
    '# Serve it on the local network with "nexus serve-answers FILE", type A at the installer\'s first prompt and',
    '# answer "Response file location?" with the URL it prints. Questions without a line take the installer\'s default.',
    ...(wantsX || o.packages.length ? [`# After the first boot: pkg_add ${o.packages.join(' ')}`] : []),
  ];
  const text = [...header, ...answers.map((a) => `${a.question} = ${a.answer}`)].join('\n') + '\n';
  return { text, answers, warnings, ...(temporaryRootPassword ? { temporaryRootPassword } : {}), packagesAfterInstall: [...o.packages] };
}
