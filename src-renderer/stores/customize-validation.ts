/**
 * Inline validation of the Customize form with the very zod schemas the CLI and the engine use
 * (src-shared/customization.ts), plus the two checks only a form has (password confirmation).
 */
import type { z } from 'zod';
import {
  CustomizationSchema,
  Hostname,
  KeyboardLayout,
  Locale,
  SshPublicKey,
  TimeZone,
  UserName,
  WifiSettings,
  type CustomizationInput,
} from '../../src-shared/customization';

export interface CustomizeFields {
  hostname: string;
  userName: string;
  password: string;
  passwordConfirm: string;
  admin: boolean;
  /** One OpenSSH public key per line. */
  sshKeys: string;
  wifiSsid: string;
  wifiPassphrase: string;
  wifiCountry: string;
  timezone: string;
  keyboard: string;
  locale: string;
}

export type FieldErrors = Partial<Record<keyof CustomizeFields, string>>;

export const EMPTY_FIELDS: CustomizeFields = {
  hostname: 'nexus',
  userName: '',
  password: '',
  passwordConfirm: '',
  admin: true,
  sshKeys: '',
  wifiSsid: '',
  wifiPassphrase: '',
  wifiCountry: '',
  timezone: 'UTC',
  keyboard: 'us',
  locale: 'C.UTF-8',
};

const firstIssue = (schema: z.ZodType, value: unknown) => {
  const r = schema.safeParse(value);
  return r.success ? undefined : r.error.issues[0]?.message;
};

export const sshKeyLines = (text: string) =>
  text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));

/** Secrets entered before a reload: never stored, so they must be typed again (or explicitly given up). */
export interface SecretsToReenter {
  password: boolean;
  wifiPassphrase: boolean;
}

export function validateFields(f: CustomizeFields, reenter: SecretsToReenter = { password: false, wifiPassphrase: false }): FieldErrors {
  const e: FieldErrors = {};
  e.hostname = firstIssue(Hostname, f.hostname);
  if (f.userName) e.userName = firstIssue(UserName, f.userName);
  if (!f.userName && f.password) e.userName = 'a user name is needed for the password';
  if (f.password && f.password !== f.passwordConfirm) e.passwordConfirm = 'the two passwords differ';
  if (reenter.password && f.userName && !f.password) e.password = 'enter the password again: passwords are never stored';
  const keys = sshKeyLines(f.sshKeys);
  const badKey = keys.map((k, i) => [i, firstIssue(SshPublicKey, k)] as const).find(([, m]) => m);
  if (badKey) e.sshKeys = keys.length > 1 ? `line ${badKey[0] + 1}: ${badKey[1]}` : badKey[1];
  // The country alone (prefilled from this computer) does not mean Wi-Fi is wanted.
  if (f.wifiSsid || f.wifiPassphrase) {
    const shape = WifiSettings.shape;
    e.wifiSsid = firstIssue(shape.ssid, f.wifiSsid);
    if (f.wifiPassphrase) e.wifiPassphrase = firstIssue(shape.passphrase, f.wifiPassphrase);
    else if (reenter.wifiPassphrase && f.wifiSsid) e.wifiPassphrase = 'enter the Wi-Fi passphrase again: it is never stored';
    e.wifiCountry = f.wifiCountry
      ? firstIssue(shape.country, f.wifiCountry)
      : 'choose the country the device is used in (Wi-Fi channels and power depend on it)';
  }
  e.timezone = firstIssue(TimeZone, f.timezone);
  e.keyboard = firstIssue(KeyboardLayout, f.keyboard);
  e.locale = firstIssue(Locale, f.locale);
  for (const k of Object.keys(e) as Array<keyof CustomizeFields>) if (e[k] === undefined) delete e[k];
  return e;
}

/** The customization sent to the engine; the password arrives here already hashed. */
export function toCustomization(f: CustomizeFields, passwordHash?: string): CustomizationInput {
  const c: CustomizationInput = { hostname: f.hostname, timezone: f.timezone, keyboard: f.keyboard, locale: f.locale, sshKeys: sshKeyLines(f.sshKeys) };
  if (f.userName) c.user = { name: f.userName, admin: f.admin, ...(passwordHash ? { passwordHash } : {}) };
  if (f.wifiSsid) c.wifi = { ssid: f.wifiSsid, country: f.wifiCountry, ...(f.wifiPassphrase ? { passphrase: f.wifiPassphrase } : {}) };
  // Same final check as the CLI: throws if anything slipped through.
  CustomizationSchema.parse(c);
  return c;
}
