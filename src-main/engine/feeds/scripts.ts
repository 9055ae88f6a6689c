/**
 * Install scripts are never run (they are foreign-architecture shell scripts). Instead the few
 * effects the Boxes rely on are read declaratively from the script text — users and groups
 * (busybox adduser/addgroup and shadow useradd/groupadd syntax) and applet-link installation
 * (busybox/toybox --install) — and every script is reported as skipped.
 */

export type ScriptEffect =
  | { kind: 'group'; package: string; name: string; gid?: number; system: boolean }
  | { kind: 'user'; package: string; name: string; uid?: number; group?: string; home?: string; shell?: string; gecos?: string; system: boolean; createHome: boolean }
  | { kind: 'group-member'; package: string; user: string; group: string }
  | { kind: 'applet-links'; package: string; tool: 'busybox' | 'toybox'; symlinks: boolean }
  /** `ln -s TARGET /abs/path` in an install script, e.g. enabling a dinit service in /etc/dinit.d/boot.d/. */
  | { kind: 'symlink'; package: string; path: string; target: string };

export interface SkippedScript {
  package: string;
  version: string;
  /** "post-install", "trigger"... */
  script: string;
  bytes: number;
  /** Effects recognised in it and applied declaratively. */
  effects: number;
  /** Commands that were neither recognised nor harmless (for the build log). */
  ignoredCommands: string[];
}

/** Minimal shell word splitting: quotes and backslashes, no expansion. */
function words(line: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quote: string | null = null;
  let has = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quote) {
      if (c === quote) quote = null;
      else if (c === '\\' && quote === '"' && i + 1 < line.length) cur += line[++i];
      else cur += c;
    } else if (c === '"' || c === "'") {
      quote = c;
      has = true;
    } else if (c === '\\' && i + 1 < line.length) {
      cur += line[++i];
      has = true;
    } else if (/\s/.test(c)) {
      if (has || cur) out.push(cur);
      cur = '';
      has = false;
    } else {
      cur += c;
    }
  }
  if (has || cur) out.push(cur);
  return out;
}

/** Splits "-h /home -S name" style options; `withArg` lists options taking a value. */
function options(args: string[], withArg: string): { opts: Map<string, string>; rest: string[] } {
  const opts = new Map<string, string>();
  const rest: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (/^-[A-Za-z]$/.test(a)) {
      if (withArg.includes(a[1]!)) opts.set(a[1]!, args[++i] ?? '');
      else opts.set(a[1]!, '');
    } else if (/^--[a-z-]+$/.test(a)) {
      const long = a.slice(2);
      const map: Record<string, string> = { system: 'S', home: 'h', gid: 'g', uid: 'u', shell: 's', comment: 'c', 'no-create-home': 'H', 'ingroup': 'G', gecos: 'g' };
      const short = map[long] ?? long;
      if (['h', 'g', 'u', 's', 'c', 'G'].includes(short)) opts.set(short, args[++i] ?? '');
      else opts.set(short, '');
    } else rest.push(a);
  }
  return { opts, rest };
}

const HARMLESS = /^(#|:|true|exit|set|fi|then|else|done|do|esac|;;|return|echo|printf|mkdir|chown|chmod|install|ln|rm|\[|test|if|for|case|while|local|\}|\{)/;

export function scriptEffects(pkg: string, version: string, scripts: Map<string, string>): { effects: ScriptEffect[]; skipped: SkippedScript[] } {
  const effects: ScriptEffect[] = [];
  const skipped: SkippedScript[] = [];
  for (const [script, text] of [...scripts].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const before = effects.length;
    const ignored: string[] = [];
    // Only install-time scripts create users; deinstall/upgrade ones are irrelevant for a fresh image.
    const relevant = script === 'pre-install' || script === 'post-install';
    for (const rawLine of text.split('\n')) {
      const line = rawLine.trim();
      if (!line || line.startsWith('#!')) continue;
      for (const cmd of line.split(/\s*(?:&&|\|\||;)\s*/)) {
        if (!cmd || cmd.includes('$') || cmd.includes('`')) {
          if (cmd && !HARMLESS.test(cmd)) ignored.push(cmd);
          continue;
        }
        const w = words(cmd.replace(/\s*[12]?>\s*\/dev\/null.*$/, ''));
        const tool = (w[0] ?? '').replace(/^.*\//, '');
        const args = w.slice(1);
        if (relevant && (tool === 'addgroup' || tool === 'groupadd')) {
          const { opts, rest } = options(args, 'g');
          if (tool === 'addgroup' && rest.length === 2) effects.push({ kind: 'group-member', package: pkg, user: rest[0]!, group: rest[1]! });
          else if (rest.length === 1) {
            const g: ScriptEffect = { kind: 'group', package: pkg, name: rest[0]!, system: opts.has('S') || opts.has('r') };
            if (opts.get('g')) g.gid = Number(opts.get('g'));
            effects.push(g);
          }
        } else if (relevant && (tool === 'adduser' || tool === 'useradd')) {
          const busybox = tool === 'adduser';
          const { opts, rest } = options(args, busybox ? 'hgsGuk' : 'dgcsuGk');
          const name = rest[busybox ? 0 : rest.length - 1];
          if (!name) continue;
          const u: ScriptEffect = {
            kind: 'user', package: pkg, name, system: opts.has('S') || opts.has('r'),
            createHome: busybox ? !opts.has('H') : opts.has('m'),
          };
          const home = opts.get(busybox ? 'h' : 'd');
          const group = opts.get(busybox ? 'G' : 'g');
          const gecos = opts.get(busybox ? 'g' : 'c');
          if (home) u.home = home;
          if (group) u.group = group;
          if (gecos) u.gecos = gecos;
          if (opts.get('s')) u.shell = opts.get('s')!;
          if (opts.get('u')) u.uid = Number(opts.get('u'));
          effects.push(u);
          if (busybox && rest[1]) effects.push({ kind: 'group-member', package: pkg, user: name, group: rest[1] });
        } else if (relevant && (tool === 'busybox' || tool === 'toybox') && args.includes('--install')) {
          effects.push({ kind: 'applet-links', package: pkg, tool, symlinks: args.includes('-s') });
        } else if (relevant && tool === 'ln' && args[0]?.startsWith('-') && args[0].includes('s') && args.length === 3 && args[2]!.startsWith('/') && !args[2]!.split('/').includes('..')) {
          effects.push({ kind: 'symlink', package: pkg, path: args[2]!.replace(/\/+$/, ''), target: args[1]! });
        } else if (!HARMLESS.test(cmd)) {
          ignored.push(cmd);
        }
      }
    }
    skipped.push({ package: pkg, version, script, bytes: Buffer.byteLength(text), effects: effects.length - before, ignoredCommands: ignored });
  }
  return { effects, skipped };
}
