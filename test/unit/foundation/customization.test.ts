import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  CustomizationSchema,
  Hostname,
  PasswordHash,
  SshPublicKey,
  UserName,
  WifiSettings,
  TimeZone,
  checkSshPublicKey,
} from '../../../src-shared/customization';

function opensshEd25519(): string {
  const { publicKey } = generateKeyPairSync('ed25519');
  const raw = publicKey.export({ format: 'der', type: 'spki' }).subarray(-32);
  const str = (b: Buffer) => Buffer.concat([Buffer.from([0, 0, 0, b.length]), b]);
  return `ssh-ed25519 ${Buffer.concat([str(Buffer.from('ssh-ed25519')), str(raw)]).toString('base64')} me@host`;
}

const ok = (schema: { safeParse(v: unknown): { success: boolean } }, v: unknown) => schema.safeParse(v).success;

describe('customization validation', () => {
  it('host names follow RFC 1123', () => {
    for (const h of ['nexus', 'nexus-pi', 'a', 'pi5.lan', 'x'.repeat(63), '4chan']) expect(ok(Hostname, h), h).toBe(true);
    for (const h of ['', '-pi', 'pi-', 'my_host', 'pi 5', 'x'.repeat(64), 'host.123', 'über']) expect(ok(Hostname, h), h).toBe(false);
  });

  it('user names are POSIX-portable and not system accounts', () => {
    expect(ok(UserName, 'alice')).toBe(true);
    expect(ok(UserName, '_svc-1')).toBe(true);
    for (const u of ['root', 'Alice', '1user', 'a'.repeat(33), 'daemon', 'with space']) expect(ok(UserName, u), u).toBe(false);
  });

  it('passwords are only accepted as yescrypt or SHA-512 crypt hashes', () => {
    expect(ok(PasswordHash, '$6$saltsalt$' + 'a'.repeat(86))).toBe(true);
    expect(ok(PasswordHash, '$y$j9T$F5Jx5fExrKuPp53xLKQ..1$X3DX6M94c7o.9agCG9G317fhZg9SqC.5i5rd.RhAtQ7')).toBe(true);
    for (const p of ['hunter2', '$1$abc$def', '$6$x$short', '']) expect(ok(PasswordHash, p), p).toBe(false);
  });

  it('SSH public keys are parsed, not just pattern-matched', () => {
    const key = opensshEd25519();
    expect(ok(SshPublicKey, key)).toBe(true);
    expect(checkSshPublicKey(key.replace('ssh-ed25519 ', 'ssh-rsa '))).toMatch(/damaged/);
    expect(checkSshPublicKey(key.slice(0, 40))).toMatch(/base64|truncated|damaged/);
    expect(checkSshPublicKey('ssh-dss AAAAB3NzaC1kc3M=')).toMatch(/unknown key type/);
    expect(checkSshPublicKey('-----BEGIN OPENSSH PRIVATE KEY----- abc')).toMatch(/private key/);
    expect(checkSshPublicKey('just-text')).toMatch(/expected/);
  });

  it('Wi-Fi: SSID 1-32 bytes, passphrase 8-63 printable or 64 hex, a real country code', () => {
    expect(ok(WifiSettings, { ssid: 'home', passphrase: 'correct horse', country: 'de' })).toBe(true);
    expect(WifiSettings.parse({ ssid: 'home', country: 'de' }).country).toBe('DE');
    expect(ok(WifiSettings, { ssid: 'home', passphrase: 'a'.repeat(64).replace(/a/g, 'f'), country: 'US' })).toBe(true);
    expect(ok(WifiSettings, { ssid: 'home', passphrase: 'short', country: 'DE' })).toBe(false);
    expect(ok(WifiSettings, { ssid: 'home', passphrase: 'x'.repeat(64), country: 'DE' })).toBe(false);
    expect(ok(WifiSettings, { ssid: '', country: 'DE' })).toBe(false);
    expect(ok(WifiSettings, { ssid: 'ü'.repeat(17), country: 'DE' })).toBe(false); // 34 bytes
    expect(ok(WifiSettings, { ssid: 'home', country: 'XX' })).toBe(false);
  });

  it('time zones must be real IANA names', () => {
    expect(ok(TimeZone, 'Europe/Berlin')).toBe(true);
    expect(ok(TimeZone, 'UTC')).toBe(true);
    expect(ok(TimeZone, 'Mars/Olympus')).toBe(false);
  });

  it('fills defaults and refuses unknown fields', () => {
    expect(CustomizationSchema.parse({})).toMatchObject({ hostname: 'nexus', timezone: 'UTC', keyboard: 'us', locale: 'C.UTF-8', sshKeys: [] });
    expect(ok(CustomizationSchema, { password: 'plain' })).toBe(false);
  });
});
