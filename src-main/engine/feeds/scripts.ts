/**
 * Install scripts are never run on the build host (they are foreign-architecture shell scripts). Instead their
 * effects are read declaratively from the script text — users and groups (busybox adduser/addgroup and shadow
 * useradd/groupadd syntax), `add-shell`, `ln -s`, `mkdir -p`, `chmod`, `chown` and applet-link installation
 * (busybox/toybox --install) — and every script is recorded with its text, so that the image stage can apply
 * the effects, emulate known scripts and triggers, and defer or refuse the rest (image/script-effects.ts).
 * Nothing here applies anything.
 */

import { captures, isTuple } from '../../../src-shared/narrow';

export type ScriptEffect =
  | { kind: 'group'; package: string; name: string; gid?: number; system: boolean }
  | {
      kind: 'user';
      package: string;
      name: string;
      uid?: number;
      group?: string;
      home?: string;
      shell?: string;
      gecos?: string;
      system: boolean;
      createHome: boolean;
    }
  | { kind: 'group-member'; package: string; user: string; group: string }
  | { kind: 'applet-links'; package: string; tool: 'busybox' | 'toybox'; symlinks: boolean }
  /** `ln -s TARGET /abs/path` in an install script, e.g. enabling a dinit service in /etc/dinit.d/boot.d/. */
  | { kind: 'symlink'; package: string; path: string; target: string; force: boolean }
  /** `add-shell /bin/zsh`: a line in /etc/shells. */
  | { kind: 'shell'; package: string; shell: string }
  /** `mkdir -p /abs/dir` (scripts run with the new root as working directory: relative paths are made absolute). */
  | { kind: 'dir'; package: string; path: string; mode?: number }
  | { kind: 'mode'; package: string; path: string; mode: number }
  | { kind: 'owner'; package: string; path: string; user: string; group?: string };

export interface SkippedScript {
  package: string;
  version: string;
  /** "post-install", "trigger"... */
  script: string;
  bytes: number;
  /** Effects recognised in it (applied, or not, by the image stage: see its per-script record). */
  effects: number;
  /** Commands that were neither recognised as an effect nor free of effects (for the build log). */
  ignoredCommands: string[];
  /** Every command was recognised as an effect or has none: applying the effects is running the script. */
  understood: boolean;
  /** The script itself (deferred to the device's first boot when it cannot be applied or emulated). */
  text: string;
  /** For a trigger script: the package's trigger globs (.PKGINFO `triggers`), its arguments when apk runs it. */
  triggers?: string[];
}

/** Minimal shell word splitting: quotes and backslashes, no expansion. */
function words(line: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quote: string | null = null;
  let has = false;
  for (let i = 0; i < line.length; i++) {
    const c = line.charAt(i);
    if (quote) {
      if (c === quote) quote = null;
      else if (c === '\\' && quote === '"' && i + 1 < line.length) cur += line.charAt(++i);
      else cur += c;
    } else if (c === '"' || c === "'") {
      quote = c;
      has = true;
    } else if (c === '\\' && i + 1 < line.length) {
      cur += line.charAt(++i);
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
  // One iterator for both loops: an option taking a value consumes the next argument.
  const it = args.values();
  for (const a of it) {
    if (/^-[A-Za-z]$/.test(a)) {
      const short = a.charAt(1);
      opts.set(short, withArg.includes(short) ? (it.next().value ?? '') : '');
    } else if (/^--[a-z-]+$/.test(a)) {
      const long = a.slice(2);
      const map: Record<string, string> = {
        system: 'S',
        home: 'h',
        gid: 'g',
        uid: 'u',
        shell: 's',
        comment: 'c',
        'no-create-home': 'H',
        ingroup: 'G',
        gecos: 'g',
      };
      const short = map[long] ?? long;
      if (['h', 'g', 'u', 's', 'c', 'G'].includes(short)) opts.set(short, it.next().value ?? '');
      else opts.set(short, '');
    } else rest.push(a);
  }
  return { opts, rest };
}

/** Every path made absolute by rootPath(), or null when one of them is not a plain path. */
function rootPaths(paths: string[]): string[] | null {
  const out: string[] = [];
  for (const p of paths) {
    const abs = rootPath(p);
    if (!abs) return null;
    out.push(abs);
  }
  return out;
}

/** Commands without effects on the root (conditions, control words, messages to the console). */
const NO_EFFECT = /^(#|:|true|false|exit|set|fi|then|else|done|esac|;;|return|echo|printf|\[|test|\}|\{)(\s|$)/;

/** Paths in scripts are relative to the root apk runs them in ("etc/shadow") or absolute. */
function rootPath(p: string | undefined): string | null {
  if (!p || p.includes('$') || p.includes('*')) return null;
  // Normalised or nothing: "." or ".." anywhere (ln -s . . made "/.") leaves the command unrecognised.
  const segs = p
    .replace(/^\.\/+/, '')
    .split('/')
    .filter(Boolean);
  if (segs.some((s) => s === '.' || s === '..')) return null;
  return `/${segs.join('/')}`;
}

/**
 * What an account effect may carry into passwd/group/shadow (issue 13, found by fuzzing): names as busybox adduser
 * accepts them, ids that are 32-bit, absolute normalised home/shell paths and a GECOS without ":" or control
 * characters. Anything else ("evil:x:0:0" as a name, -u -5, -g abc) leaves the command unrecognised, so the script
 * counts as not understood (deferred to the device or refused), never a forged passwd line.
 */
const ACCOUNT_NAME = /^[A-Za-z0-9_.][A-Za-z0-9_.-]{0,31}\$?$/;
const ACCOUNT_PATH = /^\/$|^(\/(?!\.\.?(\/|$))[A-Za-z0-9._+@-]+)+$/;
// eslint-disable-next-line no-control-regex
const GECOS = /^[^:\x00-\x1f\x7f]*$/;
const accountId = (v: string | undefined): number | undefined | null => {
  if (v === undefined) return undefined;
  return /^\d{1,10}$/.test(v) && Number(v) <= 0xfffffffe ? Number(v) : null;
};

export function scriptEffects(
  pkg: string,
  version: string,
  scripts: Map<string, string>,
  triggers: string[] = [],
): { effects: ScriptEffect[]; skipped: SkippedScript[] } {
  const effects: ScriptEffect[] = [];
  const skipped: SkippedScript[] = [];
  const recognise = (tool: string, args: string[]): void => {
    if (tool === 'addgroup' || tool === 'groupadd') {
      const { opts, rest } = options(args, 'g');
      if (!rest.every((n) => ACCOUNT_NAME.test(n)) || accountId(opts.get('g')) === null) return;
      if (tool === 'addgroup' && isTuple(rest, 2)) effects.push({ kind: 'group-member', package: pkg, user: rest[0], group: rest[1] });
      else if (isTuple(rest, 1)) {
        const g: ScriptEffect = { kind: 'group', package: pkg, name: rest[0], system: opts.has('S') || opts.has('r') };
        if (opts.get('g')) g.gid = Number(opts.get('g'));
        effects.push(g);
      }
    } else if (tool === 'adduser' || tool === 'useradd') {
      const busybox = tool === 'adduser';
      const { opts, rest } = options(args, busybox ? 'hgsGuk' : 'dgcsuGk');
      const name = rest[busybox ? 0 : rest.length - 1];
      if (!name || !rest.every((n) => ACCOUNT_NAME.test(n))) return;
      // A home written with a trailing slash (fontconfig's `-h /var/cache/fontconfig/`) is the same directory.
      const homeRaw = opts.get(busybox ? 'h' : 'd');
      if (homeRaw && homeRaw.length > 1 && homeRaw.endsWith('/')) opts.set(busybox ? 'h' : 'd', homeRaw.slice(0, -1));
      const [homeArg, groupArg, gecosArg, shellArg] = [
        opts.get(busybox ? 'h' : 'd'),
        opts.get(busybox ? 'G' : 'g'),
        opts.get(busybox ? 'g' : 'c'),
        opts.get('s'),
      ];
      if (accountId(opts.get('u')) === null || (groupArg !== undefined && !ACCOUNT_NAME.test(groupArg)) || (gecosArg !== undefined && !GECOS.test(gecosArg)))
        return;
      if ([homeArg, shellArg].some((p) => p !== undefined && p !== '' && !ACCOUNT_PATH.test(p))) return;
      const u: ScriptEffect = {
        kind: 'user',
        package: pkg,
        name,
        system: opts.has('S') || opts.has('r'),
        createHome: busybox ? !opts.has('H') : opts.has('m'),
      };
      const home = opts.get(busybox ? 'h' : 'd');
      const group = opts.get(busybox ? 'G' : 'g');
      const gecos = opts.get(busybox ? 'g' : 'c');
      if (home) u.home = home;
      if (group) u.group = group;
      if (gecos) u.gecos = gecos;
      const shell = opts.get('s');
      if (shell) u.shell = shell;
      if (opts.get('u')) u.uid = Number(opts.get('u'));
      effects.push(u);
      if (busybox && rest[1]) effects.push({ kind: 'group-member', package: pkg, user: name, group: rest[1] });
    } else if ((tool === 'busybox' || tool === 'toybox') && args.includes('--install')) {
      effects.push({ kind: 'applet-links', package: pkg, tool, symlinks: args.includes('-s') });
    } else if (tool === 'add-shell' && args.length >= 1 && args.every((a) => a.startsWith('/'))) {
      for (const a of args) effects.push({ kind: 'shell', package: pkg, shell: a });
    } else if (tool === 'ln' && isTuple(args, 3) && /^-[sfn]+$/.test(args[0]) && args[0].includes('s')) {
      const [flags, target, link] = args;
      const path = rootPath(link);
      if (path && path !== '/') effects.push({ kind: 'symlink', package: pkg, path, target, force: flags.includes('f') });
    } else if (tool === 'mkdir') {
      const { opts, rest } = options(args, 'm');
      const paths = rootPaths(rest);
      const mode = opts.get('m');
      if (!paths?.length || (mode && !/^[0-7]{3,4}$/.test(mode))) return;
      for (const path of paths) effects.push({ kind: 'dir', package: pkg, path, ...(mode ? { mode: parseInt(mode, 8) } : {}) });
    } else if (tool === 'chmod' || tool === 'chown') {
      const [what, ...files] = args;
      const paths = rootPaths(files);
      if (what === undefined || !paths?.length) return;
      if (tool === 'chmod' && /^[0-7]{3,4}$/.test(what)) {
        for (const path of paths) effects.push({ kind: 'mode', package: pkg, path, mode: parseInt(what, 8) });
      } else if (tool === 'chown' && /^[a-z_][a-z0-9_-]*(:[a-z_][a-z0-9_-]*)?$/.test(what)) {
        const [user = what, group] = what.split(':');
        for (const path of paths) effects.push({ kind: 'owner', package: pkg, path, user, ...(group ? { group } : {}) });
      }
    }
  };
  // apk's order on a fresh install: pre-install, (files), post-install, then triggers; the rest are never run.
  const rank = (n: string) => ['pre-install', 'post-install', 'trigger'].indexOf(n) >>> 0;
  for (const [script, text] of [...scripts].sort(([a], [b]) => rank(a) - rank(b) || (a < b ? -1 : 1))) {
    const before = effects.length;
    const ignored: string[] = [];
    // Only install-time scripts matter for a fresh image; deinstall/upgrade ones are never run there.
    const relevant = script === 'pre-install' || script === 'post-install';
    // Plain assignments ("user=dhcpcd", as aports' scripts name their accounts) are expanded in later commands;
    // anything else with a "$" stays unrecognised.
    const vars = new Map<string, string>();
    const expand = (cmd: string) =>
      cmd.replace(/\$(?:\{([A-Za-z_]\w*)\}|([A-Za-z_]\w*))/g, (m, braced: string | undefined, bare: string | undefined) => vars.get(braced ?? bare ?? '') ?? m);
    for (const rawLine of text.split('\n')) {
      const line = rawLine.trim();
      if (!line || line.startsWith('#')) continue;
      for (const raw of line.split(/\s*(?:&&|\|\||;)\s*/)) {
        const cmd = expand(raw.replace(/\s*[12]?>\s*\/dev\/null(\s+2>&1)?\s*$/, '').trim());
        if (!cmd) continue;
        const assign = captures(/^([A-Za-z_]\w*)=([A-Za-z0-9_./:@+-]*|"[A-Za-z0-9_./:@+ -]*"|'[^']*')$/.exec(cmd), 2);
        if (assign) {
          vars.set(assign[0], words(assign[1]).join(' '));
          continue;
        }
        if (cmd.includes('$') || cmd.includes('`') || /[<>|]/.test(cmd)) {
          ignored.push(cmd);
          continue;
        }
        let w = words(cmd);
        // "/bin/busybox mkdir -p …" runs the applet.
        if (/^(\/bin\/)?busybox$/.test(w[0] ?? '') && w[1] && !w[1].startsWith('-')) w = w.slice(1);
        const tool = (w[0] ?? '').replace(/^.*\//, '');
        const args = w.slice(1);
        if (NO_EFFECT.test(cmd) || NO_EFFECT.test(tool)) continue;
        const before1 = effects.length;
        if (relevant) recognise(tool, args);
        if (effects.length === before1) ignored.push(cmd);
      }
    }
    skipped.push({
      package: pkg,
      version,
      script,
      bytes: Buffer.byteLength(text),
      effects: effects.length - before,
      ignoredCommands: ignored,
      understood: ignored.length === 0,
      text,
      ...(script === 'trigger' ? { triggers } : {}),
    });
  }
  return { effects, skipped };
}
