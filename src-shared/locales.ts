/**
 * Choices for the Customize dropdowns (time zone, keyboard, locale, Wi-Fi country), what this computer suggests for
 * them, and the obvious fixes the wizard applies to typed input (with a note saying so). Pure: the browser's Intl
 * APIs give the zone and country names; nothing here imports Node or React.
 */
import { WIFI_COUNTRIES } from './customization';

export interface Choice {
  value: string;
  label: string;
}

type IntlWithValues = typeof Intl & { supportedValuesOf?: (key: string) => string[] };

/** IANA time zones this runtime knows (Intl.supportedValuesOf), UTC first; a short fallback where Intl lacks the list. */
export function timeZoneChoices(): Choice[] {
  const zones = (Intl as IntlWithValues).supportedValuesOf?.('timeZone') ?? [
    'Europe/London',
    'Europe/Berlin',
    'America/New_York',
    'America/Los_Angeles',
    'Asia/Tokyo',
  ];
  return ['UTC', ...zones.filter((z) => z !== 'UTC')].map((z) => ({ value: z, label: z.replaceAll('_', ' ') }));
}

function displayNames(type: 'region' | 'language'): Intl.DisplayNames | null {
  try {
    return new Intl.DisplayNames(['en'], { type });
  } catch {
    return null;
  }
}

/** ISO 3166-1 countries (the Wi-Fi regulatory domains Linux knows), named in English, sorted by name. */
export function countryChoices(): Choice[] {
  const names = displayNames('region');
  return WIFI_COUNTRIES.filter((c) => c !== '00')
    .map((c) => ({ value: c, label: `${names?.of(c) ?? c} (${c})` }))
    .sort((a, b) => a.label.localeCompare(b.label));
}

/**
 * Console keyboard layouts: XKB layout names that Alpine's kbd-bkeymaps also ships (setup-keymap offers
 * /usr/share/bkeymaps/<layout>/), so the same name works on the console and in a Wayland session.
 */
export const KEYBOARD_LAYOUTS: readonly Choice[] = [
  ['us', 'English (US)'],
  ['gb', 'English (UK)'],
  ['ie', 'Irish'],
  ['de', 'German'],
  ['ch', 'Swiss'],
  ['at', 'Austrian'],
  ['fr', 'French'],
  ['be', 'Belgian'],
  ['nl', 'Dutch'],
  ['es', 'Spanish'],
  ['latam', 'Spanish (Latin American)'],
  ['pt', 'Portuguese'],
  ['br', 'Portuguese (Brazil)'],
  ['it', 'Italian'],
  ['dk', 'Danish'],
  ['no', 'Norwegian'],
  ['se', 'Swedish'],
  ['fi', 'Finnish'],
  ['is', 'Icelandic'],
  ['ee', 'Estonian'],
  ['lv', 'Latvian'],
  ['lt', 'Lithuanian'],
  ['pl', 'Polish'],
  ['cz', 'Czech'],
  ['sk', 'Slovak'],
  ['hu', 'Hungarian'],
  ['si', 'Slovenian'],
  ['hr', 'Croatian'],
  ['rs', 'Serbian'],
  ['ba', 'Bosnian'],
  ['mk', 'Macedonian'],
  ['bg', 'Bulgarian'],
  ['ro', 'Romanian'],
  ['gr', 'Greek'],
  ['tr', 'Turkish'],
  ['ua', 'Ukrainian'],
  ['by', 'Belarusian'],
  ['ru', 'Russian'],
  ['ge', 'Georgian'],
  ['am', 'Armenian'],
  ['az', 'Azerbaijani'],
  ['kz', 'Kazakh'],
  ['il', 'Hebrew'],
  ['ara', 'Arabic'],
  ['ir', 'Persian'],
  ['in', 'Indian'],
  ['pk', 'Urdu (Pakistan)'],
  ['th', 'Thai'],
  ['vn', 'Vietnamese'],
  ['cn', 'Chinese'],
  ['jp', 'Japanese'],
  ['kr', 'Korean'],
  ['ca', 'Canadian (French)'],
  ['epo', 'Esperanto'],
].map(([value, label]) => ({ value: value!, label: `${label} (${value})` }));

/** Locales (LANG) offered; musl reads UTF-8 everywhere, so LANG chooses the language of messages and formats. */
export const LOCALES: readonly Choice[] = [
  'C.UTF-8',
  'en_US.UTF-8',
  'en_GB.UTF-8',
  'en_AU.UTF-8',
  'en_CA.UTF-8',
  'en_IE.UTF-8',
  'en_IN.UTF-8',
  'en_NZ.UTF-8',
  'de_DE.UTF-8',
  'de_AT.UTF-8',
  'de_CH.UTF-8',
  'fr_FR.UTF-8',
  'fr_BE.UTF-8',
  'fr_CA.UTF-8',
  'fr_CH.UTF-8',
  'nl_NL.UTF-8',
  'nl_BE.UTF-8',
  'es_ES.UTF-8',
  'es_MX.UTF-8',
  'es_AR.UTF-8',
  'pt_PT.UTF-8',
  'pt_BR.UTF-8',
  'it_IT.UTF-8',
  'da_DK.UTF-8',
  'nb_NO.UTF-8',
  'sv_SE.UTF-8',
  'fi_FI.UTF-8',
  'is_IS.UTF-8',
  'et_EE.UTF-8',
  'lv_LV.UTF-8',
  'lt_LT.UTF-8',
  'pl_PL.UTF-8',
  'cs_CZ.UTF-8',
  'sk_SK.UTF-8',
  'hu_HU.UTF-8',
  'sl_SI.UTF-8',
  'hr_HR.UTF-8',
  'sr_RS.UTF-8',
  'bg_BG.UTF-8',
  'ro_RO.UTF-8',
  'el_GR.UTF-8',
  'tr_TR.UTF-8',
  'uk_UA.UTF-8',
  'ru_RU.UTF-8',
  'he_IL.UTF-8',
  'ar_EG.UTF-8',
  'fa_IR.UTF-8',
  'hi_IN.UTF-8',
  'th_TH.UTF-8',
  'vi_VN.UTF-8',
  'zh_CN.UTF-8',
  'zh_TW.UTF-8',
  'ja_JP.UTF-8',
  'ko_KR.UTF-8',
].map((value) => ({ value, label: localeLabel(value) }));

function localeLabel(locale: string): string {
  if (locale === 'C.UTF-8') return 'C.UTF-8 (plain, English messages)';
  const [lang, region] = locale.replace('.UTF-8', '').split('_');
  const l = displayNames('language')?.of(lang!) ?? lang;
  const r = region ? (displayNames('region')?.of(region) ?? region) : '';
  return `${l}${r ? ` (${r})` : ''} — ${locale}`;
}

/** Language → keyboard layout, where they differ from the country's (e.g. en-US → us, de-CH → ch). */
const KEYBOARD_BY_REGION: Record<string, string> = {
  US: 'us',
  GB: 'gb',
  IE: 'ie',
  DE: 'de',
  CH: 'ch',
  AT: 'at',
  FR: 'fr',
  BE: 'be',
  NL: 'nl',
  ES: 'es',
  PT: 'pt',
  BR: 'br',
  IT: 'it',
  DK: 'dk',
  NO: 'no',
  SE: 'se',
  FI: 'fi',
  IS: 'is',
  EE: 'ee',
  LV: 'lv',
  LT: 'lt',
  PL: 'pl',
  CZ: 'cz',
  SK: 'sk',
  HU: 'hu',
  SI: 'si',
  HR: 'hr',
  RS: 'rs',
  BG: 'bg',
  RO: 'ro',
  GR: 'gr',
  TR: 'tr',
  UA: 'ua',
  RU: 'ru',
  IL: 'il',
  IR: 'ir',
  IN: 'in',
  TH: 'th',
  VN: 'vn',
  CN: 'cn',
  JP: 'jp',
  KR: 'kr',
  MX: 'latam',
  AR: 'latam',
  CA: 'us',
  AU: 'us',
  NZ: 'us',
};

export interface HostDefaults {
  timezone: string;
  keyboard: string;
  locale: string;
  /** Empty when the language has no region (e.g. "en"): the user picks the country. */
  wifiCountry: string;
}

/**
 * What this computer suggests: its time zone (Intl.DateTimeFormat) and preferred languages (navigator.languages,
 * "de-DE" → locale de_DE.UTF-8, keyboard de, Wi-Fi country DE). Only values from the lists above are suggested.
 */
export function hostDefaults(env: { timeZone?: string | undefined; languages: readonly string[] }): HostDefaults {
  const zones = new Set(timeZoneChoices().map((c) => c.value));
  const out: HostDefaults = { timezone: env.timeZone && zones.has(env.timeZone) ? env.timeZone : 'UTC', keyboard: 'us', locale: 'C.UTF-8', wifiCountry: '' };
  const tag = env.languages.find((l) => /^[a-z]{2,3}-[A-Z]{2}$/i.test(l)) ?? env.languages[0];
  if (!tag) return out;
  const [lang, region] = tag.split('-') as [string, string | undefined];
  const R = region?.toUpperCase();
  const locale = R ? `${lang.toLowerCase()}_${R}.UTF-8` : null;
  if (locale && LOCALES.some((c) => c.value === locale)) out.locale = locale;
  if (R && WIFI_COUNTRIES.includes(R)) out.wifiCountry = R;
  const kb = (R && KEYBOARD_BY_REGION[R]) ?? lang.toLowerCase();
  if (KEYBOARD_LAYOUTS.some((c) => c.value === kb)) out.keyboard = kb;
  return out;
}

export interface Fixed {
  value: string;
  /** Set when the input was changed, saying what and why. */
  note?: string;
}

/** Country codes people type that ISO 3166 spells differently. */
const COUNTRY_ALIASES: Record<string, string> = { UK: 'GB', EL: 'GR', EN: 'GB' };

/** "uk" → "GB", " de " → "DE", "Germany" → "DE" (by its English name); anything else is left for validation to explain. */
export function fixCountry(input: string): Fixed {
  const t = input.trim();
  if (!t) return { value: '' };
  const up = t.toUpperCase();
  if (COUNTRY_ALIASES[up]) return { value: COUNTRY_ALIASES[up], note: `"${t}" is written "${COUNTRY_ALIASES[up]}" in ISO 3166, the code Wi-Fi uses.` };
  if (WIFI_COUNTRIES.includes(up)) return up === t ? { value: up } : { value: up, note: `Country codes are upper-case: "${up}".` };
  const byName = countryChoices().find((c) => c.label.toLowerCase().startsWith(`${t.toLowerCase()} (`));
  if (byName) return { value: byName.value, note: `${t} is "${byName.value}".` };
  return { value: t };
}

/** "Alice" → "alice", "Ada Lovelace" → "ada-lovelace": Linux user names are lower-case without spaces. */
export function fixUserName(input: string): Fixed {
  if (!input) return { value: '' };
  const fixed = input.trim().toLowerCase().replace(/\s+/g, '-');
  return fixed === input ? { value: input } : { value: fixed, note: `User names are lower-case without spaces, so "${input}" becomes "${fixed}".` };
}

/** "Nexus Pi" → "nexus-pi": host names have no spaces or underscores (upper case is legal but confusing in .local names). */
export function fixHostname(input: string): Fixed {
  const fixed = input.trim().replace(/[\s_]+/g, '-');
  return fixed === input ? { value: input } : { value: fixed, note: `Host names have no spaces or "_", so "${input}" becomes "${fixed}".` };
}
