/**
 * Dependency tokens as written in APKINDEX `D:`/`i:`/`p:` and .PKGINFO: `[!]name[op version]`, where
 * name may be namespaced (`so:`, `cmd:`, `pc:`, `py3.12:`) or an absolute path (`/bin/sh`).
 */
import type { VersionOp } from './version';

export interface Dep {
  name: string;
  /** `!name`: nothing installed may provide name (matching the version, if given). */
  conflict: boolean;
  op?: VersionOp;
  version?: string;
}

export interface Provide {
  name: string;
  /** Versioned provides are real (auto-selectable); unversioned ones are virtual. */
  version?: string;
}

const OPS: VersionOp[] = ['><', '<=', '>=', '=', '<', '>', '~'];

export function parseDep(token: string): Dep {
  const conflict = token.startsWith('!');
  const body = conflict ? token.slice(1) : token;
  // The first operator character ends the name ('~' may not start a name either).
  const at = body.search(/[<>=~]/);
  if (at <= 0) return { name: body, conflict };
  const rest = body.slice(at);
  let op = OPS.find((o) => rest.startsWith(o))!;
  let version = rest.slice(op.length);
  // apk also writes "=~1.2" / ">~" forms; treat them as fuzzy.
  if (version.startsWith('~')) {
    op = '~';
    version = version.slice(1);
  }
  return { name: body.slice(0, at), conflict, op, version };
}

export function parseDeps(field: string | undefined): Dep[] {
  if (!field) return [];
  return field.split(' ').filter(Boolean).map(parseDep);
}

export function parseProvides(field: string | undefined): Provide[] {
  if (!field) return [];
  return field.split(' ').filter(Boolean).map((t) => {
    const eq = t.indexOf('=');
    return eq < 0 ? { name: t } : { name: t.slice(0, eq), version: t.slice(eq + 1) };
  });
}

export function formatDep(d: Dep): string {
  return `${d.conflict ? '!' : ''}${d.name}${d.op ? d.op + (d.version ?? '') : ''}`;
}
