/** The Customize form: every field lives here so going back never loses input. Secrets are never remembered. */
import { create } from 'zustand';
import type { Settings } from '../../src-shared/contract';
import { call } from './api';
import { EMPTY_FIELDS, validateFields, toCustomization, type CustomizeFields, type FieldErrors } from './customize-validation';
import type { CustomizationInput } from '../../src-shared/customization';

interface CustomizeState {
  fields: CustomizeFields;
  /** Fragment names; null = the Box's defaults. */
  fragments: string[] | null;
  /** Alpine branch for Linux Boxes; null = the current stable branch. */
  branch: string | null;
  setBranch(branch: string | null): void;
  errors: FieldErrors;
  setField<K extends keyof CustomizeFields>(name: K, value: CustomizeFields[K]): void;
  toggleFragment(name: string, defaults: string[]): void;
  restore(settings: Settings): void;
  remembered(): Settings['customization'];
  /** Hashes the password (in main) and returns the customization for a build request. */
  prepare(): Promise<CustomizationInput>;
}

export const useCustomizeStore = create<CustomizeState>((set, get) => ({
  fields: { ...EMPTY_FIELDS },
  fragments: null,
  branch: null,
  errors: validateFields(EMPTY_FIELDS),
  setBranch(branch) {
    set({ branch });
  },
  setField(name, value) {
    const fields = { ...get().fields, [name]: value };
    set({ fields, errors: validateFields(fields) });
  },
  toggleFragment(name, defaults) {
    const current = get().fragments ?? defaults;
    set({ fragments: current.includes(name) ? current.filter((f) => f !== name) : [...current, name] });
  },
  restore(settings) {
    const c = settings.customization;
    const fields: CustomizeFields = {
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
    set({ fields, errors: validateFields(fields), fragments: settings.fragments ?? get().fragments, branch: settings.branch ?? get().branch });
  },
  remembered() {
    const f = get().fields;
    const keys = f.sshKeys.split('\n').map((l) => l.trim()).filter(Boolean);
    return {
      hostname: f.hostname, admin: f.admin, sshKeys: keys, timezone: f.timezone, keyboard: f.keyboard, locale: f.locale,
      ...(f.userName ? { userName: f.userName } : {}),
      ...(f.wifiSsid ? { wifiSsid: f.wifiSsid } : {}),
      ...(f.wifiCountry ? { wifiCountry: f.wifiCountry } : {}),
    };
  },
  async prepare() {
    const f = get().fields;
    const hash = f.password ? (await call('password.hash', { password: f.password })).hash : undefined;
    return toCustomization(f, hash);
  },
}));

export const selectIsValid = (s: CustomizeState) => Object.keys(s.errors).length === 0;
