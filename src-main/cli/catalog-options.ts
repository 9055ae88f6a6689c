/** Turns `nexus build`-style flags into a BuildRequest (shared by build, packages resolve, serve defaults). */
import { open } from 'node:fs/promises';
import type { Command } from 'commander';
import { NexusError } from '../../src-shared/errors';
import { errnoCode } from '../../src-shared/narrow';
import type { BuildRequest } from '../../src-shared/plan';
import { checkSshPublicKey, looksLikePrivateKey, MAX_WIFI_PASSPHRASE, type CustomizationInput } from '../../src-shared/customization';

export interface TargetFlags {
  profile?: string;
  arch?: string;
  target?: string;
  fragments?: string;
  branch?: string;
  output?: string;
}

export interface CustomizationFlags {
  hostname?: string;
  user?: string;
  passwordHash?: string;
  rootPasswordHash?: string;
  sshKey?: string[];
  wifiSsid?: string;
  wifiPassphraseFile?: string;
  wifiCountry?: string;
  meshAddress?: string;
  meshListenPort?: string;
  meshPeer?: string[];
  timezone?: string;
  keyboard?: string;
  locale?: string;
}

const collect = (v: string, prev: string[] = []) => [...prev, v];

export function addTargetOptions(cmd: Command): Command {
  return cmd
    .option('--profile <name>', 'the Box to build (see --list-profiles)')
    .option('--arch <arch>', "x86_64, arm64 or riscv64 (default: from --target, else the Box's first)")
    .option('--target <board>', 'board: pc, rpi5, visionfive2, qemu-x86_64, qemu-arm64, qemu-riscv64 (default: the QEMU VM of the architecture)')
    .option('--fragments <list>', 'comma-separated fragments, e.g. "base,mesh,media" ("" for none)')
    .option('--branch <branch>', 'Alpine branch for Linux Boxes, e.g. v3.24 (default: the current stable branch) or edge');
}

export function addCustomizationOptions(cmd: Command): Command {
  return cmd
    .option('--hostname <name>', 'host name (RFC 1123)')
    .option('--user <name>', 'create this user account')
    .option('--password-hash <hash>', 'the user\'s password as a crypt hash ($y$… or $6$…; e.g. from "mkpasswd -m sha-512")')
    .option('--root-password-hash <hash>', 'unlock root with this crypt hash (root is locked otherwise)')
    .option('--ssh-key <key-or-file>', 'an SSH public key, or a .pub file (repeatable)', collect)
    .option('--wifi-ssid <ssid>', 'Wi-Fi network name')
    .option('--wifi-passphrase-file <file>', 'file holding the Wi-Fi passphrase (kept off the command line and shell history)')
    .option('--wifi-country <cc>', 'Wi-Fi regulatory country, e.g. DE or US')
    .option('--mesh-address <cidr>', 'this Box\'s WireGuard (wg0) address with prefix, e.g. 10.77.0.2/24 (the "mesh" fragment)')
    .option('--mesh-listen-port <port>', 'WireGuard listen port (default 51820)')
    .option(
      '--mesh-peer <spec>',
      'a WireGuard peer: "key=PUBKEY allowed-ips=10.77.0.1/32[,NET/PREFIX…] [endpoint=HOST:PORT] [keepalive=SECONDS]" (repeatable)',
      collect,
    )
    .option('--timezone <tz>', 'IANA time zone, e.g. Europe/Berlin')
    .option('--keyboard <layout>', 'XKB keyboard layout, e.g. us, de')
    .option('--locale <locale>', 'e.g. en_US.UTF-8');
}

export function parseFragments(list: string | undefined): string[] | undefined {
  if (list === undefined) return undefined;
  return list
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

/** Largest file of public keys we read for --ssh-key (an authorized_keys file of ~100 keys). */
export const MAX_SSH_KEY_FILE = 64 * 1024;

/**
 * Reads at most `max` bytes of a file the user named (regular file, pipe or device alike), returning
 * null when it holds more: never the whole of an unbounded file such as /dev/zero.
 */
export async function readBounded(path: string, max: number): Promise<Buffer | null> {
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.alloc(max + 1);
    let have = 0;
    while (have < buf.length) {
      const { bytesRead } = await fh.read(buf, have, buf.length - have, null);
      if (bytesRead === 0) break;
      have += bytesRead;
    }
    return have > max ? null : buf.subarray(0, have);
  } finally {
    await fh.close();
  }
}

/** A value safe to show in a message: short, one line, not a key. */
// eslint-disable-next-line no-control-regex
const shown = (v: string) => (v.length <= 200 && !/[\x00-\x1f\x7f]/.test(v) && !looksLikePrivateKey(v) ? `"${v}"` : 'given');

const PRIVATE_KEY_HINT =
  'Pass the public half instead: the .pub file next to it (e.g. ~/.ssh/id_ed25519.pub), or its one line "ssh-ed25519 AAAA… you@host". Keep the private key secret; it was not printed or stored.';

async function readKey(value: string): Promise<string[]> {
  // Never echo a private key, in any message.
  if (looksLikePrivateKey(value))
    throw new NexusError('SSH_PRIVATE_KEY', 'The --ssh-key value is a private key; refusing it (it was not printed or stored).', PRIVATE_KEY_HINT);
  const trimmed = value.trim();
  if (/^(ssh-|ecdsa-|sk-)/.test(trimmed) || /[\r\n]/.test(trimmed)) {
    const problem = checkSshPublicKey(trimmed);
    if (problem)
      throw new NexusError(
        'USAGE_SSH_KEY',
        `--ssh-key: ${problem}.`,
        'Pass exactly one public key line ("ssh-ed25519 AAAA… you@host"), or the path of a .pub file; repeat --ssh-key for more keys.',
      );
    return [trimmed];
  }
  let data: Buffer | null;
  try {
    data = await readBounded(value, MAX_SSH_KEY_FILE);
  } catch (err) {
    const code = errnoCode(err) ?? 'unreadable';
    throw new NexusError(
      'USAGE_SSH_KEY',
      `--ssh-key ${shown(value)} is neither a public key nor a readable file (${code}).`,
      'Pass the key text ("ssh-ed25519 AAAA…") or the path of your .pub file, e.g. ~/.ssh/id_ed25519.pub.',
    );
  }
  if (data === null)
    throw new NexusError(
      'USAGE_SSH_KEY',
      `--ssh-key ${shown(value)} is larger than ${MAX_SSH_KEY_FILE / 1024} KiB; a file of public keys is much smaller.`,
      'Pass your .pub file, e.g. ~/.ssh/id_ed25519.pub.',
    );
  const text = data.toString('utf8');
  if (looksLikePrivateKey(text))
    throw new NexusError(
      'SSH_PRIVATE_KEY',
      `--ssh-key ${shown(value)} is a private key file; refusing it (its content was not printed or stored).`,
      PRIVATE_KEY_HINT,
    );
  const keys = text
    .split('\n')
    .map((l) => l.replace(/\r$/, '').trim())
    .filter((l) => l && !l.startsWith('#'));
  keys.forEach((k, i) => {
    const problem = checkSshPublicKey(k);
    if (problem)
      throw new NexusError(
        'USAGE_SSH_KEY',
        `--ssh-key ${shown(value)}, line ${i + 1}: ${problem}.`,
        'Each line must be one public key "TYPE BASE64 [comment]" (no authorized_keys options such as command="…").',
      );
  });
  if (keys.length === 0)
    throw new NexusError('USAGE_SSH_KEY', `--ssh-key ${shown(value)} holds no public key.`, 'Pass your .pub file, e.g. ~/.ssh/id_ed25519.pub.');
  return keys;
}

/** The passphrase from --wifi-passphrase-file: a bounded read (64 characters plus a line break), never echoed. */
async function readPassphrase(path: string): Promise<string> {
  let data: Buffer | null;
  try {
    data = await readBounded(path, MAX_WIFI_PASSPHRASE + 2);
  } catch (err) {
    throw new NexusError(
      'USAGE_WIFI',
      `--wifi-passphrase-file ${shown(path)} cannot be read (${errnoCode(err) ?? 'unreadable'}).`,
      "Pass a file holding only the passphrase, e.g. made with: printf %s 'my passphrase' > wifi.txt; chmod 600 wifi.txt",
    );
  }
  const text = data === null ? null : data.toString('latin1').replace(/\r?\n$/, '');
  if (text === null || text.length > MAX_WIFI_PASSPHRASE) {
    throw new NexusError(
      'USAGE_WIFI',
      `--wifi-passphrase-file ${shown(path)} holds more than ${MAX_WIFI_PASSPHRASE} characters; a WPA passphrase is 8 to 63 characters (or 64 hex digits).`,
      'Put only the passphrase in the file (one line).',
    );
  }
  if (/[^\x20-\x7e]/.test(text)) {
    throw new NexusError(
      'USAGE_WIFI',
      `--wifi-passphrase-file ${shown(path)} holds characters other than printable ASCII (or more than one line); the passphrase was not printed.`,
      'A WPA passphrase is 8 to 63 printable ASCII characters (or 64 hex digits), alone on one line.',
    );
  }
  return text;
}

const MESH_PEER_HINT =
  'Write one peer as --mesh-peer="key=PUBKEY allowed-ips=10.77.0.1/32 endpoint=peer.example.net:51820" (key and allowed-ips required; endpoint and keepalive=SECONDS optional).';

/** One --mesh-peer: space-separated key=value pairs (the values are checked by the customization schema). */
/** One peer of the mesh as the customization takes it. */
type MeshPeerInput = NonNullable<NonNullable<CustomizationInput['mesh']>['peers']>[number];

export function parseMeshPeer(spec: string): MeshPeerInput {
  let publicKey: string | undefined;
  let allowedIps: string[] | undefined;
  const optional: { endpoint?: string; persistentKeepalive?: number } = {};
  for (const pair of spec.trim().split(/\s+/).filter(Boolean)) {
    const eq = pair.indexOf('=');
    const [k, v] = eq > 0 ? [pair.slice(0, eq), pair.slice(eq + 1)] : [pair, ''];
    if (!v) throw new NexusError('USAGE_MESH', `--mesh-peer: ${shown(k)} has no value.`, MESH_PEER_HINT);
    if (k === 'key' || k === 'public-key') publicKey = v;
    else if (k === 'endpoint') optional.endpoint = v;
    else if (k === 'allowed-ips') allowedIps = v.split(',').filter(Boolean);
    else if (k === 'keepalive') optional.persistentKeepalive = Number(v);
    else throw new NexusError('USAGE_MESH', `--mesh-peer: unknown setting ${shown(k)}.`, MESH_PEER_HINT);
  }
  if (!publicKey || !allowedIps) throw new NexusError('USAGE_MESH', '--mesh-peer needs key= and allowed-ips=.', MESH_PEER_HINT);
  return { publicKey, allowedIps, ...optional };
}

export async function customizationFromFlags(f: CustomizationFlags): Promise<CustomizationInput | undefined> {
  const c: CustomizationInput = {};
  if (f.hostname !== undefined) c.hostname = f.hostname;
  if (f.user !== undefined) c.user = { name: f.user, ...(f.passwordHash ? { passwordHash: f.passwordHash } : {}) };
  else if (f.passwordHash) throw new NexusError('USAGE_PASSWORD', '--password-hash needs --user.', 'Add --user NAME.');
  if (f.rootPasswordHash) c.rootPasswordHash = f.rootPasswordHash;
  if (f.sshKey?.length) c.sshKeys = (await Promise.all(f.sshKey.map(readKey))).flat();
  if (f.wifiSsid !== undefined || f.wifiCountry !== undefined || f.wifiPassphraseFile !== undefined) {
    if (!f.wifiSsid || !f.wifiCountry)
      throw new NexusError(
        'USAGE_WIFI',
        'Wi-Fi needs both --wifi-ssid and --wifi-country.',
        'The country sets which radio channels are legal where you are, e.g. --wifi-country=DE.',
      );
    const passphrase = f.wifiPassphraseFile ? await readPassphrase(f.wifiPassphraseFile) : undefined;
    c.wifi = { ssid: f.wifiSsid, country: f.wifiCountry, ...(passphrase !== undefined ? { passphrase } : {}) };
  }
  if (f.meshAddress !== undefined || f.meshPeer?.length || f.meshListenPort !== undefined) {
    if (!f.meshAddress)
      throw new NexusError('USAGE_MESH', "The mesh needs --mesh-address (this Box's address on wg0).", 'Add e.g. --mesh-address=10.77.0.2/24.');
    let port: number | undefined;
    if (f.meshListenPort !== undefined) {
      port = Number(f.meshListenPort);
      if (!(Number.isInteger(port) && port >= 1 && port <= 65535))
        throw new NexusError(
          'USAGE_MESH',
          `--mesh-listen-port ${shown(f.meshListenPort)} is not a port (1-65535).`,
          "Leave it out for WireGuard's usual 51820.",
        );
    }
    c.mesh = { address: f.meshAddress, ...(port !== undefined ? { listenPort: port } : {}), peers: (f.meshPeer ?? []).map(parseMeshPeer) };
  }
  if (f.timezone !== undefined) c.timezone = f.timezone;
  if (f.keyboard !== undefined) c.keyboard = f.keyboard;
  if (f.locale !== undefined) c.locale = f.locale;
  return Object.keys(c).length ? c : undefined;
}

export async function requestFromFlags(f: TargetFlags & CustomizationFlags): Promise<BuildRequest> {
  if (!f.profile) throw new NexusError('USAGE_PROFILE', 'No Box chosen.', 'Add --profile=NAME (run "nexus build --list-profiles" to see them).');
  const customization = await customizationFromFlags(f);
  const fragments = parseFragments(f.fragments);
  return {
    profile: f.profile,
    ...(f.arch !== undefined ? { arch: f.arch } : {}),
    ...(f.target !== undefined ? { target: f.target } : {}),
    ...(fragments !== undefined ? { fragments } : {}),
    ...(f.branch !== undefined ? { branch: f.branch } : {}),
    ...(f.output !== undefined ? { output: f.output } : {}),
    ...(customization ? { customization } : {}),
  };
}
