/**
 * Configure stage: from the feed stage's manifest to the image's root filesystem. Adds the generated
 * configuration, the init scripts and dinit services, keeps only the kernel modules the Box needs, moves the
 * kernel and board boot files out (they belong to the boot partition), and clamps timestamps.
 */
import { posix } from 'node:path';
import { NexusError } from '../../../src-shared/errors';
import type { ComposePlan } from '../../../src-shared/plan';
import type { FsEntry, FsManifest } from '../rootfs/entries';
import { mergeAccounts, type AccountEffect, type MergedAccounts } from './config/accounts';
import { containerEntries } from './config/containers';
import { desktopSessionAccounts, desktopSessionEntries } from './config/desktop-session';
import { dinitEntries, READY_SERVICE } from './config/dinit';
import { apkConfigEntries, installedDb, wantsApkConfig, type ApkDbInput } from './config/apk';
import { accounts, etcEntries, USER_UID } from './config/etc';
import { FIRST_BOOT_SERVICE, firstBootEntries } from './config/first-boot';
import { GROW_ROOT_SERVICE, GROW_ROOT_TOOLS, growRootEntries, missingGrowTools } from './config/grow-root';
import { readyScript, ramInit, rootInit, vaultSetupScript } from './config/scripts';
import { meshEntries } from './config/mesh';
import { dir, file, symlink, type GeneratedEntry } from './config/types';
import { readEntry } from './content';
import { depmod, moduleInfo } from './depmod';
import { COMPRESSED_MODULE, findKernel, moduleBytes, selectModules, type KernelInfo, type ModuleSelection } from './kernel-modules';
import { addGenerated, ensureParents } from './manifest-ops';
import {
  applyFileEffects,
  emulateBusyboxInstall,
  noPackageScripts,
  planScripts,
  remapOwners,
  shellsFile,
  triggerArgs,
  type PackageScripts,
  type ScriptRecord,
} from './script-effects';

export interface ConfiguredRoot {
  /** The root filesystem (tinybox: the whole initramfs). */
  rootfs: FsManifest;
  /** The untouched feed manifest: boot files come from here ("package:NAME:/path", "kernel"). */
  packages: FsManifest;
  kernel: KernelInfo;
  modules: ModuleSelection;
  /** The dinit binary the init scripts exec (from the dinit package's files). */
  dinit: string;
  /** What was done with each package script instead of running it (manifest.json `scripts`). */
  scripts: ScriptRecord[];
  /** Accounts the packages' scripts created ("user klogd (busybox)"). */
  accountsCreated: string[];
  warnings: string[];
  /** Build log lines (applied effects, emulations). */
  log: string[];
}

/** The dinit binary as the dinit package installed it (Alpine: /usr/sbin/dinit, built with --exec-prefix=/usr). */
export function findDinit(manifest: FsManifest): string {
  const candidates = [...manifest.values()].filter((e) => (e.type === 'file' || e.type === 'hardlink') && /^\/(usr\/)?s?bin\/dinit$/.test(e.path));
  const found = candidates.find((e) => e.owner === 'dinit') ?? candidates[0];
  if (!found) {
    const owned = [...manifest.values()].some((e) => e.owner === 'dinit');
    throw new NexusError(
      'DINIT_NOT_FOUND',
      owned
        ? 'The dinit package installed no dinit binary (no /usr/sbin/dinit or /sbin/dinit among its files).'
        : 'No installed package provides the dinit binary: the dinit package is not in the Box.',
      "The Box needs the dinit package (Alpine community) as its service manager; check the feed and the Box's packages.",
    );
  }
  return found.path;
}

const LOAD_ORDER = '/lib/modules/nexus-load-order';

/** Paths of owner names in FileSpec → numeric ids (the generated passwd/group are the only accounts we know). */
function idOf(name: string, plan: ComposePlan): number {
  if (/^\d+$/.test(name)) return Number(name);
  if (name === 'root') return 0;
  if (plan.customization.user && name === plan.customization.user.name) return USER_UID;
  return 0;
}

export interface GeneratedOptions {
  /** The dinit binary's path in the image (default /usr/sbin/dinit, where Alpine's dinit package puts it). */
  dinit?: string;
  /** Merged passwd/group/shadow (default: Nexus's own accounts only). */
  accounts?: { passwd: string; group: string; shadow: string };
  /** Services nexus-ready waits for (the first-boot finalizer). */
  readyWaitsFor?: string[];
}

export function generatedEntries(plan: ComposePlan, epoch: number, installed: Set<string>, hasZoneinfo: boolean, o: GeneratedOptions = {}): GeneratedEntry[] {
  const dinit = o.dinit ?? '/usr/sbin/dinit';
  const out = etcEntries({ plan, epoch, installed, hasZoneinfo, ...(o.accounts ? { accounts: o.accounts } : {}) });
  out.push(...dinitEntries(plan.services, o.readyWaitsFor?.length ? { [READY_SERVICE]: o.readyWaitsFor } : {}));
  out.push(dir('/usr/libexec/nexus'), file('/usr/libexec/nexus/ready', readyScript(plan.box.name, plan.board.name), 0o755));
  out.push(...meshEntries(plan));
  if (plan.filesystems.vault)
    out.push(file('/usr/libexec/nexus/vault-setup', vaultSetupScript(plan.filesystems.vault.mountpoint, plan.filesystems.overlay?.mountpoint ?? null), 0o755));
  if (plan.filesystems.root.type === 'initramfs') out.push(file('/init', ramInit(dinit), 0o755));
  else out.push(file('/sbin/nexus-init', rootInit(dinit), 0o755));
  if (plan.filesystems.overlay) out.push(dir(plan.filesystems.overlay.mountpoint));
  if (plan.filesystems.vault) out.push(dir(plan.filesystems.vault.mountpoint, 0o700));
  for (const f of plan.files) out.push(file(f.path, f.content, parseInt(f.mode, 8), idOf(f.owner, plan), idOf(f.group, plan)));
  return out;
}

/** `apk`: the resolved packages and trusted keys, for apk's configuration and database on the device (config/apk.ts). */
export async function configureRoot(
  input: FsManifest,
  plan: ComposePlan,
  epoch: number,
  pkgScripts: PackageScripts = noPackageScripts(),
  apk?: ApkDbInput,
): Promise<ConfiguredRoot> {
  const warnings: string[] = [];
  const log: string[] = [];
  const boot = plan.boot;
  const rootType = plan.filesystems.root.type;
  const kernel = findKernel(input, boot.kernelPackage);
  const dinit = findDinit(input);
  const selected = await selectModules(input, kernel.moduleDir, plan.kernelModules);
  if (selected.missing.length) warnings.push(`kernel modules not in ${boot.kernelPackage}: ${selected.missing.join(', ')}`);
  const keepModules = new Set(selected.files);
  const bootPackages = new Set(boot.bootPackages);
  const installed = new Set([...input.values()].map((e) => e.owner));

  const rootfs: FsManifest = new Map();
  for (const e of input.values()) {
    if (bootPackages.has(e.owner)) continue; // loaders and stubs are build inputs, not part of the running system
    if (e.path.startsWith('/boot/')) continue; // the kernel and device trees live on the boot partition
    if (
      kernel.moduleDir &&
      e.path.startsWith(kernel.moduleDir + '/') &&
      e.type !== 'dir' &&
      !keepModules.has(e.path) &&
      !/\/modules\.builtin(\.modinfo)?$/.test(e.path)
    )
      continue;
    rootfs.set(e.path, { ...e, mtime: Math.min(e.mtime, epoch) });
  }
  // Every script gets an outcome before anything is generated: a read-only root fails here, naming the script.
  const scriptPlan = planScripts(pkgScripts, rootType, rootfs);
  for (const pkg of scriptPlan.appletLinks) {
    const r = await emulateBusyboxInstall(rootfs, pkg, epoch);
    log.push(
      `${pkg}: busybox --install -s emulated: ${r.added} applet links (from ${r.source}${r.defaulted.length ? `; placed by default: ${r.defaulted.join(' ')}` : ''})${r.kept.length ? `; kept existing ${r.kept.join(' ')}` : ''}`,
    );
  }
  // Modules: decompressed (busybox insmod loads plain .ko only), then depmod over exactly what is in the image.
  const moduleFiles: string[] = [];
  if (kernel.moduleDir) {
    for (const path of selected.files) {
      const plain = path.replace(COMPRESSED_MODULE, '.ko');
      if (plain !== path) {
        const data = await moduleBytes(path, input.get(path)!);
        const prev = rootfs.get(path)!;
        rootfs.delete(path);
        rootfs.set(plain, { ...prev, path: plain, type: 'file', size: data.length, content: { kind: 'inline', data } });
      }
      moduleFiles.push(plain);
    }
  }
  const modules: ModuleSelection = { ...selected, files: moduleFiles };
  // Drop module directories left empty by the pruning.
  if (kernel.moduleDir) {
    const used = new Set<string>();
    for (const p of rootfs.keys())
      if (p.startsWith(kernel.moduleDir + '/') && rootfs.get(p)!.type !== 'dir') for (let d = posix.dirname(p); d.length > 1; d = posix.dirname(d)) used.add(d);
    for (const [p, e] of rootfs) if (e.type === 'dir' && p.startsWith(kernel.moduleDir + '/') && !used.has(p)) rootfs.delete(p);
  }
  // Accounts: Nexus's, the packages' files, the scripts' users and groups.
  const text = async (p: string) => {
    const e = rootfs.get(p);
    return e?.type === 'file' ? (await readEntry(e)).toString('utf8') : undefined;
  };
  const shipped = { passwd: await text('/etc/passwd'), group: await text('/etc/group'), shadow: await text('/etc/shadow') };
  const accountEffects = [
    ...pkgScripts.effects.filter((e): e is AccountEffect => e.kind === 'user' || e.kind === 'group' || e.kind === 'group-member'),
    ...desktopSessionAccounts(plan, installed),
  ];
  const merged: MergedAccounts = mergeAccounts(
    accounts(plan, epoch),
    Object.fromEntries(Object.entries(shipped).filter(([, v]) => v !== undefined)),
    accountEffects,
    Math.floor(epoch / 86400),
  );
  if (merged.created.length) log.push(`accounts from install scripts: ${merged.created.join(', ')}`);
  const deferred = scriptPlan.deferred.map((script) => ({ script, args: script.script === 'trigger' ? triggerArgs(script.triggers ?? [], rootfs) : [] }));

  const shell = plan.box.loginShell;
  if (shell && !['file', 'symlink', 'hardlink'].includes(rootfs.get(shell)?.type ?? '')) {
    throw new NexusError(
      'LOGIN_SHELL_MISSING',
      `${plan.box.name} makes ${shell} the login shell, but no installed package provides ${shell}.`,
      'Add the package that installs it (zsh for /bin/zsh) to the Box, or remove loginShell.',
    );
  }
  // A writable ext4 root (the last partition) grows to fill the medium on first boot, when the tools are there.
  const missingGrow = rootType === 'ext4' ? missingGrowTools(rootfs) : ['(not an ext4 root)'];
  if (rootType === 'ext4' && missingGrow.length)
    log.push(
      `the root will not grow on first boot: no ${missingGrow.join(', ')} (packages ${missingGrow.map((t) => GROW_ROOT_TOOLS[t as keyof typeof GROW_ROOT_TOOLS]).join(', ')})`,
    );
  const grow = missingGrow.length === 0;
  const waits = [...(deferred.length ? [FIRST_BOOT_SERVICE] : []), ...(grow ? [GROW_ROOT_SERVICE] : [])];
  const gen = generatedEntries(plan, epoch, installed, rootfs.has(`/usr/share/zoneinfo/${plan.customization.timezone}`), {
    dinit,
    accounts: merged,
    ...(waits.length ? { readyWaitsFor: waits } : {}),
  });
  gen.push(...firstBootEntries(deferred));
  if (grow) gen.push(...growRootEntries());
  const apkConfig = apk && wantsApkConfig(plan, installed);
  if (apkConfig) gen.push(...apkConfigEntries(plan, apk));
  gen.push(...containerEntries(installed, (p) => rootfs.has(p)));
  gen.push(...desktopSessionEntries(plan, installed));
  const shells = pkgScripts.effects.flatMap((e) => (e.kind === 'shell' ? [e.shell] : []));
  if (shells.length) gen.push(file('/etc/shells', shellsFile((await text('/etc/shells')) ?? null, shells)));
  for (const h of merged.homes) gen.push(dir(h.path, 0o755, h.uid, h.gid));
  if (kernel.moduleDir) {
    gen.push(file(LOAD_ORDER, moduleFiles.map((f) => f + '\n').join('')));
    const infos = await Promise.all(moduleFiles.map(async (p) => moduleInfo(p.slice(kernel.moduleDir!.length + 1), await readEntry(rootfs.get(p)!))));
    const d = depmod(infos);
    for (const name of ['modules.dep', 'modules.alias', 'modules.softdep'] as const) gen.push(file(`${kernel.moduleDir}/${name}`, d[name]));
    if (infos.length)
      log.push(
        `depmod emulated for ${kernel.release}: ${infos.length} module(s)${d.unresolved.length ? `; dependencies not in the image (built in?): ${d.unresolved.join(' ')}` : ''}`,
      );
  }
  // The init the kernel runs must be reachable as /sbin/init too, for boot loaders that ignore rdinit.
  if (rootType !== 'initramfs' && !rootfs.has('/sbin/init')) gen.push(symlink('/sbin/init', '/sbin/nexus-init'));
  // Alpine's busybox links /sbin/init to itself; Nexus's init must win there on a disk root.
  if (rootType !== 'initramfs' && rootfs.get('/sbin/init')?.type === 'symlink' && rootfs.get('/sbin/init')!.linkTarget === '/bin/busybox')
    gen.push(symlink('/sbin/init', '/sbin/nexus-init'));
  for (const g of gen) addGenerated(rootfs, g, epoch);
  warnings.push(...applyFileEffects(rootfs, pkgScripts.effects, merged, epoch).map((w) => `install script effect not applied: ${w}`));
  const unknownOwners = remapOwners(rootfs, pkgScripts.ownerNames ?? new Map(), merged);
  if (unknownOwners.length) warnings.push(`files owned by accounts that do not exist in the image (left as packaged): ${unknownOwners.slice(0, 5).join(', ')}`);
  // apk's database lists what each package owns in the finished root, so it is written last.
  if (apkConfig) addGenerated(rootfs, file('/lib/apk/db/installed', installedDb(apk.packages, rootfs, plan.builderProvides, plan.feed.arch)), epoch);
  ensureParents(rootfs, epoch);
  for (const r of scriptPlan.records) log.push(`${r.package}-${r.version} ${r.script}: ${r.outcome} (${r.detail})`);
  return { rootfs, packages: input, kernel, modules, dinit, scripts: scriptPlan.records, accountsCreated: merged.created, warnings, log };
}

export type { FsEntry };
