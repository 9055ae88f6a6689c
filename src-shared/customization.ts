/**
 * What a user may customize in an image, validated the same way in the CLI, the wizard and the engine.
 * Passwords never appear here in plain text: only a crypt(3) hash (yescrypt "$y$" or SHA-512 "$6$").
 */
import { z } from 'zod';

/** ISO 3166-1 alpha-2 codes (plus "00", the world regulatory domain), for Wi-Fi regulatory settings. */
export const WIFI_COUNTRIES = (
  '00 AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ ' +
  'CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR ' +
  'GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP ' +
  'KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT ' +
  'MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW ' +
  'SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG ' +
  'UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW'
).split(' ');

/** RFC 1123 host name: dot-separated labels of letters, digits and hyphens, 1-63 chars, not starting or ending with "-". */
export const Hostname = z
  .string()
  .min(1, 'a host name is required')
  .max(253, 'at most 253 characters')
  .regex(
    /^(?!-)[A-Za-z0-9-]{1,63}(?<!-)(\.(?!-)[A-Za-z0-9-]{1,63}(?<!-))*$/,
    'letters, digits and "-" only (labels of 1-63 characters, not starting or ending with "-"), e.g. "nexus-pi"',
  )
  .refine((h) => !/^\d+$/.test(h.split('.').at(-1) ?? ''), 'the last label must not be all digits');

const RESERVED_USERS = new Set([
  'root',
  'daemon',
  'bin',
  'sys',
  'adm',
  'nobody',
  'operator',
  'wheel',
  'sshd',
  'dinit',
  'shutdown',
  'halt',
  'mail',
  'news',
  'uucp',
  'ftp',
  'www',
  'www-data',
  'games',
  'man',
  'postmaster',
  'cron',
  'ntp',
  'smmsp',
  'guest',
  'utmp',
  'ping',
  'nogroup',
]);

export const UserName = z
  .string()
  .regex(/^[a-z_][a-z0-9_-]{0,31}$/, 'lower-case letters, digits, "_" and "-", starting with a letter or "_", at most 32 characters')
  .superRefine((u, ctx) => {
    if (RESERVED_USERS.has(u)) ctx.addIssue({ code: 'custom', message: `"${u}" is a system account name; choose another` });
  });

/** crypt(3) hashes we accept: yescrypt ($y$) or SHA-512 ($6$). Never plain text. */
export const PasswordHash = z
  .string()
  .regex(
    /^\$(y\$[./A-Za-z0-9]+\$[./A-Za-z0-9]{1,86}\$[./A-Za-z0-9]{43}|6\$(rounds=\d+\$)?[./A-Za-z0-9]{1,16}\$[./A-Za-z0-9]{86})$/,
    'a yescrypt ($y$…) or SHA-512 ($6$…) crypt hash',
  );

const SSH_KEY_TYPES = [
  'ssh-ed25519',
  'ssh-rsa',
  'ecdsa-sha2-nistp256',
  'ecdsa-sha2-nistp384',
  'ecdsa-sha2-nistp521',
  'sk-ssh-ed25519@openssh.com',
  'sk-ecdsa-sha2-nistp256@openssh.com',
];

function base64ToBytes(s: string): Uint8Array | undefined {
  try {
    const bin = atob(s);
    const out = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out;
  } catch {
    return undefined;
  }
}

/** Longest public key line we accept (an RSA 16384-bit key is ~2.8 KB; comments are short). */
export const MAX_SSH_KEY_LENGTH = 8192;

/** Whether text looks like (part of) a private key: never echo such text anywhere. */
export function looksLikePrivateKey(text: string): boolean {
  return /-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----|PRIVATE KEY-----|PuTTY-User-Key-File-|^b3BlbnNzaC1rZXktdjE/m.test(text);
}

/**
 * Checks one OpenSSH public key line, as written into authorized_keys: exactly "TYPE BASE64 [comment]" on one
 * line (no options such as command="…", no control characters, no second line), a known type, strict base64,
 * and the type string embedded in the blob matches. Messages never quote the input beyond the key type.
 */
export function checkSshPublicKey(line: string): string | undefined {
  if (looksLikePrivateKey(line)) return 'this is a private key: paste the .pub file instead, and keep the private key secret';
  if (line.length > MAX_SSH_KEY_LENGTH) return `too long for a public key line (at most ${MAX_SSH_KEY_LENGTH} characters)`;
  // eslint-disable-next-line no-control-regex
  if (/[\x00-\x08\x0a-\x1f\x7f]/.test(line))
    return 'a public key is one line without control characters (a line break would add a second authorized_keys entry)';
  const parts = line.trim().split(/[ \t]+/);
  const [type, body] = parts;
  if (!type || !body) return 'expected "TYPE BASE64 [comment]", e.g. "ssh-ed25519 AAAAC3… you@host"';
  if (!SSH_KEY_TYPES.includes(type)) {
    const shown = /^[A-Za-z0-9@._-]{1,40}$/.test(type) ? `"${type}"` : 'at the start of the line';
    return `unknown key type ${shown} (expected one of ${SSH_KEY_TYPES.join(', ')}; authorized_keys options such as command="…" are not accepted)`;
  }
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(body) || body.length % 4 !== 0) return 'the key body is not valid base64';
  const blob = base64ToBytes(body);
  if (!blob || blob.length < 8) return 'the key body is not valid base64';
  const len = ((blob[0]! << 24) | (blob[1]! << 16) | (blob[2]! << 8) | blob[3]!) >>> 0;
  const inner = new TextDecoder().decode(blob.subarray(4, 4 + len));
  if (inner !== type) return `the key body says "${inner.slice(0, 40)}" but the line says "${type}": the key is damaged`;
  if (type === 'ssh-ed25519' && blob.length !== 51) return 'an ed25519 key body must be 51 bytes: the key is truncated';
  return undefined;
}

export const SshPublicKey = z
  .string()
  .max(MAX_SSH_KEY_LENGTH + 1024)
  .superRefine((k, ctx) => {
    const problem = checkSshPublicKey(k);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  });

const utf8Length = (s: string) => new TextEncoder().encode(s).length;

/** Longest Wi-Fi passphrase: 63 printable ASCII characters, or a 64-hex-digit PSK. */
export const MAX_WIFI_PASSPHRASE = 64;

export const WifiSettings = z
  .object({
    // Control characters would end a line of wpa_supplicant.conf or an iwd file; no real network needs them.
    ssid: z
      .string()
      .max(64)
      .refine((s) => utf8Length(s) >= 1 && utf8Length(s) <= 32, 'an SSID is 1 to 32 bytes')
      // eslint-disable-next-line no-control-regex
      .refine((s) => !/[\x00-\x1f\x7f]/.test(s), 'an SSID must not contain control characters (line breaks, tabs, NUL)'),
    /** WPA2/WPA3-Personal passphrase (8-63 printable ASCII) or a 64-hex-digit PSK; absent for open networks. */
    passphrase: z
      .string()
      .refine((p) => /^[\x20-\x7e]{8,63}$/.test(p) || /^[0-9a-fA-F]{64}$/.test(p), 'a passphrase is 8 to 63 printable ASCII characters (or 64 hex digits)')
      .optional(),
    country: z
      .string()
      .transform((c) => c.toUpperCase())
      .refine((c) => WIFI_COUNTRIES.includes(c), 'a two-letter ISO 3166 country code such as "DE" or "US"'),
  })
  .strict();
export type WifiSettings = z.infer<typeof WifiSettings>;

function knownTimeZones(): Set<string> | undefined {
  const intl = Intl as unknown as { supportedValuesOf?: (k: string) => string[] };
  return intl.supportedValuesOf ? new Set([...intl.supportedValuesOf('timeZone'), 'UTC', 'Etc/UTC']) : undefined;
}
const TIME_ZONES = knownTimeZones();

export const TimeZone = z
  .string()
  .regex(/^[A-Za-z_]+(\/[A-Za-z0-9_+-]+){0,2}$/, 'an IANA time zone such as "Europe/Berlin" or "UTC"')
  .refine((tz) => !TIME_ZONES || TIME_ZONES.has(tz), 'not a known IANA time zone (e.g. "Europe/Berlin", "America/New_York", "UTC")');

export const KeyboardLayout = z.string().regex(/^[a-z]{2,8}(\([a-z0-9_-]+\)|-[a-z0-9_]+)?$/, 'an XKB layout such as "us", "de" or "fr(azerty)"');
export const Locale = z.string().regex(/^[a-z]{2,3}(_[A-Z]{2})?(\.(UTF-8|utf8))?(@[a-z]+)?$|^C(\.UTF-8)?$/, 'a locale such as "en_US.UTF-8" or "C.UTF-8"');

/** An IPv4 address "a.b.c.d" (decimal octets without leading zeros). */
function isIpv4(a: string): boolean {
  const parts = a.split('.');
  return parts.length === 4 && parts.every((p) => /^(0|[1-9]\d{0,2})$/.test(p) && Number(p) <= 255);
}

/** An IPv6 address in text form (hex groups, at most one "::"; no embedded IPv4, no zone). */
function isIpv6(a: string): boolean {
  if (!/^[0-9A-Fa-f:]+$/.test(a) || a.split('::').length > 2) return false;
  const groups = (s: string) => (s === '' ? [] : s.split(':'));
  const [head, tail] = a.split('::') as [string, string | undefined];
  const all = [...groups(head), ...groups(tail ?? '')];
  if (!all.every((g) => /^[0-9A-Fa-f]{1,4}$/.test(g))) return false;
  return tail === undefined ? all.length === 8 : all.length <= 7;
}

/** "ADDRESS/PREFIX" with an IPv4 (prefix 0-32) or IPv6 (0-128) address, as WireGuard's Address and AllowedIPs use. */
export function checkCidr(text: string): string | undefined {
  const m = /^([^/]+)\/(\d{1,3})$/.exec(text);
  if (!m) return `"${text.slice(0, 60)}" is not ADDRESS/PREFIX (e.g. 10.77.0.2/24 or fd00::2/64)`;
  const [, addr, bits] = m as unknown as [string, string, string];
  if (isIpv4(addr)) return Number(bits) <= 32 ? undefined : `the prefix of ${text} must be 0-32 for IPv4`;
  if (isIpv6(addr)) return Number(bits) <= 128 ? undefined : `the prefix of ${text} must be 0-128 for IPv6`;
  return `"${addr.slice(0, 60)}" is not an IPv4 or IPv6 address`;
}

const Cidr = z
  .string()
  .max(64)
  .superRefine((c, ctx) => {
    const problem = checkCidr(c);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  });

/** A WireGuard key as wg prints it: base64 of 32 bytes (44 characters ending in "="). */
export const WireguardKey = z
  .string()
  .regex(/^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=$/, 'a WireGuard public key: 44 base64 characters ending in "=", as `wg pubkey` prints it');

/** HOST:PORT, HOST a DNS name or IPv4 address, or [IPv6]:PORT. */
export const MeshEndpoint = z
  .string()
  .max(270)
  .superRefine((e, ctx) => {
    const m = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(e);
    const port = m ? Number(m[3]) : 0;
    const host = m?.[1] ?? m?.[2] ?? '';
    const hostOk = m?.[1] !== undefined ? isIpv6(host) : isIpv4(host) || Hostname.safeParse(host).success;
    if (!m || !hostOk || port < 1 || port > 65535)
      ctx.addIssue({ code: 'custom', message: 'an endpoint HOST:PORT, e.g. "peer.example.net:51820", "203.0.113.7:51820" or "[2001:db8::7]:51820"' });
  });

export const MeshPeer = z
  .object({
    publicKey: WireguardKey,
    /** Where to reach the peer; absent for peers that connect to this Box. */
    endpoint: MeshEndpoint.optional(),
    /** Addresses routed to this peer through wg0 (its mesh address, or whole networks behind it). */
    allowedIps: z.array(Cidr).min(1, "at least one allowed IP range, e.g. the peer's mesh address 10.77.0.1/32").max(64),
    /** Seconds between keepalive packets (through NAT), 1-3600. */
    persistentKeepalive: z.number().int().min(1).max(3600).optional(),
  })
  .strict();

/** The WireGuard mesh interface wg0 (the `mesh` fragment): this Box's address and its peers. The private key is made on the device. */
export const MeshSettings = z
  .object({
    /** This Box's address on the mesh with its prefix, e.g. 10.77.0.2/24. */
    address: Cidr,
    listenPort: z.number().int().min(1).max(65535).default(51820),
    peers: z.array(MeshPeer).max(64, 'at most 64 peers').default([]),
  })
  .strict();
export type MeshSettings = z.infer<typeof MeshSettings>;

export const CustomizationSchema = z
  .object({
    hostname: Hostname.default('nexus'),
    user: z
      .object({
        name: UserName,
        passwordHash: PasswordHash.optional(),
        /** Shown by the wizard; members of "wheel" may use doas/sudo. */
        admin: z.boolean().default(true),
      })
      .strict()
      .optional(),
    /** Root stays locked unless a hash is given. */
    rootPasswordHash: PasswordHash.optional(),
    sshKeys: z.array(SshPublicKey).max(100, 'at most 100 SSH keys').default([]),
    wifi: WifiSettings.optional(),
    /** WireGuard wg0 for the `mesh` fragment. */
    mesh: MeshSettings.optional(),
    timezone: TimeZone.default('UTC'),
    keyboard: KeyboardLayout.default('us'),
    locale: Locale.default('C.UTF-8'),
  })
  .strict();
export type Customization = z.infer<typeof CustomizationSchema>;
export type CustomizationInput = z.input<typeof CustomizationSchema>;
