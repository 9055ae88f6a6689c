/**
 * Alpine package version ordering (apk-package(5), apk-tools version.c rules, implemented here from the
 * rules): `digits{.digits}[letter]{_suffix[N]}[~hash][-rN]`. Pre-release suffixes (alpha beta pre rc)
 * sort before the bare version, post-release ones (cvs svn git hg p) after. A digit part after the
 * first with a leading zero compares as a string. Invalid versions fall back to plain string order.
 */

const enum T {
  Digit,
  Letter,
  Suffix,
  SuffixNo,
  Hash,
  Revision,
  End,
}

type Token = [T, string];
/** What a version has past its last token. */
const END: Token = [T.End, ''];
type Order = -1 | 0 | 1;
const byText = (a: string, b: string): Order => (a < b ? -1 : a > b ? 1 : 0);

const PRE = ['alpha', 'beta', 'pre', 'rc'];
const POST = ['cvs', 'svn', 'git', 'hg', 'p'];

function suffixValue(s: string): number {
  const pre = PRE.indexOf(s);
  if (pre >= 0) return pre - PRE.length;
  return POST.indexOf(s) + 1;
}

const cache = new Map<string, Token[] | null>();

/** Tokens of a version, or null when it does not follow the grammar. */
function tokenize(v: string): Token[] | null {
  const hit = cache.get(v);
  if (hit !== undefined) return hit;
  const out: Token[] = [];
  const re = /^(\d+)((?:\.\d+)*)([a-z]?)((?:_(?:alpha|beta|pre|rc|cvs|svn|git|hg|p)\d*)*)(~[0-9a-f]+)?(-r\d+)?$/;
  const m = re.exec(v);
  const major = m?.[1];
  if (!m || major === undefined) {
    if (cache.size < 100_000) cache.set(v, null);
    return null;
  }
  out.push([T.Digit, major]);
  if (m[2]) for (const d of m[2].slice(1).split('.')) out.push([T.Digit, d]);
  if (m[3]) out.push([T.Letter, m[3]]);
  if (m[4]) {
    for (const s of m[4].slice(1).split('_')) {
      // "rc2": the name, then its number if any (the pattern above allows nothing else).
      const name = s.replace(/\d+$/, '');
      out.push([T.Suffix, name]);
      if (s.length > name.length) out.push([T.SuffixNo, s.slice(name.length)]);
    }
  }
  if (m[5]) out.push([T.Hash, m[5].slice(1)]);
  if (m[6]) out.push([T.Revision, m[6].slice(2)]);
  if (cache.size < 100_000) cache.set(v, out);
  return out;
}

export function isValidVersion(v: string): boolean {
  return tokenize(v) !== null;
}

function cmpNumeric(a: string, b: string): Order {
  const x = a.replace(/^0+(?=\d)/, '');
  const y = b.replace(/^0+(?=\d)/, '');
  if (x.length !== y.length) return x.length < y.length ? -1 : 1;
  return byText(x, y);
}

function cmpToken(kind: T, a: string, b: string, first: boolean): Order {
  switch (kind) {
    case T.Digit:
      if (!first && (a.startsWith('0') || b.startsWith('0'))) return byText(a, b);
      return cmpNumeric(a, b);
    case T.Suffix: {
      const d = suffixValue(a) - suffixValue(b);
      return d < 0 ? -1 : d > 0 ? 1 : 0;
    }
    case T.SuffixNo:
    case T.Revision:
      return cmpNumeric(a, b);
    default:
      return byText(a, b);
  }
}

/**
 * -1, 0 or 1. With `fuzzy`, `b` is a prefix pattern (the `~` operator): a version matches when all
 * of b's tokens equal a's leading tokens.
 */
export function compareVersions(a: string, b: string, fuzzy = false): -1 | 0 | 1 {
  if (a === b) return 0;
  const ta = tokenize(a);
  const tb = tokenize(b);
  if (!ta || !tb) return byText(a, b);
  const n = Math.max(ta.length, tb.length);
  for (let i = 0; i < n; i++) {
    if (!tb[i] && fuzzy) return 0;
    const [kx, x] = ta[i] ?? END;
    const [ky, y] = tb[i] ?? END;
    if (kx === ky) {
      const c = cmpToken(kx, x, y, i === 0);
      if (c !== 0) return c;
      continue;
    }
    // The token kinds differ: a pre-release suffix makes its side older than anything shorter...
    if (kx === T.Suffix && suffixValue(x) < 0) return -1;
    if (ky === T.Suffix && suffixValue(y) < 0) return 1;
    // ...otherwise the side that continues with a "bigger" component (a digit beats a letter,
    // beats a suffix, beats the revision, beats the end) is newer.
    return kx < ky ? 1 : -1;
  }
  return 0;
}

/** `~` matches a version prefix; `>~`/`<~` are "greater/less than, or matching the prefix". */
export type VersionOp = '=' | '<' | '>' | '<=' | '>=' | '~' | '>~' | '<~' | '><';

/** Does `version` satisfy `op ref`? ("><" is a checksum pin and is matched elsewhere.) */
export function satisfies(version: string, op: VersionOp, ref: string): boolean {
  switch (op) {
    case '=':
      return compareVersions(version, ref) === 0;
    case '<':
      return compareVersions(version, ref) < 0;
    case '>':
      return compareVersions(version, ref) > 0;
    case '<=':
      return compareVersions(version, ref) <= 0;
    case '>=':
      return compareVersions(version, ref) >= 0;
    case '~':
      return compareVersions(version, ref, true) === 0;
    case '>~':
      return compareVersions(version, ref, true) >= 0;
    case '<~':
      return compareVersions(version, ref, true) <= 0;
    default:
      return false;
  }
}
