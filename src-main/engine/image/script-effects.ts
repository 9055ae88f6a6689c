/**
 * What happens to each package install script and trigger in the image (apk would run them in a chroot; we never
 * run target binaries on the build host):
 * - applied: every command of the script was read as a declarative effect (users, groups, memberships,
 *   add-shell, ln -s, mkdir -p, chmod, chown) and those effects are applied to the root filesystem;
 * - emulated: a well-understood script or trigger reimplemented here (busybox's `--install -s` applet links, its
 *   trigger's depmod);
 * - first-boot: on a writable (ext4) root the script is put into the image and run once, natively, by the
 *   nexus-first-boot dinit service before nexus-ready (records completion in /var/lib/nexus);
 * - not-needed: apk never runs it on a fresh install (upgrade/deinstall scripts), or it is on NOT_NEEDED below
 *   with the reason.
 * On a read-only root (erofs, initramfs) a script that is none of these fails the build, naming it.
 */
import { posix } from 'node:path';
import { NexusError } from '../../../src-shared/errors';
import type { ScriptEffect, SkippedScript } from '../feeds/scripts';
import type { FsEntry, FsManifest } from '../rootfs/entries';
import { busyboxAppletLinks } from './busybox-applets';
import type { MergedAccounts } from './config/accounts';
import { readEntry } from './content';

export interface PackageScripts {
  effects: ScriptEffect[];
  scripts: SkippedScript[];
  /** Owner names of package files not owned by root (UnpackResult.ownerNames): re-mapped after the accounts exist. */
  ownerNames?: Map<string, { user: string; group: string }>;
}

export const noPackageScripts = (): PackageScripts => ({ effects: [], scripts: [] });

export type ScriptOutcome = 'applied' | 'emulated' | 'first-boot' | 'not-needed';

/** One line of manifest.json's `scripts`: what was done with a script instead of running it. */
export interface ScriptRecord {
  package: string;
  version: string;
  script: string;
  outcome: ScriptOutcome;
  detail: string;
}

/**
 * Scripts known to be unneeded in a fresh Nexus image although we neither understand nor emulate all of them.
 * Keyed "package:script"; every entry says why.
 */
export const NOT_NEEDED: ReadonlyMap<string, string> = new Map([
  [
    'alpine-baselayout:post-install',
    'renames an old color_prompt.sh link (a fresh root has none) and chowns /etc/shadow to root:shadow, which applied (and Nexus generates /etc/shadow as root:shadow 0640)',
  ],
  [
    'mkinitfs:trigger',
    "builds /boot/initramfs-<flavour> for the installed kernels; Nexus builds the image's initramfs itself and /boot is not part of the root",
  ],
]);

const NEVER_ON_INSTALL = new Set(['pre-upgrade', 'post-upgrade', 'pre-deinstall', 'post-deinstall']);

/** Scripts reimplemented here: returns what the emulation does, or null when this image needs more than that. */
function emulation(s: SkippedScript, root: FsManifest): string | null {
  if (s.package === 'busybox' && s.script === 'trigger' && /--install\s+-s/.test(s.text)) {
    // The same trigger also runs bbsuid and busybox-extras --install: not emulated, so only when they are absent.
    if (root.has('/bin/bbsuid') || root.has('/bin/busybox-extras')) return null;
    return "applet links as `busybox --install -s` makes them; `busybox depmod` as modules.dep/alias/softdep computed from the modules' .modinfo";
  }
  return null;
}

export interface ScriptPlan {
  records: ScriptRecord[];
  /** Run on the device's first boot (writable roots only), in apk's order. */
  deferred: SkippedScript[];
  /** Packages whose applet links `busybox --install -s` would make. */
  appletLinks: string[];
}

const effectSummary = (s: SkippedScript, effects: ScriptEffect[]) => {
  const mine = effects.filter((e) => e.package === s.package);
  const kinds = [...new Set(mine.map((e) => e.kind))];
  return kinds.length ? kinds.join(', ') : 'no effects';
};

/** Decides each script's outcome; throws for a script a read-only root cannot take. */
export function planScripts(pkg: PackageScripts, rootType: 'ext4' | 'erofs' | 'initramfs', root: FsManifest): ScriptPlan {
  const records: ScriptRecord[] = [];
  const deferred: SkippedScript[] = [];
  const appletLinks = new Set<string>();
  for (const s of pkg.scripts) {
    const base = { package: s.package, version: s.version, script: s.script };
    const allowed = NOT_NEEDED.get(`${s.package}:${s.script}`);
    const emulated = emulation(s, root);
    const links = pkg.effects.some((e) => e.package === s.package && e.kind === 'applet-links' && e.tool === 'busybox' && e.symlinks);
    if (NEVER_ON_INSTALL.has(s.script)) {
      records.push({ ...base, outcome: 'not-needed', detail: 'apk runs it only on upgrade or removal; the image is a fresh install' });
    } else if (emulated) {
      records.push({ ...base, outcome: 'emulated', detail: emulated });
      appletLinks.add(s.package);
    } else if (s.understood) {
      if (links && (s.script === 'post-install' || s.script === 'pre-install')) appletLinks.add(s.package);
      records.push({
        ...base,
        outcome: links ? 'emulated' : 'applied',
        detail: `${links ? 'applet links as `busybox --install -s` makes them; ' : ''}declarative effects applied: ${effectSummary(s, pkg.effects)}`,
      });
    } else if (allowed) {
      records.push({ ...base, outcome: 'not-needed', detail: allowed });
    } else if (rootType === 'ext4') {
      records.push({
        ...base,
        outcome: 'first-boot',
        detail: `run once on the device's first boot by nexus-first-boot (not understood here: ${s.ignoredCommands.slice(0, 3).join(' | ')})`,
      });
      deferred.push(s);
    } else {
      throw new NexusError(
        'SCRIPT_NEEDS_DEVICE',
        `The ${s.script} script of ${s.package}-${s.version} cannot be applied at build time (${s.ignoredCommands.slice(0, 3).join(' | ') || 'not understood'}), and this Box's ${rootType} root is read-only, so it cannot run on the device's first boot either.`,
        `Remove ${s.package} from the Box or use a Box with a writable ext4 root. If the script is not needed in a fresh image, add "${s.package}:${s.script}" with the reason to NOT_NEEDED in src-main/engine/image/script-effects.ts.`,
      );
    }
  }
  return { records, deferred, appletLinks: [...appletLinks] };
}

const entry = (path: string, type: FsEntry['type'], mode: number, mtime: number, owner: string, extra: Partial<FsEntry> = {}): FsEntry => ({
  path,
  type,
  mode,
  uid: 0,
  gid: 0,
  mtime,
  size: 0,
  owner,
  ...extra,
});

/** `busybox --install -s` for the package's /bin/busybox: adds the links no other file occupies; returns how many. */
export async function emulateBusyboxInstall(
  root: FsManifest,
  pkg: string,
  epoch: number,
): Promise<{ added: number; kept: string[]; source: string; defaulted: string[] }> {
  const bin = root.get('/bin/busybox');
  if (!bin || bin.type !== 'file')
    throw new NexusError(
      'BUSYBOX_NOT_FOUND',
      `The ${pkg} package's install script runs /bin/busybox --install -s, but ${pkg} installed no /bin/busybox.`,
      "Check the feed's busybox package.",
    );
  const paths = root.get('/etc/busybox-paths.d/busybox');
  const plan = busyboxAppletLinks(await readEntry(bin), paths?.type === 'file' ? (await readEntry(paths)).toString('utf8') : undefined);
  if (!plan)
    throw new NexusError(
      'BUSYBOX_APPLETS_UNREADABLE',
      `Cannot read the applet list of ${pkg}'s /bin/busybox (no "[\\0[[\\0" applet name table).`,
      'Report the busybox package; its applet links cannot be made without running it.',
    );
  let added = 0;
  const kept: string[] = [];
  for (const link of plan.links) {
    if (root.has(link)) {
      kept.push(link);
      continue;
    }
    for (let d = posix.dirname(link); d !== '/' && !root.has(d); d = posix.dirname(d)) root.set(d, entry(d, 'dir', 0o755, epoch, pkg));
    root.set(link, entry(link, 'symlink', 0o777, epoch, pkg, { linkTarget: '/bin/busybox' }));
    added++;
  }
  return { added, kept, source: plan.source, defaulted: plan.defaulted };
}

/** Applies ln -s, mkdir -p, chmod and chown effects (after accounts exist); returns what could not be applied. */
export function applyFileEffects(root: FsManifest, effects: ScriptEffect[], accounts: Pick<MergedAccounts, 'uids' | 'gids'>, epoch: number): string[] {
  const notApplied: string[] = [];
  for (const e of effects) {
    if (e.kind === 'dir') {
      const prev = root.get(e.path);
      if (!prev) root.set(e.path, entry(e.path, 'dir', e.mode ?? 0o755, epoch, e.package));
      else if (prev.type === 'dir' && e.mode !== undefined) root.set(e.path, { ...prev, mode: e.mode });
      for (let d = posix.dirname(e.path); d !== '/' && !root.has(d); d = posix.dirname(d)) root.set(d, entry(d, 'dir', 0o755, epoch, e.package));
    } else if (e.kind === 'symlink') {
      if (root.has(e.path) && !e.force) continue; // ln -s fails on an existing path
      if (!root.has(posix.dirname(e.path))) {
        notApplied.push(`ln -s ${e.target} ${e.path} (${e.package}): no directory ${posix.dirname(e.path)}`);
        continue;
      }
      root.set(e.path, entry(e.path, 'symlink', 0o777, epoch, e.package, { linkTarget: e.target }));
    } else if (e.kind === 'mode') {
      const prev = root.get(e.path);
      if (prev && prev.type !== 'symlink') root.set(e.path, { ...prev, mode: (prev.mode & ~0o7777) | e.mode });
    } else if (e.kind === 'owner') {
      const prev = root.get(e.path);
      if (!prev) continue;
      const uid = accounts.uids.get(e.user);
      const gid = e.group ? accounts.gids.get(e.group) : undefined;
      if (uid === undefined || (e.group && gid === undefined)) {
        notApplied.push(`chown ${e.user}${e.group ? ':' + e.group : ''} ${e.path} (${e.package}): unknown account`);
        continue;
      }
      root.set(e.path, { ...prev, uid, ...(gid !== undefined ? { gid } : {}) });
    }
  }
  return notApplied;
}

/** apk maps package files' owner *names* through the new root's accounts: do the same once they exist. */
export function remapOwners(
  root: FsManifest,
  ownerNames: Map<string, { user: string; group: string }>,
  accounts: Pick<MergedAccounts, 'uids' | 'gids'>,
): string[] {
  const unknown: string[] = [];
  for (const [path, o] of ownerNames) {
    const e = root.get(path);
    if (!e) continue;
    const uid = accounts.uids.get(o.user);
    const gid = accounts.gids.get(o.group);
    if (uid === undefined || gid === undefined) unknown.push(`${path} (${o.user}:${o.group})`);
    root.set(path, { ...e, uid: uid ?? e.uid, gid: gid ?? e.gid });
  }
  return unknown;
}

/** /etc/shells with the add-shell lines appended (as add-shell does: once each, in order). */
export function shellsFile(shipped: string | null, shells: string[]): string {
  const lines = (shipped ?? '# valid login shells\n/bin/sh\n').split('\n').filter((l, i, all) => l || i < all.length - 1);
  for (const s of shells) if (!lines.includes(s)) lines.push(s);
  return lines.join('\n') + '\n';
}

/** Trigger globs ("/lib/modules/*") → the directories of the root they match: the trigger's arguments. */
export function triggerArgs(globs: string[], root: FsManifest): string[] {
  const out: string[] = [];
  for (const g of globs) {
    const re = new RegExp(
      '^' +
        g
          .replace(/\/+$/, '')
          .split('*')
          .map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
          .join('[^/]*') +
        '$',
    );
    for (const e of root.values()) if (e.type === 'dir' && re.test(e.path)) out.push(e.path);
  }
  return [...new Set(out)].sort();
}
