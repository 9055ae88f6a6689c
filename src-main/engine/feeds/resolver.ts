/**
 * Dependency resolution: from requested names to the full package closure, deterministic, choosing what
 * apk-tools chooses (checked against apk's own solver suite, test/unit/feeds/apk-solver-suite.test.ts).
 *
 * One attempt is greedy: dependencies with a single candidate package are settled first, then install_if
 * rules that hold, then ambiguous dependencies in request order, each by apk's provider ranking (see
 * `compareCandidates`). When an attempt fails, the resolver backtracks: it re-runs with another alternative
 * at the latest choice point that chose a package involved in the failure (the failing dependency's chain
 * or the conflicting packages), up to MAX_ATTEMPTS; if none succeeds, the first attempt's error is thrown.
 *
 * apk rules honoured here: a virtual (unversioned) provide without provider_priority is only used when
 * its package is wanted anyway (else the user must choose: PACKAGE_AMBIGUOUS); a name provided by two
 * packages conflicts unless both provide it without a version; packages of a tagged repository are only
 * taken for `name@tag` and, by inheritance, for the dependencies of packages taken that way.
 */
import { NexusError } from '../../../src-shared/errors';
import type { ApkIndex, ApkPackage } from './apkindex';
import { formatDep, parseDep, type Dep } from './deps';
import { limits } from './limits';
import { compareVersions, isValidVersion, satisfies } from './version';

export interface PackageRequest {
  /** Dependency token: "busybox", "so:libc.musl-x86_64.so.1", "foo>=1.2", "toybox@testing". */
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
  /** Tag of the repository the package came from (`@testing`), undefined for untagged ones. */
  tag?: string;
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
  repoOrder: number;
  /** Position in the indexes: apk's last tie-break after the repository. */
  seq: number;
}

/** name → everything that provides it. Built once per set of indexes. */
export class ProviderIndex {
  readonly providers = new Map<string, Candidate[]>();
  readonly installIfPackages: ApkPackage[] = [];
  readonly repos: ApkIndex['repo'][];
  /** Tags of the repositories the packages come from. */
  readonly tags = new Set<string>();
  private readonly broken = new Map<ApkPackage, string | null>();

  constructor(indexes: ApkIndex[]) {
    this.repos = indexes.map((i) => i.repo);
    let seq = 0;
    indexes.forEach((index, repoOrder) => {
      const seen = new Set<string>();
      for (const pkg of index.packages) {
        // apk identifies a package by its C: hash: a second stanza with the same one is the same package.
        const id = identity(pkg.checksum);
        if (id) {
          if (seen.has(id)) continue;
          seen.add(id);
        }
        if (pkg.repo.tag !== undefined) this.tags.add(pkg.repo.tag);
        this.add(pkg.name, { pkg, version: pkg.version, repoOrder, seq });
        for (const p of pkg.provides) this.add(p.name, { pkg, version: p.version, repoOrder, seq });
        if (pkg.installIf.length) this.installIfPackages.push(pkg);
        seq++;
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

  /** Why apk would never install this package ("is built for badarch"), or null. Memoized. */
  brokenReason(pkg: ApkPackage): string | null {
    let why = this.broken.get(pkg);
    if (why === undefined) {
      why = findBrokenReason(pkg);
      this.broken.set(pkg, why);
    }
    return why;
  }

  private installIfIndex?: { versions: Map<string, ApkPackage[]>; watchers: Map<string, string[]>; unconditional: string[] };

  /** Install_if packages by name (versions highest first), and by the names their rules wait for. */
  private installIf(): NonNullable<ProviderIndex['installIfIndex']> {
    if (!this.installIfIndex) {
      const versions = new Map<string, ApkPackage[]>();
      const watchers = new Map<string, string[]>();
      const unconditional: string[] = [];
      for (const p of this.installIfPackages) {
        const list = versions.get(p.name);
        if (list) list.push(p);
        else versions.set(p.name, [p]);
        const triggers = p.installIf.filter((d) => !d.conflict);
        if (triggers.length === 0) unconditional.push(p.name);
        for (const d of triggers) {
          const w = watchers.get(d.name);
          if (!w) watchers.set(d.name, [p.name]);
          else if (!w.includes(p.name)) w.push(p.name);
        }
      }
      for (const list of versions.values()) list.sort((a, b) => compareVersions(b.version, a.version));
      this.installIfIndex = { versions, watchers, unconditional };
    }
    return this.installIfIndex;
  }

  /** Versions (highest first) of the install_if package `name`. */
  installIfVersions(name: string): ApkPackage[] {
    return this.installIf().versions.get(name) ?? [];
  }

  /** Names of install_if packages whose rule mentions `name` (to re-check when something provides it). */
  installIfWatchers(name: string): readonly string[] {
    return this.installIf().watchers.get(name) ?? [];
  }

  /** Install_if packages whose rule has only `!name` conditions. */
  installIfUnconditional(): readonly string[] {
    return this.installIf().unconditional;
  }
}

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

/**
 * The hash a `Q1…=` checksum decodes to, as a string. The last base64 digit of a 20-byte value carries two
 * padding bits that decoders ignore; encoders write them as zero, so only a hand-made value (apk's suite has
 * two) needs them cleared. Real checksums come back unchanged, without allocating.
 */
function identity(checksum: string): string {
  if (checksum.length !== 30 || checksum.charCodeAt(29) !== 61 /* = */) return checksum;
  const last = B64.indexOf(checksum.charAt(28));
  return last < 0 || (last & 3) === 0 ? checksum : `${checksum.slice(0, 28)}${B64.charAt(last & 0x3c)}=`;
}

function findBrokenReason(pkg: ApkPackage): string | null {
  if (pkg.uninstallable) return `is marked uninstallable (${pkg.uninstallable})`;
  if (pkg.arch !== pkg.repo.arch && pkg.arch !== 'noarch') return `is built for ${pkg.arch}, not ${pkg.repo.arch}`;
  const tagged = [...pkg.depends, ...pkg.installIf].find((d) => d.tag !== undefined);
  if (tagged) return `has an invalid dependency (${formatDep(tagged)}: an index may not name a repository tag)`;
  // apk lets several packages share a name only when none gives it a version; a package's own name counts.
  const seen = new Map<string, string | undefined>([[pkg.name, pkg.version]]);
  for (const p of pkg.provides) {
    if (seen.has(p.name)) return `provides ${p.name} twice (a name may only have one versioned provider)`;
    seen.set(p.name, p.version);
  }
  return null;
}

function matchesDep(c: { pkg: ApkPackage; version: string | undefined }, dep: Dep): boolean {
  if (!dep.op) return true;
  if (dep.op === '><') return c.pkg.checksum === dep.version;
  if (c.version === undefined) return false; // virtual provides never satisfy versioned deps
  return satisfies(c.version, dep.op, dep.version ?? '');
}

interface Selection {
  pkg: ApkPackage;
  chain: string[];
  viaInstallIf: boolean;
  /** Repository tags this package's dependencies may use (inherited from whoever asked for it). */
  allowed: Set<string>;
}

interface Pending {
  dep: Dep;
  chain: string[];
  /** The package that depends on `dep`; undefined for a request. */
  parent: Selection | undefined;
}

/** One decision with alternatives: the attempt took alternative `taken`, which selected package `name`. */
interface ChoicePoint {
  alternatives: number;
  taken: number;
  name: string;
}

/** Why an attempt failed, and which package names could be changed to avoid it. */
class Failure {
  constructor(
    readonly error: NexusError,
    readonly culprits: string[],
  ) {}
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

/** Re-runs allowed after the first failed attempt; real closures rarely need more than one or two. */
const MAX_ATTEMPTS = 100;

const NO_TAGS: ReadonlySet<string> = new Set();

function describe(index: ProviderIndex, opts: ResolveOptions): string {
  if (opts.describeRepos) return opts.describeRepos;
  const r = index.repos;
  const [first] = r;
  if (!first) return 'any configured repository';
  return `${r.map((x) => `${x.tag ? `@${x.tag} ` : ''}${x.arch}/${x.name}`).join(', ')} of ${first.branch}`;
}

/** Parses the requests, refusing tokens apk refuses ("foo=", "foo==", "foo=invalid"). */
function parseRequests(requests: PackageRequest[]): Pending[] {
  return requests.map((r) => {
    const dep = parseDep(r.dep);
    const chain = r.from.length ? [...r.from] : ['request'];
    const badVersion = dep.op !== undefined && (dep.op === '><' ? !dep.version : !isValidVersion(dep.version ?? ''));
    if (!dep.name || dep.tag === '' || badVersion) {
      throw new NexusError(
        'PACKAGE_INVALID_DEPENDENCY',
        `${chain.join(' → ')}: "${r.dep}" is not a valid dependency (name[@tag][<>=~]version)`,
        'Fix the package name or version constraint.',
      );
    }
    return { dep, chain, parent: undefined };
  });
}

export function resolvePackages(indexes: ApkIndex[] | ProviderIndex, requests: PackageRequest[], opts: ResolveOptions = {}): Resolution {
  const index = indexes instanceof ProviderIndex ? indexes : new ProviderIndex(indexes);
  const parsed = parseRequests(requests);
  // apk would quietly use the untagged repositories for an unknown tag; for an image a typo must not pass.
  const unknownTag = parsed.find((p) => p.dep.tag !== undefined && !index.tags.has(p.dep.tag));
  if (unknownTag) {
    throw new NexusError(
      'PACKAGE_NOT_FOUND',
      `${[...unknownTag.chain, formatDep(unknownTag.dep)].join(' → ')}: no repository tagged @${unknownTag.dep.tag} in ${describe(index, opts)}`,
      'Add the tagged repository to the feed, or fix the tag.',
    );
  }
  let attempt = new Attempt(index, opts, []);
  let out = attempt.run(parsed);
  if (!(out instanceof Failure)) return out;
  // The first failure is the one reported: later attempts only explore alternatives.
  const first = out;
  const culprits = new Set<string>();
  for (let run = 1; ; run++) {
    // Backjump: only a choice that selected a package involved in some failure can help.
    for (const c of out.culprits) culprits.add(c);
    const k = attempt.points.findLastIndex((p) => p.taken + 1 < p.alternatives && culprits.has(p.name));
    const point = attempt.points[k];
    if (!point || run >= MAX_ATTEMPTS) break;
    attempt = new Attempt(index, opts, [...attempt.points.slice(0, k).map((p) => p.taken), point.taken + 1]);
    out = attempt.run(parsed);
    if (!(out instanceof Failure)) return out;
  }
  throw first.error;
}

type Mode = 'forced' | 'ambiguous' | 'final';

/** One greedy pass over the requests, taking alternative `decisions[k]` at the k-th choice point. */
class Attempt {
  readonly points: ChoicePoint[] = [];
  private readonly chosen = new Map<string, Selection>(); // by package name
  private readonly provided = new Map<string, Array<{ version: string | undefined; sel: Selection }>>();
  private readonly conflicts: Array<{ dep: Dep; owner: Selection | undefined; chain: string[] }> = [];
  private readonly queue: Pending[] = [];
  /** Names something depends on: apk auto-selects a virtual provider without priority only when its own name is wanted. */
  private readonly required = new Set<string>();
  private readonly installIfDecided = new Set<string>();
  /** Install_if names to check: one of the names their rule waits for was provided since the last check. */
  private readonly installIfDirty: Set<string>;
  private readonly assumed: Set<string>;
  private readonly where: string;

  constructor(
    private readonly index: ProviderIndex,
    opts: ResolveOptions,
    private readonly decisions: number[],
  ) {
    this.assumed = new Set(opts.assumeProvided ?? []);
    this.where = describe(index, opts);
    this.installIfDirty = new Set(index.installIfUnconditional());
  }

  run(requests: Pending[]): Resolution | Failure {
    try {
      for (const r of requests) {
        if (r.dep.conflict) this.conflicts.push({ dep: r.dep, owner: undefined, chain: r.chain });
        else this.enqueue(r);
      }
      for (;;) {
        this.pass('forced');
        if (this.applyInstallIf()) continue;
        if (this.pass('ambiguous')) continue;
        if (!this.pass('final')) break;
      }
      return this.result();
    } catch (e) {
      if (e instanceof Failure) return e;
      throw e;
    }
  }

  private enqueue(p: Pending): void {
    this.required.add(p.dep.name);
    this.queue.push(p);
  }

  private fail(code: string, chain: string[], message: string, hint: string, culprits: string[]): never {
    throw new Failure(new NexusError(code, `${chain.join(' → ')}: ${message}`, hint), culprits);
  }

  /**
   * Settles queued deps. 'forced' settles every dep that has one candidate package (several versions of
   * it are alternatives); 'ambiguous' settles the first dep it can, 'final' also the virtual ones nobody
   * chose (which fail). Returns whether anything was settled.
   */
  private pass(mode: Mode): boolean {
    // One scan suffices for 'forced': choices only add candidates to a deferred dep, never make it forced.
    let progressed = false;
    let i = 0;
    for (let p = this.queue[i]; p; p = this.queue[i]) {
      if (!this.settle(p, mode)) {
        i++;
        continue;
      }
      this.queue.splice(i, 1);
      progressed = true;
      if (mode !== 'forced') return true;
    }
    return progressed;
  }

  /** Returns false when the dep must wait (ambiguous in 'forced' mode, or no auto-selectable provider yet). */
  private settle(p: Pending, mode: Mode): boolean {
    const { dep, chain } = p;
    if (this.assumed.has(dep.name) && !this.chosen.has(dep.name)) return true;
    const by = this.satisfiedBy(dep);
    if (by) {
      this.inherit(by, p);
      return true;
    }
    const sameName = this.chosen.get(dep.name);
    if (sameName) {
      this.fail(
        'PACKAGE_VERSION_CONFLICT',
        [...chain, formatDep(dep)],
        `${sameName.pkg.name} ${sameName.pkg.version} is already selected (by ${sameName.chain.join(' → ')})`,
        'Two parts of the request need incompatible versions of the same package.',
        [...chain, ...sameName.chain, sameName.pkg.name],
      );
    }
    const all = this.candidates(p);
    if (all.length === 0) this.failNoCandidate(p);
    const auto = all.filter((c) => c.version !== undefined || c.pkg.providerPriority > 0 || this.required.has(c.pkg.name));
    if (auto.length === 0) {
      if (mode !== 'final') return false;
      const names = [...new Set(all.map((c) => c.pkg.name))].sort().join(', ');
      this.fail(
        'PACKAGE_AMBIGUOUS',
        [...chain, formatDep(dep)],
        `a virtual package provided by ${names}, none preferred`,
        "Add the provider you want to the Box's packages.",
        chain,
      );
    }
    if (mode === 'forced' && new Set(auto.map((c) => c.pkg.name)).size > 1) return false;
    const viable = this.withoutClashes(auto, p);
    const ranked = viable.length > 1 ? this.rank(viable, p) : viable;
    const pick = this.decide(ranked, (c) => c.pkg.name);
    this.choose(pick.pkg, chain, false, new Set(this.allowedFor(p)));
    return true;
  }

  /** The candidates that fit the selection; fails with every clash (and the packages behind them) when none does. */
  private withoutClashes(cands: Candidate[], p: Pending): Candidate[] {
    const reasons: string[] = [];
    const culprits = [...p.chain];
    const viable = cands.filter((c) => {
      const other = this.chosen.get(c.pkg.name);
      const why = other ? { reason: `${c.pkg.name} ${other.pkg.version} is already selected`, with: [other] } : this.conflictWith(c.pkg);
      if (why) {
        reasons.push(why.reason);
        for (const s of why.with) culprits.push(...s.chain, s.pkg.name);
      }
      return !why;
    });
    if (viable.length === 0) {
      this.fail(
        'PACKAGE_CONFLICT',
        [...p.chain, formatDep(p.dep)],
        [...new Set(reasons)].join('; '),
        'Remove one of the conflicting packages from the Box or its fragments.',
        culprits,
      );
    }
    return viable;
  }

  /** The alternative to take; records a choice point when there is more than one. */
  private decide<T>(alternatives: readonly T[], nameOf: (taken: T) => string): T {
    const count = alternatives.length;
    const taken = count < 2 ? 0 : Math.min(this.decisions[this.points.length] ?? 0, count - 1);
    const option = alternatives[taken];
    if (option === undefined) throw new NexusError('INTERNAL', 'The package resolver was asked to choose among no alternatives (a bug in Nexus).');
    if (count > 1) this.points.push({ alternatives: count, taken, name: nameOf(option) });
    return option;
  }

  /** Repository tags a dep may use: the request's own tag, or whatever its parent package may use. */
  private allowedFor(p: Pending): ReadonlySet<string> {
    if (p.parent) return p.parent.allowed;
    return p.dep.tag ? new Set([p.dep.tag]) : NO_TAGS;
  }

  /** A package wanted again from elsewhere gains that requester's tags for its own (still queued) deps. */
  private inherit(sel: Selection, p: Pending): void {
    for (const t of this.allowedFor(p)) sel.allowed.add(t);
  }

  private candidates(p: Pending): Candidate[] {
    const allowed = this.allowedFor(p);
    return this.index.get(p.dep.name).filter((c) => tagOk(c.pkg, allowed) && !this.index.brokenReason(c.pkg) && matchesDep(c, p.dep));
  }

  /**
   * apk's preference among providers of one name, best first: fewer unmet constraints from the other
   * queued deps on that name, the preferred repository (a request's own tag, else untagged), the
   * provided version, the package version (same package name), provider_priority, repository order,
   * then index position.
   */
  private rank(cands: Candidate[], p: Pending): Candidate[] {
    const others = this.queue.filter((q) => q !== p && q.dep.name === p.dep.name);
    const preferred = p.parent ? undefined : p.dep.tag;
    return cands
      .map((c) => ({ c, unmet: others.filter((q) => !matchesDep(c, q.dep)).length }))
      .sort((a, b) => a.unmet - b.unmet || compareCandidates(a.c, b.c, preferred))
      .map(({ c }) => c);
  }

  private satisfiedBy(dep: Dep): Selection | undefined {
    for (const { version, sel } of this.provided.get(dep.name) ?? []) {
      // A virtual name only install_if pulled in does not count: apk asks the user to choose (provides14).
      if (sel.viaInstallIf && version === undefined && sel.pkg.providerPriority === 0 && sel.pkg.name !== dep.name) continue;
      if (matchesDep({ pkg: sel.pkg, version }, dep)) return sel;
    }
    return undefined;
  }

  /** Why `pkg` cannot join the selection, with the selected packages it clashes with. */
  private conflictWith(pkg: ApkPackage): { reason: string; with: Selection[] } | undefined {
    const names: Array<[string, string | undefined]> = [[pkg.name, pkg.version], ...pkg.provides.map((p): [string, string | undefined] => [p.name, p.version])];
    // Existing conflict rules (requests' `!name` and selected packages' `!name` deps) against the new package's names...
    for (const { dep, owner, chain } of this.conflicts) {
      if (owner?.pkg.name === pkg.name) continue;
      for (const [n, v] of names) {
        if (n === dep.name && matchesDep({ pkg, version: v }, dep)) {
          return { reason: `${owner ? owner.pkg.name : chain.join(' → ')} conflicts with ${pkg.name} (${formatDep(dep)})`, with: owner ? [owner] : [] };
        }
      }
    }
    // ...the new package's conflicts against what is selected...
    for (const dep of pkg.depends) {
      if (!dep.conflict) continue;
      const hit = this.providerOf(dep);
      if (hit && hit.pkg.name !== pkg.name) return { reason: `${pkg.name} conflicts with ${hit.pkg.name} (${formatDep(dep)})`, with: [hit] };
    }
    // ...and names it would share with a selected package, allowed only when neither has a version.
    for (const [n, v] of names) {
      for (const other of this.provided.get(n) ?? []) {
        if (other.sel.pkg.name === pkg.name || (v === undefined && other.version === undefined)) continue;
        return { reason: `${pkg.name} and ${other.sel.pkg.name} both provide ${n}`, with: [other.sel] };
      }
    }
    return undefined;
  }

  /** Any selected provider matching dep, ignoring its `!` (including install_if ones): for conflict checks. */
  private providerOf(dep: Dep): Selection | undefined {
    for (const { version, sel } of this.provided.get(dep.name) ?? []) if (matchesDep({ pkg: sel.pkg, version }, dep)) return sel;
    return undefined;
  }

  private choose(pkg: ApkPackage, chain: string[], viaInstallIf: boolean, allowed: Set<string>): void {
    // Bounds, as plain errors (no backtracking can help): chains are copied per package, so depth × packages is the cost.
    if (chain.length >= limits.dependencyDepth) {
      const shown = [...chain.slice(0, 3), `… ${chain.length - 5} more …`, ...chain.slice(-2), pkg.name];
      throw new NexusError(
        'DEPENDENCY_TOO_DEEP',
        `${shown.join(' → ')}: the dependency chain is more than ${limits.dependencyDepth} packages deep; refusing to follow it (real Alpine chains are under 30).`,
        'The index is malformed or hostile; use another mirror or branch.',
      );
    }
    if (this.chosen.size >= limits.resolvedPackages) {
      throw new NexusError(
        'RESOLUTION_TOO_LARGE',
        `${[...chain, pkg.name].slice(0, 4).join(' → ')}: the package set grew beyond ${limits.resolvedPackages} packages; refusing to go on.`,
        "The index is malformed or hostile, or the Box asks for far too much; check the Box's packages and the mirror.",
      );
    }
    const sel: Selection = { pkg, chain, viaInstallIf, allowed };
    this.chosen.set(pkg.name, sel);
    const add = (name: string, version: string | undefined) => {
      const list = this.provided.get(name);
      if (list) list.push({ version, sel });
      else this.provided.set(name, [{ version, sel }]);
      for (const w of this.index.installIfWatchers(name)) this.installIfDirty.add(w);
    };
    add(pkg.name, pkg.version);
    for (const p of pkg.provides) add(p.name, p.version);
    const childChain = [...chain, pkg.name];
    for (const dep of pkg.depends) {
      if (dep.conflict) this.conflicts.push({ dep, owner: sel, chain });
      else this.enqueue({ dep, chain: childChain, parent: sel });
    }
  }

  /**
   * Adds the first (by name) package whose install_if rule holds, taking its highest installable version;
   * its other versions and "not at all" are the alternatives for backtracking. Returns whether it added one.
   */
  private applyInstallIf(): boolean {
    // Insertion order: deterministic, and sorting a large dirty set on every call costs more than the rest.
    for (const name of this.installIfDirty) {
      // Not holding now means waiting for another name: choose() marks it dirty again when that comes.
      this.installIfDirty.delete(name);
      if (this.installIfDecided.has(name) || this.chosen.has(name)) continue;
      const options: Array<{ pkg: ApkPackage; allowed: Set<string> }> = [];
      for (const pkg of this.index.installIfVersions(name)) {
        const allowed = this.triggeredBy(pkg);
        if (allowed && tagOk(pkg, allowed) && !this.index.brokenReason(pkg) && !this.conflictWith(pkg)) options.push({ pkg, allowed });
      }
      if (options.length === 0) continue;
      this.installIfDecided.add(name);
      const choice = this.decide([...options, null], () => name);
      if (choice === null) return true; // backtracked to "leave it out"
      const { pkg, allowed } = choice;
      this.choose(pkg, [`install_if(${pkg.installIf.map(formatDep).join(' ')})`], true, allowed);
      return true;
    }
    return false;
  }

  /** The tags the packages that trigger pkg's install_if may use (its own allowance), or null when it does not hold. */
  private triggeredBy(pkg: ApkPackage): Set<string> | null {
    const allowed = new Set<string>();
    for (const d of pkg.installIf) {
      const hit = d.conflict ? undefined : this.satisfiedBy(d);
      if (d.conflict ? this.providerOf(d) : !hit) return null;
      if (hit) for (const t of hit.allowed) allowed.add(t);
    }
    return allowed;
  }

  private failNoCandidate(p: Pending): never {
    const { dep, chain } = p;
    const label = [...chain, formatDep(dep)];
    const all = this.index.get(dep.name);
    const [first] = all;
    if (!first) this.fail('PACKAGE_NOT_FOUND', label, `not in ${this.where}`, 'Check the package name, or add the repository that has it to the feed.', chain);
    const installable = all.filter((c) => !this.index.brokenReason(c.pkg));
    if (installable.length === 0) {
      const pkg = first.pkg;
      this.fail(
        'PACKAGE_UNINSTALLABLE',
        label,
        `${pkg.name} ${this.index.brokenReason(pkg)}`,
        'This index entry cannot be installed here; use another branch or update Nexus.',
        chain,
      );
    }
    const allowed = this.allowedFor(p);
    const masked = installable.find((c) => !tagOk(c.pkg, allowed) && matchesDep(c, dep));
    const note = masked
      ? `; ${masked.pkg.name} ${masked.pkg.version} is only in the repository tagged @${masked.pkg.repo.tag} (ask for ${dep.name}@${masked.pkg.repo.tag})`
      : '';
    const usable = installable.filter((c) => tagOk(c.pkg, allowed));
    if (usable.length === 0)
      this.fail('PACKAGE_NOT_FOUND', label, `not in ${this.where}${note}`, 'Ask for the package with the tag of the repository that has it.', chain);
    const have = [...new Set(usable.map((c) => `${c.pkg.name} ${c.version ?? '(virtual)'}`))].slice(0, 5).join(', ');
    return this.fail(
      'PACKAGE_VERSION_UNAVAILABLE',
      label,
      `no version matches in ${this.where} (available: ${have})${note}`,
      'Relax the version constraint or use a branch that has a matching version.',
      chain,
    );
  }

  private result(): Resolution {
    const packages = [...this.chosen.values()]
      .sort((a, b) => (a.pkg.name < b.pkg.name ? -1 : 1))
      .map(({ pkg, chain, viaInstallIf }): ResolvedPackage => (pkg.repo.tag ? { pkg, chain, viaInstallIf, tag: pkg.repo.tag } : { pkg, chain, viaInstallIf }));
    return {
      packages,
      installOrder: installOrder(
        packages.map((r) => r.pkg),
        (d) => this.providerOf(d)?.pkg,
      ),
      totalSize: packages.reduce((s, r) => s + r.pkg.size, 0),
      totalInstalledSize: packages.reduce((s, r) => s + r.pkg.installedSize, 0),
    };
  }
}

function tagOk(pkg: ApkPackage, allowed: ReadonlySet<string>): boolean {
  return pkg.repo.tag === undefined || allowed.has(pkg.repo.tag);
}

/** apk's provider order without the solver-state criteria; < 0 when a is better. */
function compareCandidates(a: Candidate, b: Candidate, preferredTag: string | undefined): number {
  const prefA = a.pkg.repo.tag === preferredTag;
  const prefB = b.pkg.repo.tag === preferredTag;
  if (prefA !== prefB) return prefA ? -1 : 1;
  if (a.version !== undefined && b.version !== undefined) {
    const c = compareVersions(b.version, a.version);
    if (c !== 0) return c;
  }
  if (a.pkg.name === b.pkg.name) {
    const v = compareVersions(b.pkg.version, a.pkg.version);
    if (v !== 0) return v;
  }
  if (a.pkg.providerPriority !== b.pkg.providerPriority) return b.pkg.providerPriority - a.pkg.providerPriority;
  if (a.repoOrder !== b.repoOrder) return a.repoOrder - b.repoOrder;
  // Real indexes are sorted by name, so this is apk's index order and stays stable if an index is shuffled.
  if (a.pkg.name !== b.pkg.name) return a.pkg.name < b.pkg.name ? -1 : 1;
  return a.seq - b.seq;
}

/**
 * Topological order, dependencies first; cycles are broken by name order (apk does the same kind of thing).
 * An explicit stack, not recursion: a long dependency chain from a hostile index must not overflow the call stack.
 */
function installOrder(pkgs: ApkPackage[], provider: (d: Dep) => ApkPackage | undefined): ApkPackage[] {
  const out: ApkPackage[] = [];
  const seen = new Set<string>();
  const depsOf = (p: ApkPackage) =>
    p.depends
      .filter((d) => !d.conflict)
      .map(provider)
      .filter((x): x is ApkPackage => !!x && x.name !== p.name)
      .sort((a, b) => (a.name < b.name ? -1 : 1));
  for (const root of pkgs) {
    if (seen.has(root.name)) continue;
    seen.add(root.name);
    const stack: Array<{ pkg: ApkPackage; deps: ApkPackage[]; next: number }> = [{ pkg: root, deps: depsOf(root), next: 0 }];
    for (let top = stack.at(-1); top; top = stack.at(-1)) {
      const d = top.deps[top.next++];
      if (d === undefined) {
        stack.pop();
        out.push(top.pkg);
      } else if (!seen.has(d.name)) {
        seen.add(d.name);
        stack.push({ pkg: d, deps: depsOf(d), next: 0 });
      }
    }
  }
  return out;
}
