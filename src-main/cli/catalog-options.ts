/** Turns `nexus build`-style flags into a BuildRequest (shared by build, packages resolve, serve defaults). */
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { NexusError } from '../../src-shared/errors';
import type { BuildRequest } from '../../src-shared/plan';
import type { CustomizationInput } from '../../src-shared/customization';

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
  timezone?: string;
  keyboard?: string;
  locale?: string;
}

const collect = (v: string, prev: string[] = []) => [...prev, v];

export function addTargetOptions(cmd: Command): Command {
  return cmd
    .option('--profile <name>', 'the Box to build (see --list-profiles)')
    .option('--arch <arch>', 'x86_64, arm64 or riscv64 (default: from --target, else the Box\'s first)')
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
    .option('--timezone <tz>', 'IANA time zone, e.g. Europe/Berlin')
    .option('--keyboard <layout>', 'XKB keyboard layout, e.g. us, de')
    .option('--locale <locale>', 'e.g. en_US.UTF-8');
}

export function parseFragments(list: string | undefined): string[] | undefined {
  if (list === undefined) return undefined;
  return list.split(',').map((s) => s.trim()).filter(Boolean);
}

async function readKey(value: string): Promise<string[]> {
  if (/^(ssh-|ecdsa-|sk-)/.test(value.trim())) return [value.trim()];
  try {
    const text = await readFile(value, 'utf8');
    return text.split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
  } catch (err) {
    throw new NexusError('USAGE_SSH_KEY', `--ssh-key "${value}" is neither a public key nor a readable file (${(err as Error).message}).`, 'Pass the key text ("ssh-ed25519 AAAA…") or the path of your .pub file, e.g. ~/.ssh/id_ed25519.pub.');
  }
}

export async function customizationFromFlags(f: CustomizationFlags): Promise<CustomizationInput | undefined> {
  const c: Record<string, unknown> = {};
  if (f.hostname !== undefined) c.hostname = f.hostname;
  if (f.user !== undefined) c.user = { name: f.user, ...(f.passwordHash ? { passwordHash: f.passwordHash } : {}) };
  else if (f.passwordHash) throw new NexusError('USAGE_PASSWORD', '--password-hash needs --user.', 'Add --user NAME.');
  if (f.rootPasswordHash) c.rootPasswordHash = f.rootPasswordHash;
  if (f.sshKey?.length) c.sshKeys = (await Promise.all(f.sshKey.map(readKey))).flat();
  if (f.wifiSsid !== undefined || f.wifiCountry !== undefined || f.wifiPassphraseFile !== undefined) {
    if (!f.wifiSsid || !f.wifiCountry) throw new NexusError('USAGE_WIFI', 'Wi-Fi needs both --wifi-ssid and --wifi-country.', 'The country sets which radio channels are legal where you are, e.g. --wifi-country=DE.');
    const passphrase = f.wifiPassphraseFile ? (await readFile(f.wifiPassphraseFile, 'utf8')).replace(/\r?\n$/, '') : undefined;
    c.wifi = { ssid: f.wifiSsid, country: f.wifiCountry, ...(passphrase !== undefined ? { passphrase } : {}) };
  }
  for (const k of ['timezone', 'keyboard', 'locale'] as const) if (f[k] !== undefined) c[k] = f[k];
  return Object.keys(c).length ? (c as CustomizationInput) : undefined;
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
    ...(customization ? { customization: customization as BuildRequest['customization'] } : {}),
  };
}
