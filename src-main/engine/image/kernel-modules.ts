/**
 * Kernel and module selection from the root filesystem manifest: find the kernel image the kernel package
 * installed, and resolve the modules a Box needs (plus their dependencies, from modules.dep or from the
 * modules' own .modinfo) into a load order. Only these modules go into the image.
 */
import { execa } from 'execa';
import { gunzipSync } from 'node:zlib';
import { NexusError } from '../../../src-shared/errors';
import { captures, errorMessage } from '../../../src-shared/narrow';
import { requireTool } from '../host-tools';
import type { FsEntry, FsManifest } from '../rootfs/entries';
import { unxzBuffer } from '../compress/xz-decode';
import { readEntry } from './content';
import { elfSection } from './elf';

const NUL = Buffer.alloc(1);

export const COMPRESSED_MODULE = /\.ko\.(gz|xz|zst)$/;

/**
 * A module's plain ELF bytes. Alpine's kernels compress their modules (CONFIG_MODULE_COMPRESS with gzip, the
 * default choice, in aports' linux-lts/virt configs: `.ko.gz`); busybox insmod loads only plain `.ko` files
 * (the kernels do not enable in-kernel decompression either), so the image gets them decompressed.
 * gzip: node:zlib; xz: liblzma in WebAssembly (compress/xz-decode.ts); zstd: the host's `zstd` (Node 20 has no zstd).
 */
export async function moduleBytes(path: string, entry: FsEntry): Promise<Buffer> {
  const bytes = await readEntry(entry);
  const kind = COMPRESSED_MODULE.exec(path)?.[1];
  if (!kind) return bytes;
  try {
    if (kind === 'gz') return gunzipSync(bytes);
    if (kind === 'xz') return await unxzBuffer(bytes);
    await requireTool('zstd', "decompressing the kernel's .ko.zst modules (busybox insmod loads only plain .ko files)");
    return Buffer.from((await execa('zstd', ['-dc'], { input: bytes, encoding: 'buffer', stripFinalNewline: false })).stdout);
  } catch (err) {
    if (err instanceof NexusError) throw err;
    throw new NexusError(
      'MODULE_DECOMPRESS_FAILED',
      `Cannot decompress the kernel module ${path}: ${errorMessage(err)}`,
      'The kernel package may be damaged; clear the package cache (nexus cache clean) and build again.',
      { cause: err },
    );
  }
}

/**
 * Every `field=value` string of a module's .modinfo section (NUL-separated), in order. Only that section is read, as
 * kmod does (scanning the whole multi-megabyte module for each field kept the main thread busy for hundreds of
 * milliseconds per kernel); a file whose sections cannot be found is scanned whole.
 */
export function modinfoValues(ko: Uint8Array, field: string): string[] {
  const section = elfSection(ko, '.modinfo');
  // A leading NUL so that the section's first string matches `\0field=` like the others.
  const buf = section ? Buffer.concat([NUL, section]) : Buffer.from(ko.buffer, ko.byteOffset, ko.byteLength);
  const key = Buffer.from(`\0${field}=`);
  const out: string[] = [];
  for (let at = buf.indexOf(key); at >= 0; at = buf.indexOf(key, at + 1)) {
    const end = buf.indexOf(0, at + key.length);
    out.push(buf.subarray(at + key.length, end < 0 ? undefined : end).toString('latin1'));
  }
  return out;
}

/** `depends=` of a module's .modinfo section (NUL-separated key=value strings). */
export function parseModinfoDepends(ko: Uint8Array): string[] {
  return (modinfoValues(ko, 'depends')[0] ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

/** Modules to load before this one (`softdep=pre: a b`): libcrc32c needs a crc32c provider, for example. */
export function parseModinfoSoftdepPre(ko: Uint8Array): string[] {
  return modinfoValues(ko, 'softdep').flatMap((v) => /pre:\s*([^:]*?)(\s+post:.*)?$/.exec(v)?.[1]?.split(/\s+/).filter(Boolean) ?? []);
}

export function parseModinfoAliases(ko: Uint8Array): string[] {
  return modinfoValues(ko, 'alias');
}

export const normalizeModule = (name: string) => name.replace(/-/g, '_');
const baseName = (path: string) => path.slice(path.lastIndexOf('/') + 1);
const moduleNameOf = (path: string) => normalizeModule(baseName(path).replace(/\.ko(\.(gz|xz|zst))?$/, ''));

export interface KernelInfo {
  /** Path of the kernel image in the manifest ("/boot/vmlinuz-virt"). */
  image: FsEntry;
  /** Module directory ("/lib/modules/6.1.0-virt"), or null when the package has no modules. */
  moduleDir: string | null;
  release: string | null;
}

export function findKernel(manifest: FsManifest, kernelPackage: string): KernelInfo {
  const flavor = kernelPackage.replace(/^linux-/, '');
  const boots = [...manifest.values()].filter((e) => e.type === 'file' && /^\/boot\/(vmlinuz|vmlinux|Image)/.test(e.path));
  const image = boots.find((e) => e.path === `/boot/vmlinuz-${flavor}`) ?? boots.find((e) => e.owner === kernelPackage);
  if (!image) {
    throw new NexusError(
      'KERNEL_NOT_FOUND',
      `The kernel package "${kernelPackage}" installed no kernel image under /boot.`,
      'Check that the feed provides the kernel package this board needs.',
    );
  }
  const dirs = [...manifest.values()].filter(
    (e) => e.type === 'dir' && /^\/(usr\/)?lib\/modules\/[^/]+$/.test(e.path) && (e.owner === image.owner || e.owner === kernelPackage),
  );
  const anyModule = [...manifest].find(([p, e]) => /^\/(usr\/)?lib\/modules\/[^/]+\//.test(p) && e.owner === image.owner)?.[0];
  const moduleDir =
    dirs[0]?.path ??
    (anyModule
      ? anyModule
          .split('/')
          .slice(0, anyModule.startsWith('/usr/') ? 5 : 4)
          .join('/')
      : null);
  return { image, moduleDir, release: moduleDir ? baseName(moduleDir) : null };
}

export interface ModuleSelection {
  /** Module files in load order (dependencies first). */
  files: string[];
  /** Requested names that are built into the kernel. */
  builtin: string[];
  /** Requested names the kernel package does not have (reported as warnings). */
  missing: string[];
}

/** Resolves module names to files in dependency order. */
export async function selectModules(manifest: FsManifest, moduleDir: string | null, wanted: string[]): Promise<ModuleSelection> {
  if (!moduleDir || wanted.length === 0) return { files: [], builtin: [], missing: moduleDir ? [] : wanted };
  const byName = new Map<string, { path: string; entry: FsEntry }>();
  for (const [path, entry] of manifest)
    if (path.startsWith(moduleDir + '/') && /\.ko(\.(gz|xz|zst))?$/.test(path)) byName.set(moduleNameOf(path), { path, entry });
  const builtinSet = new Set<string>();
  const builtinEntry = manifest.get(`${moduleDir}/modules.builtin`);
  if (builtinEntry) for (const line of (await readEntry(builtinEntry)).toString().split('\n')) if (line) builtinSet.add(moduleNameOf(line));
  const depMap = new Map<string, string[]>();
  const depEntry = manifest.get(`${moduleDir}/modules.dep`);
  if (depEntry) {
    for (const line of (await readEntry(depEntry)).toString().split('\n')) {
      const [mod, rest] = line.split(':');
      if (!mod || rest === undefined) continue;
      depMap.set(moduleNameOf(mod), rest.trim().split(/\s+/).filter(Boolean).map(moduleNameOf));
    }
  }
  // modules.softdep ("softdep libcrc32c pre: crc32c") and modules.alias ("alias crc32c crc32c_generic"), as depmod writes them.
  const aliases = new Map<string, string>();
  const aliasEntry = manifest.get(`${moduleDir}/modules.alias`);
  if (aliasEntry)
    for (const m of (await readEntry(aliasEntry)).toString().matchAll(/^alias\s+(\S+)\s+(\S+)/gm)) {
      const [alias, mod] = captures(m, 2) ?? [];
      if (alias && mod && !aliases.has(alias)) aliases.set(alias, normalizeModule(mod));
    }
  const softdeps = new Map<string, string[]>();
  const softEntry = manifest.get(`${moduleDir}/modules.softdep`);
  if (softEntry) {
    for (const m of (await readEntry(softEntry)).toString().matchAll(/^softdep\s+(\S+)\s+pre:\s*([^:\n]*?)(?:\s+post:.*)?$/gm)) {
      const groups = captures(m, 2);
      if (!groups) continue;
      const [mod, pre] = groups;
      softdeps.set(
        normalizeModule(mod),
        pre
          .split(/\s+/)
          .filter(Boolean)
          .map((n) => aliases.get(n) ?? normalizeModule(n)),
      );
    }
  }
  // Without a shipped modules.alias, a softdep that names an alias ("crc32c") is found the way depmod would: from
  // every module's own .modinfo (read once, only when such a name comes up). The generic C implementation is
  // preferred over CPU-specific ones (crc32c-intel needs SSE4.2, which QEMU's default TCG CPU lacks).
  let modinfoAliases: Map<string, string> | null = null;
  const viaModinfo = async (alias: string): Promise<string | undefined> => {
    if (!modinfoAliases) {
      modinfoAliases = new Map();
      const found = modinfoAliases;
      for (const [mod, file] of [...byName].sort(([a], [b]) => a.localeCompare(b))) {
        for (const a of parseModinfoAliases(await moduleBytes(file.path, file.entry))) {
          // The first module by name, unless a later one is generic and it is not.
          const first = found.get(a);
          if (first === undefined || (!first.includes('generic') && mod.includes('generic'))) found.set(a, mod);
        }
      }
    }
    return modinfoAliases.get(alias);
  };
  // Looked up as modprobe does: a module of that name, then an alias, then a built-in. Order matters for names
  // like "crc32": the crc32 library is built in, but f2fs's softdep wants the crypto algorithm (crc32_generic).
  const resolveSoft = async (n: string): Promise<string> => {
    const name = normalizeModule(n);
    if (byName.has(name)) return name;
    const alias = aliases.get(n) ?? (aliasEntry ? undefined : await viaModinfo(n));
    return alias ?? name;
  };
  const depsOf = async (name: string, file: { path: string; entry: FsEntry }): Promise<string[]> => {
    const soft = await Promise.all((softdeps.get(name) ?? []).map(resolveSoft));
    const listed = depMap.get(name);
    if (listed) return [...soft, ...listed];
    // No modules.dep (or the module is not in it): read the module's own .modinfo, as depmod would.
    const bytes = await moduleBytes(file.path, file.entry);
    const pre = softdeps.has(name) ? [] : await Promise.all(parseModinfoSoftdepPre(bytes).map(resolveSoft));
    return [...soft, ...pre, ...parseModinfoDepends(bytes).map(normalizeModule)];
  };
  const order: string[] = [];
  const seen = new Set<string>();
  const builtin: string[] = [];
  const missing: string[] = [];
  const visit = async (name: string) => {
    if (seen.has(name)) return;
    seen.add(name);
    const file = byName.get(name);
    if (!file) {
      if (builtinSet.has(name)) builtin.push(name);
      else missing.push(name);
      return;
    }
    for (const d of await depsOf(name, file)) await visit(d);
    order.push(file.path);
  };
  for (const w of [...new Set(wanted.map(normalizeModule))].sort()) await visit(w);
  return { files: order, builtin, missing };
}
