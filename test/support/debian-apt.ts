/**
 * Debian packages for the test feed, fetched with a private apt configuration per architecture (no change to
 * the system's apt state; ../shared/docs/testing-on-these-machines.md §7).
 *
 * The Debian mirror moves (same doc, §8): kernel ABI packages such as `linux-image-6.1.0-56-amd64` come and go
 * between point releases. Nothing here pins one: the kernel is whatever the metapackage (`linux-image-amd64`,
 * `linux-image-arm64`, `linux-image-riscv64`) depends on in the downloaded Packages index, and callers key their
 * caches on the resolved name and version. Before anything is downloaded the index is refreshed, so a name that
 * vanished from the mirror since the last `apt-get update` is never asked for.
 *
 * apt is run through an injectable runner so tests can simulate a moving mirror without network.
 */
import { execa } from 'execa';
import { existsSync } from 'node:fs';
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';

export type DebArch = 'amd64' | 'arm64' | 'riscv64';
export const DEB_SUITE: Record<DebArch, string> = { amd64: 'bookworm', arm64: 'trixie', riscv64: 'trixie' };
export const KERNEL_META: Record<DebArch, string> = { amd64: 'linux-image-amd64', arm64: 'linux-image-arm64', riscv64: 'linux-image-riscv64' };

/** Runs `apt-get <args>` (already including the private -o options) in cwd. Rejects when apt fails. */
export type AptRunner = (args: string[], opts: { cwd?: string }) => Promise<void>;

export const realAptRunner: AptRunner = async (args, opts) => {
  await execa('apt-get', args, { cwd: opts.cwd });
};

export interface AptContext {
  /** Cache root (NEXUS_TEST_DEBS): debs in <root>/<debArch>/, apt state in <root>/apt-<suite>-<debArch>/. */
  root: string;
  debArch: DebArch;
  run?: AptRunner;
}

export interface ResolvedDeb {
  name: string;
  version: string;
}

const aptDir = (ctx: AptContext) => join(ctx.root, `apt-${DEB_SUITE[ctx.debArch]}-${ctx.debArch}`);
export const debDir = (ctx: AptContext) => join(ctx.root, ctx.debArch);

async function aptOptions(ctx: AptContext): Promise<string[]> {
  const apt = aptDir(ctx);
  await mkdir(join(apt, 'lists', 'partial'), { recursive: true });
  await mkdir(join(apt, 'cache', 'archives', 'partial'), { recursive: true });
  await writeFile(
    join(apt, 'debian.sources'),
    `Types: deb\nURIs: http://deb.debian.org/debian\nSuites: ${DEB_SUITE[ctx.debArch]}\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n`,
  );
  return [
    '-o',
    'Dir::Etc::SourceList=/dev/null',
    '-o',
    `Dir::Etc::SourceParts=${apt}`,
    '-o',
    `Dir::State::Lists=${join(apt, 'lists')}`,
    '-o',
    `Dir::Cache=${join(apt, 'cache')}`,
    '-o',
    `APT::Architecture=${ctx.debArch}`,
    '-o',
    `APT::Architectures=${ctx.debArch}`,
    '-o',
    'Dir::State::status=/dev/null',
    '-o',
    'APT::Sandbox::User=root',
  ];
}

function friendly(ctx: AptContext, what: string, err: unknown): Error {
  return new Error(
    `The image tests need ${what} (${ctx.debArch}) from the Debian archive once; apt-get failed: ${String((err as Error).message).slice(0, 300)}. ` +
      'Run them once with network access, or point NEXUS_TEST_DEBS at a cache that has the .deb files.',
    { cause: err },
  );
}

/** `apt-get update` into the private lists directory. */
export async function aptUpdate(ctx: AptContext): Promise<void> {
  const opts = await aptOptions(ctx);
  try {
    await (ctx.run ?? realAptRunner)([...opts, '-q', 'update'], {});
  } catch (err) {
    throw friendly(ctx, 'the package index', err);
  }
}

/** The downloaded `*_binary-<arch>_Packages` indexes of the private lists directory (apt may keep them compressed). */
async function packagesIndexes(ctx: AptContext): Promise<string[]> {
  const lists = join(aptDir(ctx), 'lists');
  if (!existsSync(lists)) return [];
  const files = (await readdir(lists)).filter((f) => new RegExp(`_binary-${ctx.debArch}_Packages(\\.(gz|xz|lz4|zst|bz2))?$`).test(f));
  const out: string[] = [];
  for (const f of files) {
    const p = join(lists, f);
    if (f.endsWith('_Packages')) out.push(await readFile(p, 'utf8'));
    else if (f.endsWith('.gz')) out.push(gunzipSync(await readFile(p)).toString('utf8'));
    else out.push((await execa('/usr/lib/apt/apt-helper', ['cat-file', p], { maxBuffer: 1 << 30 })).stdout);
  }
  return out;
}

/** Stanzas of a Packages index, by package name (the last one wins; a suite lists each name once). */
export function parsePackages(text: string): Map<string, Record<string, string>> {
  const out = new Map<string, Record<string, string>>();
  for (const block of text.split(/\n\s*\n/)) {
    const st: Record<string, string> = {};
    let last = '';
    for (const line of block.split('\n')) {
      if (/^\s/.test(line) && last) st[last] += `\n${line.trim()}`;
      else {
        const m = /^([A-Za-z0-9-]+):\s*(.*)$/.exec(line);
        if (m) st[(last = m[1]!)] = m[2]!;
      }
    }
    if (st.Package) out.set(st.Package, st);
  }
  return out;
}

/**
 * What the metapackage depends on in the downloaded index (`linux-image-amd64` → `linux-image-6.1.0-50-amd64`),
 * with that package's version; undefined when there is no index yet or it does not list the metapackage.
 */
export async function resolveFromIndex(ctx: AptContext, meta: string): Promise<ResolvedDeb | undefined> {
  for (const text of await packagesIndexes(ctx)) {
    const pkgs = parsePackages(text);
    const m = pkgs.get(meta);
    if (!m?.Depends) continue;
    // "linux-image-6.1.0-50-amd64 (= 6.1.176-1)"; alternatives ("a | b") take the first one the index has.
    for (const clause of m.Depends.split(',')) {
      for (const alt of clause.split('|')) {
        const name = alt.trim().split(/[\s(]/)[0]!;
        if (!name.startsWith('linux-image-')) continue;
        const dep = pkgs.get(name);
        if (dep?.Version) return { name, version: dep.Version };
      }
    }
  }
  return undefined;
}

/** The metapackage's current dependency; refreshes the index when there is none yet (or `refresh`). */
export async function resolveMeta(ctx: AptContext, meta: string, refresh = false): Promise<ResolvedDeb> {
  let r = refresh ? undefined : await resolveFromIndex(ctx, meta);
  if (!r) {
    await aptUpdate(ctx);
    r = await resolveFromIndex(ctx, meta);
  }
  if (!r) throw new Error(`The Debian ${DEB_SUITE[ctx.debArch]} index (${ctx.debArch}) has no ${meta} with a linux-image dependency`);
  return r;
}

/** The current kernel ABI package of a Debian architecture (name and version), resolved from its metapackage. */
export function resolveKernel(ctx: AptContext, refresh = false): Promise<ResolvedDeb> {
  return resolveMeta(ctx, KERNEL_META[ctx.debArch], refresh);
}

/** Every stanza of the downloaded indexes, by package name, and the names each virtual package is provided by. */
async function indexPackages(ctx: AptContext): Promise<{ pkgs: Map<string, Record<string, string>>; providers: Map<string, string[]> }> {
  const pkgs = new Map<string, Record<string, string>>();
  for (const text of await packagesIndexes(ctx)) for (const [n, st] of parsePackages(text)) pkgs.set(n, st);
  const providers = new Map<string, string[]>();
  for (const [n, st] of pkgs) {
    for (const p of (st.Provides ?? '').split(',')) {
      const v = p.trim().split(/[\s(]/)[0];
      if (v) providers.set(v, [...(providers.get(v) ?? []), n]);
    }
  }
  return { pkgs, providers };
}

/**
 * `roots` and everything they need by Pre-Depends/Depends in the downloaded index (an alternative takes the first
 * choice the index has, a virtual package its first provider), each with the version the index lists now; sorted
 * by name. Undefined when there is no index yet or it lacks a root. Nothing is pinned: callers key caches on this.
 */
export async function dependencyClosure(ctx: AptContext, roots: string[]): Promise<ResolvedDeb[] | undefined> {
  const { pkgs, providers } = await indexPackages(ctx);
  if (!roots.every((r) => pkgs.has(r))) return undefined;
  const seen = new Map<string, ResolvedDeb>();
  const queue = [...roots];
  while (queue.length) {
    const n = queue.shift()!;
    const st = pkgs.get(n);
    if (!st || seen.has(n)) continue;
    seen.set(n, { name: n, version: st.Version! });
    for (const field of [st['Pre-Depends'], st.Depends]) {
      for (const clause of (field ?? '').split(',')) {
        const alts = clause
          .split('|')
          .map((a) => a.trim().split(/[\s(:]/)[0]!)
          .filter(Boolean);
        const pick = alts.find((a) => pkgs.has(a)) ?? alts.map((a) => providers.get(a)?.[0]).find(Boolean);
        if (pick) queue.push(pick);
        else if (alts.length)
          throw new Error(`The Debian ${DEB_SUITE[ctx.debArch]} index (${ctx.debArch}) has nothing for "${clause.trim()}" (needed by ${n})`);
      }
    }
  }
  return [...seen.values()].sort((a, b) => a.name.localeCompare(b.name));
}

/** apt's file-name form of a version ("1:2.3-1" → "1%3a2.3-1"). */
const debFileVersion = (v: string) => v.replace(/:/g, '%3a');

export async function cachedDeb(ctx: AptContext, name: string, version?: string): Promise<string | undefined> {
  const dir = debDir(ctx);
  if (!existsSync(dir)) return undefined;
  const files = (await readdir(dir)).filter((x) => x.startsWith(`${name}_`) && x.endsWith('.deb'));
  const f = version ? files.find((x) => x.startsWith(`${name}_${debFileVersion(version)}_`)) : files.sort().at(-1);
  return f ? join(dir, f) : undefined;
}

/**
 * .deb files for `wanted` (name, or name + exact version for resolved packages) from the cache directory, downloading
 * the missing ones. Only names the caller passes are ever asked for.
 */
export async function debs(ctx: AptContext, wanted: Array<string | ResolvedDeb>): Promise<Map<string, string>> {
  const items = wanted.map((w) => (typeof w === 'string' ? { name: w, version: undefined } : w));
  const found = new Map<string, string>();
  const look = async () => {
    for (const it of items) {
      const p = await cachedDeb(ctx, it.name, it.version);
      if (p) found.set(it.name, p);
    }
  };
  await look();
  const missing = items.filter((it) => !found.has(it.name));
  if (missing.length === 0) return found;
  await mkdir(debDir(ctx), { recursive: true });
  const opts = await aptOptions(ctx);
  const download = () =>
    (ctx.run ?? realAptRunner)([...opts, '-q', 'download', ...missing.map((it) => (it.version ? `${it.name}=${it.version}` : it.name))], { cwd: debDir(ctx) });
  try {
    await download();
  } catch (first) {
    // A stale index names a version the mirror no longer has (unversioned names such as busybox-static move too):
    // refresh once and retry.
    try {
      await aptUpdate(ctx);
      await download();
    } catch (err) {
      throw friendly(ctx, missing.map((m) => m.name).join(', '), err ?? first);
    }
  }
  await look();
  for (const it of items) if (!found.has(it.name)) throw new Error(`apt-get download ${it.name} (${ctx.debArch}) gave no .deb`);
  return found;
}

/**
 * The kernel a feed is built with: the downloaded index's current choice when a feed built for it exists
 * (`isBuilt`) or its .deb is cached (both work offline); otherwise the index is refreshed first and resolved
 * again, so a kernel that vanished from the mirror since the last update is never asked for.
 */
export async function kernelForFeed(ctx: AptContext, isBuilt: (k: ResolvedDeb) => boolean): Promise<ResolvedDeb> {
  const k = await resolveFromIndex(ctx, KERNEL_META[ctx.debArch]);
  if (k && (isBuilt(k) || (await cachedDeb(ctx, k.name, k.version)))) return k;
  return resolveKernel(ctx, true);
}

export interface FeedDebs {
  kernel: ResolvedDeb;
  /** The dependency closure of the extra roots asked for (empty when none). */
  closure: ResolvedDeb[];
}

/**
 * The kernel and the dependency closure of `roots` a feed is built with, resolved together from one index: the
 * downloaded index's current choice when a feed built for it exists (`isBuilt`) or every .deb is cached (both work
 * offline); otherwise the index is refreshed first and everything resolved again.
 */
export async function resolveForFeed(ctx: AptContext, roots: string[], isBuilt: (r: FeedDebs) => boolean): Promise<FeedDebs> {
  const fromIndex = async (): Promise<FeedDebs | undefined> => {
    const kernel = await resolveFromIndex(ctx, KERNEL_META[ctx.debArch]);
    const closure = roots.length ? await dependencyClosure(ctx, roots) : [];
    return kernel && closure ? { kernel, closure } : undefined;
  };
  const current = await fromIndex();
  if (current) {
    if (isBuilt(current)) return current;
    let cached = true;
    for (const d of [current.kernel, ...current.closure]) if (!(await cachedDeb(ctx, d.name, d.version))) cached = false;
    if (cached) return current;
  }
  await aptUpdate(ctx);
  const fresh = await fromIndex();
  if (!fresh) throw new Error(`The Debian ${DEB_SUITE[ctx.debArch]} index (${ctx.debArch}) lacks ${KERNEL_META[ctx.debArch]} or one of ${roots.join(', ')}`);
  return fresh;
}
