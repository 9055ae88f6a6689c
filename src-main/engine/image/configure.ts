/**
 * Configure stage: from the feed stage's manifest to the image's root filesystem. Adds the generated
 * configuration, the init scripts and dinit services, keeps only the kernel modules the Box needs, moves the
 * kernel and board boot files out (they belong to the boot partition), and clamps timestamps.
 */
import { posix } from 'node:path';
import type { BuildPlan } from '../../../src-shared/plan';
import type { FsEntry, FsManifest } from '../rootfs/entries';
import { dinitEntries } from './config/dinit';
import { etcEntries, USER_UID } from './config/etc';
import { readyScript, ramInit, rootInit, vaultSetupScript } from './config/scripts';
import { dir, file, symlink, type GeneratedEntry } from './config/types';
import { findKernel, selectModules, type KernelInfo, type ModuleSelection } from './kernel-modules';
import { addGenerated, ensureParents } from './manifest-ops';

export interface ConfiguredRoot {
  /** The root filesystem (tinybox: the whole initramfs). */
  rootfs: FsManifest;
  /** The untouched feed manifest: boot files come from here ("package:NAME:/path", "kernel"). */
  packages: FsManifest;
  kernel: KernelInfo;
  modules: ModuleSelection;
  warnings: string[];
}

const LOAD_ORDER = '/lib/modules/nexus-load-order';

/** Paths of owner names in FileSpec → numeric ids (the generated passwd/group are the only accounts we know). */
function idOf(name: string, plan: BuildPlan): number {
  if (/^\d+$/.test(name)) return Number(name);
  if (name === 'root') return 0;
  if (plan.customization.user && name === plan.customization.user.name) return USER_UID;
  return 0;
}

export function generatedEntries(plan: BuildPlan, epoch: number, installed: Set<string>, hasZoneinfo: boolean): GeneratedEntry[] {
  const out = etcEntries({ plan, epoch, installed, hasZoneinfo });
  out.push(...dinitEntries(plan.services));
  out.push(dir('/usr/libexec/nexus'), file('/usr/libexec/nexus/ready', readyScript(plan.box.name, plan.board.name), 0o755));
  if (plan.filesystems?.vault) out.push(file('/usr/libexec/nexus/vault-setup', vaultSetupScript(plan.filesystems.vault.mountpoint, plan.filesystems.overlay?.mountpoint ?? null), 0o755));
  if (plan.filesystems?.root.type === 'initramfs') out.push(file('/init', ramInit(), 0o755));
  else out.push(file('/sbin/nexus-init', rootInit(), 0o755));
  if (plan.filesystems?.overlay) out.push(dir(plan.filesystems.overlay.mountpoint));
  if (plan.filesystems?.vault) out.push(dir(plan.filesystems.vault.mountpoint, 0o700));
  for (const f of plan.files) out.push(file(f.path, f.content, parseInt(f.mode, 8), idOf(f.owner, plan), idOf(f.group, plan)));
  return out;
}

export async function configureRoot(input: FsManifest, plan: BuildPlan, epoch: number): Promise<ConfiguredRoot> {
  const warnings: string[] = [];
  const boot = plan.boot!;
  const kernel = findKernel(input, boot.kernelPackage);
  const modules = await selectModules(input, kernel.moduleDir, plan.kernelModules);
  if (modules.missing.length) warnings.push(`kernel modules not in ${boot.kernelPackage}: ${modules.missing.join(', ')}`);
  const keepModules = new Set(modules.files);
  const bootPackages = new Set(boot.bootPackages);
  const installed = new Set([...input.values()].map((e) => e.owner));

  const rootfs: FsManifest = new Map();
  for (const e of input.values()) {
    if (bootPackages.has(e.owner)) continue; // loaders and stubs are build inputs, not part of the running system
    if (e.path.startsWith('/boot/')) continue; // the kernel and device trees live on the boot partition
    if (kernel.moduleDir && e.path.startsWith(kernel.moduleDir + '/') && e.type !== 'dir' && !keepModules.has(e.path)) continue;
    rootfs.set(e.path, { ...e, mtime: Math.min(e.mtime, epoch) });
  }
  // Drop module directories left empty by the pruning.
  if (kernel.moduleDir) {
    const used = new Set<string>();
    for (const p of rootfs.keys()) if (p.startsWith(kernel.moduleDir + '/') && rootfs.get(p)!.type !== 'dir') for (let d = posix.dirname(p); d.length > 1; d = posix.dirname(d)) used.add(d);
    for (const [p, e] of rootfs) if (e.type === 'dir' && p.startsWith(kernel.moduleDir + '/') && !used.has(p)) rootfs.delete(p);
  }
  const gen = generatedEntries(plan, epoch, installed, rootfs.has(`/usr/share/zoneinfo/${plan.customization.timezone}`));
  if (kernel.moduleDir) {
    gen.push(file(LOAD_ORDER, modules.files.map((f) => f + '\n').join('')));
    gen.push(file(`${kernel.moduleDir}/modules.dep`, await prunedModulesDep(input, kernel.moduleDir, keepModules)));
  }
  // The init the kernel runs must be reachable as /sbin/init too, for boot loaders that ignore rdinit.
  if (plan.filesystems?.root.type !== 'initramfs' && !rootfs.has('/sbin/init')) gen.push(symlink('/sbin/init', '/sbin/nexus-init'));
  for (const g of gen) addGenerated(rootfs, g, epoch);
  ensureParents(rootfs, epoch);
  return { rootfs, packages: input, kernel, modules, warnings };
}

async function prunedModulesDep(input: FsManifest, moduleDir: string, keep: Set<string>): Promise<string> {
  const { readEntry } = await import('./content');
  const dep = input.get(`${moduleDir}/modules.dep`);
  const rel = (p: string) => p.slice(moduleDir.length + 1);
  if (!dep) return [...keep].map((p) => `${rel(p)}:`).join('\n') + '\n';
  const lines = (await readEntry(dep)).toString().split('\n').filter((l) => {
    const m = l.split(':')[0];
    return m && keep.has(`${moduleDir}/${m}`);
  });
  return lines.join('\n') + '\n';
}

export type { FsEntry };
