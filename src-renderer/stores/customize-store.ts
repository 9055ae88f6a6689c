/**
 * The Customize form: every field lives here so going back never loses input. Secrets are never remembered, but
 * that one was entered is: after a reload the form asks for the password / Wi-Fi passphrase again instead of
 * silently building an image without them.
 */
import { create } from 'zustand';
import type { Settings } from '../../src-shared/contract';
import { fixCountry, fixHostname, fixUserName, hostDefaults, type Fixed } from '../../src-shared/locales';
import { call, CommandError } from './api';
import {
  EMPTY_FIELDS,
  validateFields,
  toCustomization,
  sshKeyLines,
  type CustomizeFields,
  type FieldErrors,
  type SecretsToReenter,
} from './customize-validation';
import type { CustomizationInput } from '../../src-shared/customization';

type Notes = Partial<Record<keyof CustomizeFields, string>>;

interface CustomizeState {
  fields: CustomizeFields;
  /** Fragment names; null = the Box's defaults. */
  fragments: string[] | null;
  /** Alpine branch for Linux Boxes; null = the current stable branch. */
  branch: string | null;
  setBranch(branch: string | null): void;
  errors: FieldErrors;
  /** What the wizard changed or decided on the user's behalf, per field (shown under the field). */
  notes: Notes;
  /** Fragments turned on because a field needs them (an SSH key → ssh, a Wi-Fi network → wifi). */
  autoFragments: string[];
  /** Fragments the user turned off: never turned on again automatically. */
  declined: string[];
  reenter: SecretsToReenter;
  setField<K extends keyof CustomizeFields>(name: K, value: CustomizeFields[K]): void;
  /** Applies the obvious fix to a typed field (on leaving it): "Alice" → "alice", "UK" → "GB". */
  fixField(name: 'userName' | 'hostname' | 'wifiCountry'): void;
  toggleFragment(name: string, defaults: string[]): void;
  /** Turns on the fragments the entered settings need (called when the fields or the Box change). */
  enableNeededFragments(defaults: string[], available: string[]): void;
  /** The user chooses to go on without the secret they had entered before the reload. */
  giveUpSecret(which: keyof SecretsToReenter): void;
  restore(settings: Settings): void;
  remembered(): Settings['customization'];
  /** Hashes the password (in main) and returns the customization for a build request. */
  prepare(): Promise<CustomizationInput>;
}

const FIXERS: Record<'userName' | 'hostname' | 'wifiCountry', (v: string) => Fixed> = { userName: fixUserName, hostname: fixHostname, wifiCountry: fixCountry };
const NO_REENTER: SecretsToReenter = { password: false, wifiPassphrase: false };

/** The form's starting values: time zone, keyboard, locale and Wi-Fi country as this computer has them. */
function initialFields(): CustomizeFields {
  if (typeof navigator === 'undefined') return { ...EMPTY_FIELDS };
  const host = hostDefaults({ timeZone: Intl.DateTimeFormat().resolvedOptions().timeZone, languages: navigator.languages ?? [navigator.language] });
  return { ...EMPTY_FIELDS, ...host };
}

/** Which fragment each kind of entered setting needs. */
function neededFragments(f: CustomizeFields): Array<{ fragment: string; why: keyof CustomizeFields; note: string }> {
  const out: Array<{ fragment: string; why: keyof CustomizeFields; note: string }> = [];
  if (sshKeyLines(f.sshKeys).length) out.push({ fragment: 'ssh', why: 'sshKeys', note: 'The "ssh" add-on was turned on so you can log in with this key.' });
  if (f.wifiSsid.trim()) out.push({ fragment: 'wifi', why: 'wifiSsid', note: 'The "wifi" add-on was turned on so the device joins this network.' });
  return out;
}

export const useCustomizeStore = create<CustomizeState>((set, get) => {
  const fields = initialFields();
  const revalidate = (f: CustomizeFields, reenter = get().reenter) => validateFields(f, reenter);
  return {
    fields,
    fragments: null,
    branch: null,
    notes: {},
    autoFragments: [],
    declined: [],
    reenter: NO_REENTER,
    errors: validateFields(fields),
    setBranch(branch) {
      set({ branch });
    },
    setField(name, value) {
      const f = { ...get().fields, [name]: value };
      const notes = { ...get().notes };
      delete notes[name];
      set({ fields: f, notes, errors: revalidate(f) });
    },
    fixField(name) {
      const { value, note } = FIXERS[name](get().fields[name]);
      if (!note) return;
      const f = { ...get().fields, [name]: value };
      set({ fields: f, notes: { ...get().notes, [name]: note }, errors: revalidate(f) });
    },
    toggleFragment(name, defaults) {
      const current = get().fragments ?? defaults;
      const off = current.includes(name);
      set({
        fragments: off ? current.filter((x) => x !== name) : [...current, name],
        autoFragments: get().autoFragments.filter((x) => x !== name),
        declined: off ? [...get().declined, name] : get().declined.filter((x) => x !== name),
      });
    },
    enableNeededFragments(defaults, available) {
      const current = get().fragments ?? defaults;
      const add = neededFragments(get().fields).filter(
        (n) => available.includes(n.fragment) && !current.includes(n.fragment) && !get().declined.includes(n.fragment),
      );
      if (!add.length) return;
      const notes = { ...get().notes };
      for (const n of add) notes[n.why] = n.note;
      set({ fragments: [...current, ...add.map((n) => n.fragment)], autoFragments: [...get().autoFragments, ...add.map((n) => n.fragment)], notes });
    },
    giveUpSecret(which) {
      const reenter = { ...get().reenter, [which]: false };
      set({ reenter, errors: revalidate(get().fields, reenter) });
    },
    restore(settings) {
      const c = settings.customization;
      const f: CustomizeFields = {
        ...get().fields,
        ...(c.hostname !== undefined ? { hostname: c.hostname } : {}),
        ...(c.userName !== undefined ? { userName: c.userName } : {}),
        ...(c.admin !== undefined ? { admin: c.admin } : {}),
        ...(c.sshKeys !== undefined ? { sshKeys: c.sshKeys.join('\n') } : {}),
        ...(c.wifiSsid !== undefined ? { wifiSsid: c.wifiSsid } : {}),
        ...(c.wifiCountry !== undefined ? { wifiCountry: c.wifiCountry } : {}),
        ...(c.timezone !== undefined ? { timezone: c.timezone } : {}),
        ...(c.keyboard !== undefined ? { keyboard: c.keyboard } : {}),
        ...(c.locale !== undefined ? { locale: c.locale } : {}),
      };
      const reenter = { password: !!c.passwordSet && !!f.userName, wifiPassphrase: !!c.wifiPassphraseSet && !!f.wifiSsid };
      // A remembered choice of add-ons without one the fields need means the user turned it off: keep it off.
      const declined = settings.fragments
        ? neededFragments(f)
            .map((n) => n.fragment)
            .filter((n) => !settings.fragments!.includes(n))
        : [];
      set({
        fields: f,
        reenter,
        declined,
        errors: validateFields(f, reenter),
        fragments: settings.fragments ?? get().fragments,
        branch: settings.branch ?? get().branch,
      });
      for (const name of ['userName', 'hostname', 'wifiCountry'] as const) get().fixField(name);
    },
    remembered() {
      const { fields: f, reenter } = get();
      const keys = f.sshKeys
        .split('\n')
        .map((l) => l.trim())
        .filter(Boolean);
      return {
        hostname: f.hostname,
        admin: f.admin,
        sshKeys: keys,
        timezone: f.timezone,
        keyboard: f.keyboard,
        locale: f.locale,
        ...(f.userName ? { userName: f.userName } : {}),
        ...(f.wifiSsid ? { wifiSsid: f.wifiSsid } : {}),
        ...(f.wifiCountry ? { wifiCountry: f.wifiCountry } : {}),
        // Only that a secret exists (a later reload asks for it again); never the secret.
        ...(f.userName && (f.password || reenter.password) ? { passwordSet: true } : {}),
        ...(f.wifiSsid && (f.wifiPassphrase || reenter.wifiPassphrase) ? { wifiPassphraseSet: true } : {}),
      };
    },
    async prepare() {
      const f = get().fields;
      const problems = validateFields(f, get().reenter);
      // The last guard before a build: never an image that silently lacks a password or passphrase asked for.
      if (problems.password || problems.wifiPassphrase)
        throw new CommandError({
          code: 'SECRET_NEEDED',
          message: `The ${problems.password ? 'password' : 'Wi-Fi passphrase'} you entered before is not known any more (secrets are never stored).`,
          hint: 'Go back to Customize and enter it again, or choose to go on without it.',
        });
      const hash = f.password ? (await call('password.hash', { password: f.password })).hash : undefined;
      return toCustomization(f, hash);
    },
  };
});

export const selectIsValid = (s: CustomizeState) => Object.keys(s.errors).length === 0;
