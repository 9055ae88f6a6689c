/**
 * Dependency tokens as written in APKINDEX `D:`/`i:`/`p:` and .PKGINFO: `[!]name[@tag][op version]`, where
 * name may be namespaced (`so:`, `cmd:`, `pc:`, `py3.12:`) or an absolute path (`/bin/sh`). A `@tag` only
 * appears in requests (apk's world): it names the tagged repository the package may come from.
 */
import type { VersionOp } from './version';

export interface Dep {
  name: string;
  /** `!name`: nothing installed may provide name (matching the version, if given). */
  conflict: boolean;
  /** `name@tag`: packages of the repository tagged `tag` may satisfy it (see resolver.ts). */
  tag?: string;
  op?: VersionOp;
  version?: string;
}

export interface Provide {
  name: string;
  /** Versioned provides are real (auto-selectable); unversioned ones are virtual. */
  version?: string;
}

/** Operator spellings apk accepts; `=~`/`~=` are the fuzzy match, `>~`/`<~` fuzzy bounds. */
/** The operator one character spells (the text starts with one of < > = ~). */
function singleOp(c: string): VersionOp {
  return c === '<' || c === '>' || c === '~' ? c : '=';
}

const OPS: Record<string, VersionOp> = {
  '=': '=',
  '<': '<',
  '>': '>',
  '<=': '<=',
  '>=': '>=',
  '~': '~',
  '=~': '~',
  '~=': '~',
  '>~': '>~',
  '<~': '<~',
  '><': '><',
};

export function parseDep(token: string): Dep {
  const conflict = token.startsWith('!');
  const body = conflict ? token.slice(1) : token;
  // The first operator character ends the name ('~' may not start a name either).
  const at = body.search(/[<>=~]/);
  const { name, tag } = splitTag(at <= 0 ? body : body.slice(0, at));
  const dep: Dep = tag === undefined ? { name, conflict } : { name, conflict, tag };
  if (at <= 0) return dep;
  const rest = body.slice(at);
  const opEnd = rest.search(/[^<>=~]/);
  const opText = opEnd < 0 ? rest : rest.slice(0, opEnd);
  // An unknown spelling ("==") keeps its first character as the operator and the rest in the version,
  // which then fails isValidVersion: the caller reports it instead of guessing.
  const known = OPS[opText];
  if (known) return { ...dep, op: known, version: rest.slice(opText.length) };
  return { ...dep, op: singleOp(opText.charAt(0)), version: rest.slice(1) };
}

function splitTag(nameAndTag: string): { name: string; tag?: string } {
  const at = nameAndTag.indexOf('@');
  return at < 0 ? { name: nameAndTag } : { name: nameAndTag.slice(0, at), tag: nameAndTag.slice(at + 1) };
}

export function parseDeps(field: string | undefined): Dep[] {
  if (!field) return [];
  return field.split(' ').filter(Boolean).map(parseDep);
}

export function parseProvides(field: string | undefined): Provide[] {
  if (!field) return [];
  return field
    .split(' ')
    .filter(Boolean)
    .map((t) => {
      const eq = t.indexOf('=');
      return eq < 0 ? { name: t } : { name: t.slice(0, eq), version: t.slice(eq + 1) };
    });
}

export function formatDep(d: Dep): string {
  return `${d.conflict ? '!' : ''}${d.name}${d.tag ? `@${d.tag}` : ''}${d.op ? d.op + (d.version ?? '') : ''}`;
}
