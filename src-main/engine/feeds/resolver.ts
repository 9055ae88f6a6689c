/**
 * Dependency resolution: from requested names to the full package closure, deterministic.
 *
 * A greedy solver in the spirit of apk's: every requested or depended-on name is satisfied by an
 * already chosen package when possible; otherwise by the best provider (a package of that name
 * first, then a versioned provide, then a virtual provide with provider_priority; highest priority,
 * then highest version, then repository order, then name). Dependencies with a single candidate are
 * settled before ambiguous ones so that explicit choices elsewhere win, as in apk. install_if rules
 * are applied to a fixpoint. There is no backtracking: when a choice later conflicts, resolution fails
 * with both names instead of trying other combinations (see the "what apk does" notes in index.ts).
 */
import { NexusError } from '../../../src-shared/errors';
import type { ApkIndex, ApkPackage } from './apkindex';
import { formatDep, parseDep, type Dep } from './deps';
import { compareVersions, satisfies } from './version';

export interface PackageRequest {
  /** Dependency token: "busybox", "so:libc.musl-x86_64.so.1", "foo>=1.2". */
  dep: string;
  /** Who asked for it (shown first in error chains), e.g. "nexbox" or "box:nexbox". */
  from: string[];
}

export interface ResolvedPackage {
  pkg: ApkPackage;
  /** Why it is installed: the chain from the request ("nexbox → curl → libcurl"). */
  chain: string[];
  /** Pulled in by an install_if rule. */
  viaInstallIf: boolean;
}

export interface Resolution {
  /** Sorted by name. */
  packages: ResolvedPackage[];
  /** Dependencies first (the unpack order), ties by name. */
  installOrder: ApkPackage[];
  totalSize: number;
  totalInstalledSize: number;
}

interface Candidate {
  pkg: ApkPackage;
  /** Version the candidate provides `name` at (undefined for a virtual provide). */
  version: string | undefined;
  direct: boolean;
  repoOrder: number;
}

/** name → everything that provides it. Built once per set of indexes. */
export class ProviderIndex {
  readonly providers = new Map<string, Candidate[]>();
  readonly installIfPackages: ApkPackage[] = [];
  readonly repos: ApkIndex['repo'][];

  constructor(indexes: ApkIndex[]) {
    this.repos = indexes.map((i) => i.repo);
    indexes.forEach((index, repoOrder) => {
      for (const pkg of index.packages) {
        this.add(pkg.name, { pkg, version: pkg.version, direct: true, repoOrder });
        for (const p of pkg.provides) this.add(p.name, { pkg, version: p.version, direct: false, repoOrder });
        if (pkg.installIf.length) this.installIfPackages.push(pkg);
      }
    });
  }

  private add(name: string, c: Candidate): void {
    const list = this.providers.get(name);
    if (list) list.push(c);
    else this.providers.set(name, [c]);
  }

  get(name: string): Candidate[] {
    return this.providers.get(name) ?? [];
  }

  private installIfBest?: ApkPackage[];

  /** The highest installable version of every package that has install_if rules, by name. */
  installIfCandidates(): ApkPackage[] {
    if (!this.installIfBest) {
      const best = new Map<string, ApkPackage>();
      for (const p of this.installIfPackages) {
        if (p.uninstallable) continue;
        const prev = best.get(p.name);
        if (!prev || compareVersions(p.version, prev.version) > 0) best.set(p.name, p);
      }
      this.installIfBest = [...best.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    }
    return this.installIfBest;
  }
}

function matchesDep(c: Candidate, dep: Dep): boolean {
  if (!dep.op) return true;
  if (c.version === undefined) return false; // virtual provides never satisfy versioned deps
  if (dep.op === '><') return c.pkg.checksum === dep.version;
  return satisfies(c.version, dep.op, dep.version ?? '');
}

/** Orders candidates best first. Deterministic for the same indexes. */
function rank(a: Candidate, b: Candidate): number {
  if (a.direct !== b.direct) return a.direct ? -1 : 1;
  if (a.pkg.providerPriority !== b.pkg.providerPriority) return b.pkg.providerPriority - a.pkg.providerPriority;
  if (a.version !== undefined && b.version !== undefined) {
    const c = compareVersions(b.version, a.version);
    if (c !== 0) return c;
  }
  if (a.pkg.name !== b.pkg.name) return a.pkg.name < b.pkg.name ? -1 : 1;
  const v = compareVersions(b.pkg.version, a.pkg.version);
  if (v !== 0) return v;
  return a.repoOrder - b.repoOrder;
}

interface Pending {
  dep: Dep;
  chain: string[];
}

export interface ResolveOptions {
  /** For messages: "riscv64/community of v3.22". */
  describeRepos?: string;
  /**
   * Names the builder itself supplies (the plan's builderProvides, e.g. "initramfs-generator": Nexus makes
   * the initramfs, so a kernel's dependency on a generator pulls in no mkinitfs and its closure). A dependency
   * on such a name is met without installing a package.
   */
  assumeProvided?: readonly string[];
}

function describe(index: ProviderIndex, opts: ResolveOptions): string {
  if (opts.describeRepos) return opts.describeRepos;
  const r = index.repos;
  if (r.length === 0) return 'any configured repository';
  return `${r.map((x) => `${x.arch}/${x.name}`).join(', ')} of ${r[0]!.branch}`;
}

export function resolvePackages(indexes: ApkIndex[] | ProviderIndex, requests: PackageRequest[], opts: ResolveOptions = {}): Resolution {
  const index = indexes instanceof ProviderIndex ? indexes : new ProviderIndex(indexes);
  const where = describe(index, opts);
  const chosen = new Map<string, ResolvedPackage>(); // by package name
  const provided = new Map<string, Array<{ pkg: ApkPackage; version: string | undefined }>>();
  const conflicts: Array<{ dep: Dep; owner: string }> = [];
  const fail = (code: string, chain: string[], message: string, hint: string): never => {
    throw new NexusError(code, `${chain.join(' → ')}: ${message}`, hint);
  };

  const assumed = new Set(opts.assumeProvided ?? []);
  const satisfiedBy = (dep: Dep): ApkPackage | undefined => {
    for (const p of provided.get(dep.name) ?? []) {
      if (matchesDep({ pkg: p.pkg, version: p.version, direct: p.pkg.name === dep.name, repoOrder: 0 }, dep)) return p.pkg;
    }
    return undefined;
  };
  const conflictWith = (pkg: ApkPackage): string | undefined => {
    // Existing conflict rules against the new package's names...
    const names: Array<[string, string | undefined]> = [[pkg.name, pkg.version], ...pkg.provides.map((p): [string, string | undefined] => [p.name, p.version])];
    for (const { dep, owner } of conflicts) {
      if (owner === pkg.name) continue;
      for (const [n, v] of names) if (n === dep.name && matchesDep({ pkg, version: v, direct: true, repoOrder: 0 }, dep)) return `${owner} conflicts with ${pkg.name} (${formatDep(dep)})`;
    }
    // ...the new package's conflicts against what is installed...
    for (const dep of pkg.depends) {
      if (!dep.conflict) continue;
      const hit = satisfiedBy(dep);
      if (hit && hit.name !== pkg.name) return `${pkg.name} conflicts with ${hit.name} (${formatDep(dep)})`;
    }
    // ...and versioned provides, which have a single owner.
    for (const p of pkg.provides) {
      if (p.version === undefined) continue;
      const other = (provided.get(p.name) ?? []).find((x) => x.version !== undefined && x.pkg.name !== pkg.name);
      if (other) return `${pkg.name} and ${other.pkg.name} both provide ${p.name}`;
    }
    return undefined;
  };

  const queue: Pending[] = [];
  const choose = (pkg: ApkPackage, chain: string[], viaInstallIf: boolean) => {
    chosen.set(pkg.name, { pkg, chain, viaInstallIf });
    const add = (name: string, version: string | undefined) => {
      const list = provided.get(name);
      if (list) list.push({ pkg, version });
      else provided.set(name, [{ pkg, version }]);
    };
    add(pkg.name, pkg.version);
    for (const p of pkg.provides) add(p.name, p.version);
    for (const dep of pkg.depends) {
      if (dep.conflict) conflicts.push({ dep, owner: pkg.name });
      else queue.push({ dep, chain: [...chain, pkg.name] });
    }
  };

  /**
   * Packages of that name and versioned provides are always eligible; a virtual (unversioned) provide
   * only with a provider_priority, or when it is the only provider of the name (as apk does for /bin/sh
   * provided by busybox alone).
   */
  const candidatesFor = (dep: Dep): Candidate[] => {
    const all = index.get(dep.name).filter((c) => !c.pkg.uninstallable && matchesDep(c, dep));
    const auto = all.filter((c) => c.direct || c.version !== undefined || c.pkg.providerPriority > 0);
    if (auto.length) return auto;
    return new Set(all.map((c) => c.pkg.name)).size === 1 ? all : [];
  };

  /** Tries to settle one pending dep; returns false when it is ambiguous and `allowAmbiguous` is off. */
  const settle = (item: Pending, allowAmbiguous: boolean): boolean => {
    const { dep, chain } = item;
    if (dep.conflict) return true;
    if (assumed.has(dep.name) && !chosen.has(dep.name)) return true;
    if (satisfiedBy(dep)) return true;
    const sameName = chosen.get(dep.name);
    let cands = candidatesFor(dep);
    if (cands.length === 0) {
      const all = index.get(dep.name);
      const label = [...chain, formatDep(dep)];
      if (all.length === 0) fail('PACKAGE_NOT_FOUND', label, `not in ${where}`, 'Check the package name, or add the repository that has it to the feed.');
      if (all.every((c) => c.pkg.uninstallable)) fail('PACKAGE_UNINSTALLABLE', label, `${all[0]!.pkg.name} is marked uninstallable (${all[0]!.pkg.uninstallable})`, 'This index uses features this version of Nexus does not understand; use an older branch or update Nexus.');
      const virtual = all.filter((c) => !c.pkg.uninstallable && c.version === undefined && !c.direct);
      if (!dep.op && virtual.length > 1) {
        fail('PACKAGE_AMBIGUOUS', label, `a virtual package provided by ${[...new Set(virtual.map((c) => c.pkg.name))].sort().join(', ')}, none preferred`, 'Add the provider you want to the Box\'s packages.');
      }
      const have = [...new Set(all.map((c) => `${c.pkg.name} ${c.version ?? '(virtual)'}`))].slice(0, 5).join(', ');
      fail('PACKAGE_VERSION_UNAVAILABLE', label, `no version matches in ${where} (available: ${have})`, 'Relax the version constraint or use a branch that has a matching version.');
    }
    if (sameName) {
      fail('PACKAGE_VERSION_CONFLICT', [...chain, formatDep(dep)], `${sameName.pkg.name} ${sameName.pkg.version} is already selected (by ${sameName.chain.join(' → ')})`, 'Two parts of the request need incompatible versions of the same package.');
    }
    const distinct = new Set(cands.map((c) => c.pkg.name));
    if (distinct.size > 1 && !allowAmbiguous) return false;
    cands = cands.sort(rank);
    const reasons: string[] = [];
    for (const c of cands) {
      if (chosen.has(c.pkg.name)) {
        reasons.push(`${c.pkg.name} ${chosen.get(c.pkg.name)!.pkg.version} is already selected`);
        continue;
      }
      const why = conflictWith(c.pkg);
      if (why) {
        reasons.push(why);
        continue;
      }
      choose(c.pkg, chain, false);
      return true;
    }
    return fail('PACKAGE_CONFLICT', [...chain, formatDep(dep)], reasons.join('; '), 'Remove one of the conflicting packages from the Box or its fragments.');
  };

  const drain = () => {
    for (;;) {
      // Settle everything that has a single candidate first, so explicit choices win over defaults.
      let progressed = true;
      while (progressed) {
        progressed = false;
        for (let i = 0; i < queue.length; ) {
          if (settle(queue[i]!, false)) {
            queue.splice(i, 1);
            progressed = true;
          } else i++;
        }
      }
      const next = queue.shift();
      if (!next) return;
      settle(next, true);
    }
  };

  for (const r of requests) queue.push({ dep: parseDep(r.dep), chain: r.from.length ? [...r.from] : ['request'] });
  drain();

  // install_if: add packages whose trigger conditions all hold, to a fixpoint (highest version per name).
  const installIfCandidates = index.installIfCandidates();
  for (let changed = true; changed; ) {
    changed = false;
    for (const p of installIfCandidates) {
      if (chosen.has(p.name)) continue;
      const trigger = p.installIf.find((d) => !d.conflict && !satisfiedBy(d));
      const blocked = p.installIf.some((d) => d.conflict && satisfiedBy(d));
      if (trigger || blocked || conflictWith(p)) continue;
      choose(p, [`install_if(${p.installIf.map(formatDep).join(' ')})`], true);
      chosen.get(p.name)!.viaInstallIf = true;
      drain();
      changed = true;
    }
  }

  const packages = [...chosen.values()].sort((a, b) => (a.pkg.name < b.pkg.name ? -1 : 1));
  return {
    packages,
    installOrder: installOrder(packages.map((r) => r.pkg), (d) => satisfiedBy(d)),
    totalSize: packages.reduce((s, r) => s + r.pkg.size, 0),
    totalInstalledSize: packages.reduce((s, r) => s + r.pkg.installedSize, 0),
  };
}

/** Topological order, dependencies first; cycles are broken by name order (apk does the same kind of thing). */
function installOrder(pkgs: ApkPackage[], provider: (d: Dep) => ApkPackage | undefined): ApkPackage[] {
  const out: ApkPackage[] = [];
  const state = new Map<string, 1 | 2>();
  const visit = (p: ApkPackage) => {
    if (state.has(p.name)) return;
    state.set(p.name, 1);
    const deps = p.depends.filter((d) => !d.conflict).map(provider).filter((x): x is ApkPackage => !!x && x.name !== p.name);
    for (const d of deps.sort((a, b) => (a.name < b.name ? -1 : 1))) visit(d);
    state.set(p.name, 2);
    out.push(p);
  };
  for (const p of pkgs) visit(p);
  return out;
}
