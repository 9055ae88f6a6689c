/**
 * (box, arch, board, fragments, customization) → a canonical BuildPlan. Pure given the catalog:
 * the same request always gives the same plan and the same plan hash.
 */
import { pbkdf2Sync } from 'node:crypto';
import { join, resolve as resolvePath } from 'node:path';
import { boardGuide } from '../../../src-shared/board-guide';
import { ALPINE_ARCH, ARCHES, OPENBSD_ARCH, normalizeArch, type Arch } from '../../../src-shared/arch';
import { AlpineBranch, type Board, type Box, type Catalog, type Feed, type Fragment, type ServiceSpec } from '../../../src-shared/catalog';
import { CustomizationSchema } from '../../../src-shared/customization';
import { NexusError } from '../../../src-shared/errors';
import {
  ComposePlanSchema,
  OfficialPlanSchema,
  PLAN_SCHEMA_VERSION,
  composeOutputs,
  officialOutputs,
  type BuildPlan,
  type BuildRequest,
  type ComposePlan,
  type FeedPlan,
  type OfficialPlan,
  type OfficialRelease,
  type PlanCommon,
} from '../../../src-shared/plan';
import { didYouMean } from '../../../src-shared/suggest';
import { hashCanonical } from './canonical';
import { planPartitions } from './partitions';

export interface ResolveOptions {
  /** Base directory for relative outputs (default: process.cwd()). */
  cwd?: string;
}

function pickBoxAndTarget(catalog: Catalog, req: BuildRequest): { box: Box; arch: Arch; board: Board } {
  const box = catalog.boxes.get(req.profile);
  if (!box) {
    throw new NexusError(
      'UNKNOWN_BOX',
      `There is no Box called "${req.profile}".`,
      `${didYouMean(req.profile, [...catalog.boxes.keys()])}Run "nexus build --list-profiles" to see them all.`,
    );
  }
  let arch: Arch | undefined;
  if (req.arch !== undefined) {
    arch = normalizeArch(req.arch);
    if (!arch) throw new NexusError('UNKNOWN_ARCH', `"${req.arch}" is not an architecture Nexus builds for.`, `Use one of: ${ARCHES.join(', ')}.`);
  }
  let board: Board | undefined;
  if (req.target !== undefined) {
    board = catalog.boards.get(req.target);
    if (!board)
      throw new NexusError(
        'UNKNOWN_BOARD',
        `There is no board called "${req.target}".`,
        `${didYouMean(req.target, [...catalog.boards.keys()])}Boards: ${[...catalog.boards.keys()].join(', ')}.`,
      );
    if (arch && board.arch !== arch) {
      const alternatives = [...catalog.boards.values()].filter((b) => b.arch === arch).map((b) => b.name);
      throw new NexusError(
        'BOARD_ARCH_MISMATCH',
        `${board.title} (${board.name}) is ${board.arch}, not ${arch}.`,
        `Use --arch=${board.arch}, or for ${arch} choose --target=${alternatives.join(' or --target=')}.`,
      );
    }
    arch = board.arch;
  }
  arch ??= box.architectures[0];
  if (!arch || !box.architectures.includes(arch)) {
    throw new NexusError(
      'ARCH_UNSUPPORTED',
      `${box.name} is not available for ${arch ?? 'any architecture'}.`,
      `${box.name} supports ${box.architectures.join(', ')}.`,
    );
  }
  if (!board) {
    board = catalog.boards.get(`qemu-${arch}`);
    if (!board) throw new NexusError('UNKNOWN_BOARD', `No default board for ${arch}.`, 'Name one with --target.');
  }
  return { box, arch, board };
}

/** Fragments in application order: each one's requirements first, no duplicates. */
export function expandFragments(catalog: Catalog, names: readonly string[]): Fragment[] {
  const out: Fragment[] = [];
  const visit = (name: string, via: string[]) => {
    if (out.some((f) => f.name === name)) return;
    if (via.includes(name))
      throw new NexusError('CATALOG_CYCLE', `Fragment requirements form a cycle: ${[...via, name].join(' → ')}.`, 'Remove one of the "requires" entries.');
    const f = catalog.fragments.get(name);
    if (!f) {
      const known = [...catalog.fragments.keys()];
      throw new NexusError(
        'UNKNOWN_FRAGMENT',
        `There is no fragment called "${name}"${via.length ? ` (required by ${via.at(-1)})` : ''}.`,
        `${didYouMean(name, known)}Fragments: ${known.join(', ')}.`,
      );
    }
    for (const r of f.requires) visit(r, [...via, name]);
    out.push(f);
  };
  for (const n of names) visit(n, []);
  return out;
}

/** For each list entry of the merged Box, which layer of the chain contributed it (honouring resets). */
function layerOrigins(catalog: Catalog, chain: string[], field: 'packages' | 'services' | 'files', key: (item: unknown) => string): Map<string, string> {
  const origins = new Map<string, string>();
  for (const layer of chain) {
    const list = catalog.rawBoxes.get(layer)?.[field];
    if (!Array.isArray(list)) continue;
    if (list.length === 0) origins.clear();
    for (const item of list) if (!origins.has(key(item))) origins.set(key(item), `box:${layer}`);
  }
  return origins;
}

class Collector<T> {
  readonly items = new Map<string, { value: T; from: string[] }>();
  add(key: string, value: T, from: string, replace = false) {
    const cur = this.items.get(key);
    if (!cur) this.items.set(key, { value, from: [from] });
    else {
      if (!cur.from.includes(from)) cur.from.push(from);
      if (replace) cur.value = value;
    }
  }
}

const serviceName = (s: unknown) => (typeof s === 'string' ? s : ((s as { name?: string })?.name ?? ''));
const normalizeService = (s: ServiceSpec) => ({ type: 'process' as const, dependsOn: [] as string[], ...s });

export function resolvePlan(catalog: Catalog, req: BuildRequest, options: ResolveOptions = {}): BuildPlan {
  const { box, arch, board } = pickBoxAndTarget(catalog, req);
  const chain = [
    ...(function* () {
      let b: Box | undefined = box;
      const names: string[] = [];
      while (b) {
        names.unshift(b.name);
        b = b.extends ? catalog.boxes.get(b.extends) : undefined;
      }
      yield* names;
    })(),
  ];
  const fragments = expandFragments(catalog, req.fragments ?? box.defaultFragments);
  const parsed = CustomizationSchema.safeParse({ hostname: box.name, ...(req.customization ?? {}) });
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.') || 'customization'}: ${i.message}`);
    throw new NexusError('INVALID_CUSTOMIZATION', `The customization is not valid: ${problems.join('; ')}.`, 'Correct the fields named above.');
  }
  const customization = parsed.data;
  const official = box.recipe === 'official-image';
  const notes = [...box.notes, ...boardGuide(board, official).notes];

  const packages = new Collector<string>();
  const services = new Collector<ReturnType<typeof normalizeService>>();
  const files = new Collector<BuildPlan['files'][number]>();
  const modules = new Set<string>();
  const repositories = new Set<string>(box.repositories);

  if (!official) {
    const pkgOrigin = layerOrigins(catalog, chain, 'packages', String);
    for (const p of box.packages) packages.add(p, p, pkgOrigin.get(p) ?? `box:${box.name}`);
    const svcOrigin = layerOrigins(catalog, chain, 'services', serviceName);
    for (const s of box.services) services.add(s.name, normalizeService(s), svcOrigin.get(s.name) ?? `box:${box.name}`, true);
    const fileOrigin = layerOrigins(catalog, chain, 'files', (f) => (f as { path?: string }).path ?? '');
    for (const f of box.files) files.add(f.path, { ...f, from: fileOrigin.get(f.path) ?? `box:${box.name}` }, '', true);
    for (const g of loginServices(board)) services.add(g.name, normalizeService(g), `board:${board.name}`, true);
    packages.add(board.kernelPackage, board.kernelPackage, `board:${board.name}`);
    for (const p of board.bootPackages) packages.add(p, p, `board:${board.name}`);
    for (const slot of box.slots) for (const p of slot.packages) packages.add(p, p, `slot:${slot.name}`);
    for (const m of [...box.kernelModules, ...board.kernelModules]) modules.add(m);
  }
  for (const f of fragments) {
    const origin = `fragment:${f.name}`;
    if (official) {
      for (const p of f.openbsdPackages) packages.add(p, p, origin);
      continue;
    }
    for (const p of f.packages) packages.add(p, p, origin);
    for (const p of board.fragmentPackages[f.name] ?? []) packages.add(p, p, `board:${board.name}`);
    for (const s of f.services) services.add(s.name, normalizeService(s), origin, true);
    for (const file of f.files) files.add(file.path, { ...file, from: origin }, '', true);
    for (const m of f.kernelModules) modules.add(m);
    for (const r of f.repositories) repositories.add(r);
  }

  const byKey = <T>(c: Collector<T>) => [...c.items.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));

  // What both recipes plan alike; each adds its own sections below.
  const common: Omit<PlanCommon, 'planHash' | 'packages' | 'builderProvides' | 'partitions' | 'warnings'> = {
    schemaVersion: PLAN_SCHEMA_VERSION,
    chain,
    arch,
    board: { name: board.name, title: board.title, kind: board.kind, console: board.console },
    fragments: fragments.map((f) => f.name),
    services: byKey(services).map(([, v]) => ({ ...v.value, from: v.from })),
    files: byKey(files).map(([, v]) => ({ ...v.value, mode: v.value.mode.padStart(4, '0') })),
    kernelModules: [...modules].sort(),
    slots: box.slots.map((s) => ({ name: s.name, description: s.description, packages: s.packages })),
    partitionTable: board.partitionTable,
    customization,
    budgets: box.budgets,
    notes,
  };
  const boxInfo = { name: box.name, tier: box.tier, nickname: box.nickname, ...(box.loginShell ? { loginShell: box.loginShell } : {}) };
  const image = resolvePath(options.cwd ?? process.cwd(), req.output ?? join('dist', `${box.name}-${board.name}.img`));

  if (official) {
    const body: PlanBody<OfficialPlan> = {
      ...common,
      recipe: 'official-image',
      box: { ...boxInfo, recipe: 'official-image' },
      official: officialRelease(
        catalog,
        box,
        arch,
        byKey(packages).map(([n]) => n),
      ),
      feed: null,
      filesystems: null,
      boot: null,
      packages: [],
      builderProvides: [],
      partitions: [],
      warnings: [],
    };
    // The output location does not change the image, so it is not part of the plan's identity.
    return OfficialPlanSchema.parse({ ...body, planHash: planHash(body), outputs: officialOutputs(image) });
  }
  const feedDef = [...catalog.feeds.values()][0];
  if (!feedDef) throw new NexusError('CATALOG_INVALID', 'No package feed is defined in profiles/feeds/.', 'Restore profiles/feeds/alpine.yaml.');
  const feed = planFeed(
    feedDef,
    req.branch,
    arch,
    repositories,
    byKey(packages).map(([n]) => n),
  );
  // The catalog schema requires filesystems of every compose Box (src-shared/catalog.ts).
  const fs = box.filesystems;
  if (!fs) throw new NexusError('CATALOG_INVALID', `${box.name} is a compose Box without filesystems.`, 'Add filesystems to its profile in profiles/boxes/.');
  const cmdline = [`console=${board.console}`, ...(fs.root.type !== 'initramfs' ? ['rootwait'] : []), 'loglevel=4'].join(' ');
  const body: PlanBody<ComposePlan> = {
    ...common,
    recipe: 'compose',
    box: { ...boxInfo, recipe: 'compose' },
    feed,
    filesystems: fs,
    boot: {
      method: board.boot.method,
      loader: board.boot.loader,
      kernelPackage: board.kernelPackage,
      bootPackages: board.bootPackages,
      fat: board.boot.fat,
      kernelCmdline: cmdline,
      files: board.boot.files,
    },
    official: null,
    packages: byKey(packages).map(([name, v]) => ({ name, from: v.from })),
    builderProvides: [...box.builderProvides].sort(),
    partitions: planPartitions(board, fs),
    warnings: [
      ...choiceWarnings(
        customization,
        byKey(packages).map(([n]) => n),
      ),
      ...(customization.mesh && !byKey(services).some(([n]) => n === 'mesh')
        ? ['Mesh settings were given, but this build has no mesh service: add the "mesh" fragment to bring up wg0.']
        : []),
    ],
  };
  return ComposePlanSchema.parse({ ...body, planHash: planHash(body), outputs: composeOutputs(image) });
}

/** A plan without its identity and its output paths: what the plan hash is computed from. */
type PlanBody<P extends BuildPlan> = Omit<P, 'planHash' | 'outputs'>;

/** The official release the Box names, for the board's architecture in the operating system's own spelling. */
function officialRelease(catalog: Catalog, box: Box, arch: Arch, packages: string[]): OfficialRelease {
  if (!box.official) throw new NexusError('CATALOG_INVALID', `${box.name} is an official-image Box without an official section.`, 'Fix profiles/boxes/.');
  const rel = catalog.releases.get(box.official.release);
  if (!rel) throw new NexusError('CATALOG_INVALID', `${box.name} names the unknown release "${box.official.release}".`, 'Fix profiles/releases/.');
  const osArch = box.official.os === 'openbsd' ? OPENBSD_ARCH[arch] : arch;
  const image = rel.images[osArch];
  if (!image)
    throw new NexusError('ARCH_UNSUPPORTED', `${rel.name} ${rel.version} has no image for ${osArch}.`, `Available: ${Object.keys(rel.images).join(', ')}.`);
  return {
    os: box.official.os,
    release: rel.name,
    version: rel.version,
    arch: osArch,
    image,
    checksumFile: rel.checksumFile,
    ...(rel.signifyKey ? { signifyKey: rel.signifyKey } : {}),
    verification: box.official.verification,
    mirrors: rel.mirrors,
    packages,
    notes: rel.notes,
  };
}

/**
 * The feed part of the plan: the branch (the request's, else the feed's current stable), the repositories the
 * Box and its fragments declare, and only the tagged repositories that a package pins to (`name@tag`).
 */
function planFeed(feed: Feed, requested: string | undefined, arch: Arch, repositories: Set<string>, packages: string[]): FeedPlan {
  const branch = requested ?? feed.branch;
  if (!AlpineBranch.safeParse(branch).success) {
    throw new NexusError(
      'UNKNOWN_BRANCH',
      `"${branch}" is not an Alpine branch.`,
      `Use one of: ${feed.branches.join(', ')} (a stable branch is written like "v3.24").`,
    );
  }
  const tags = new Set(packages.map((p) => /@([a-z][a-z0-9_-]*)/.exec(p)?.[1]).filter((t): t is string => !!t));
  const tagged = [...tags].sort().map((tag) => {
    const t = feed.tagged.find((x) => x.tag === tag);
    const users = packages.filter((p) => p.includes(`@${tag}`)).join(', ');
    if (!t)
      throw new NexusError(
        'UNKNOWN_REPOSITORY_TAG',
        `${users} asks for the repository tag "@${tag}", which the ${feed.name} feed does not define.`,
        `Tags: ${feed.tagged.map((x) => `@${x.tag} (${x.repository} of ${x.branch})`).join(', ') || 'none'}.`,
      );
    return { tag: t.tag, branch: t.branch, repository: t.repository };
  });
  return {
    name: feed.name,
    branch,
    arch: ALPINE_ARCH[arch],
    repositories: ['main', 'community'].filter((r) => repositories.has(r)),
    tagged,
    mirrors: feed.mirrors,
    keys: feed.keys,
  };
}

/**
 * A login prompt wherever a person can type: a getty on the board's serial console (BusyBox getty, with the
 * console's baud rate) and, on hardware with a screen, one on the first virtual terminal. `tty0` as the console
 * means the screen itself (the PC), so it gets the tty1 getty only.
 */
export function loginServices(board: Board): ServiceSpec[] {
  const [device, baud] = board.console.split(',');
  const out: ServiceSpec[] = [];
  const getty = (name: string, tty: string, speed: string, what: string): ServiceSpec => ({
    name,
    type: 'process',
    command: `/sbin/getty -L ${speed} ${tty} vt100`,
    dependsOn: [],
    description: `Login prompt on ${what}.`,
  });
  if (device && !/^tty\d+$/.test(device)) out.push(getty('getty-serial', device, baud ?? '115200', `the serial console (${device})`));
  if (board.kind === 'hardware') out.push(getty('getty-tty1', 'tty1', '38400', 'the screen (first virtual terminal)'));
  return out;
}

/** What the customization asks for that nothing in the package set can do. */
function choiceWarnings(c: BuildPlan['customization'], packages: string[]): string[] {
  const has = (...names: string[]) => names.some((n) => packages.includes(n));
  const out: string[] = [];
  if (c.sshKeys.length && !has('dropbear', 'openssh', 'openssh-server')) {
    out.push('SSH keys were given, but this build has no SSH server: add the "ssh" fragment to log in over the network.');
  }
  if (c.wifi && !has('iwd', 'wpa_supplicant')) {
    out.push(`Wi-Fi "${c.wifi.ssid}" was given, but this build has no Wi-Fi service: add the "wifi" fragment to connect to it.`);
  }
  return out;
}

/**
 * The plan hash is published (manifest.json, cache keys), so it must not let anyone test guesses of the Wi-Fi
 * passphrase cheaply: it covers the WPA2 pre-shared key (PBKDF2-HMAC-SHA1, 4096 rounds, salted with the SSID)
 * instead, which is exactly what the network's own handshake exposes, and still changes with the passphrase.
 */
function planHash(body: PlanBody<BuildPlan>): string {
  // `recipe` repeats box.recipe (hashed already): left out, plan hashes (cache keys, BUILD_ID) stay what they were.
  const { recipe: _recipe, ...partial } = body;
  const wifi = partial.customization.wifi;
  if (!wifi?.passphrase) return hashCanonical(partial);
  // A 64-hex PSK is written to the image as given, a passphrase as a passphrase: keep the two forms apart.
  const stands = /^[0-9a-fA-F]{64}$/.test(wifi.passphrase)
    ? `raw-psk:${wifi.passphrase}`
    : `passphrase-psk:${pbkdf2Sync(wifi.passphrase, wifi.ssid, 4096, 32, 'sha1').toString('hex')}`;
  return hashCanonical({ ...partial, customization: { ...partial.customization, wifi: { ...wifi, passphrase: stands } } });
}
