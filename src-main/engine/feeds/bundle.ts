/**
 * `nexus cache export FILE` / `nexus cache import FILE`: one plain tar with the verified indexes,
 * their refs, the packages and the public keys, for a machine with no network ("offline rescue USB").
 * Import trusts nothing in the file: every index is re-verified against the locally trusted keys and
 * every package against its signature and its content-derived name before it enters the cache.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { open, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { formatBytes } from '../../../src-shared/format';
import { pipeline } from 'node:stream/promises';
import tar from 'tar-stream';
import { z } from 'zod';
import { NexusError } from '../../../src-shared/errors';
import { errnoCode } from '../../../src-shared/narrow';
import { asBuffer } from '../byte-chunks';
import { readApkIndex } from './apkindex';
import { limits } from './limits';
import { checksumHex, FeedCache, IndexRefSchema, type IndexRef } from './cache';
import { readApkHeader, verifyApkFile } from './package-file';
import type { TrustedKeys } from './signature';

const FORMAT = 'nexus-cache-export';
/** The manifest lists refs, package names and key names: a few hundred KiB for the largest real cache. */
const MAX_MANIFEST_BYTES = 16 * 1024 * 1024;

const ExportManifestSchema = z.object({
  format: z.literal(FORMAT),
  version: z.number(),
  created: z.string(),
  refs: z.array(IndexRefSchema),
  packages: z.array(z.string()),
  keys: z.array(z.string()),
});
type ExportManifest = z.infer<typeof ExportManifestSchema>;

async function listFiles(dir: string): Promise<string[]> {
  try {
    const out: string[] = [];
    for (const e of await readdir(dir, { withFileTypes: true, recursive: true })) {
      // parentPath since Node 20.12, path (its deprecated alias) before.
      if (e.isFile()) out.push(join(e.parentPath ?? e.path, e.name));
    }
    return out.sort();
  } catch {
    return [];
  }
}

/** Writes every cached index ref, index and package (or only the packages named by `checksums`) plus keys into one tar. */
/** Files of other caches (official images) carried in the same export; their owner verifies them on import. */
export interface ExtraEntry {
  name: string;
  path: string;
}

export async function exportCache(
  file: string,
  opts: { cache?: FeedCache; keyDirs?: string[]; checksums?: string[]; extra?: ExtraEntry[] } = {},
): Promise<{ packages: number; indexes: number; bytes: number; extra: number }> {
  const cache = opts.cache ?? new FeedCache();
  const refFiles = (await listFiles(join(cache.root, 'apk', 'refs'))).filter((f) => f.endsWith('.json'));
  const refs: IndexRef[] = [];
  for (const f of refFiles) {
    const ref = await cache.getIndexRef(f.slice(join(cache.root, 'apk', 'refs').length + 1, -'.json'.length));
    if (ref) refs.push(ref);
  }
  const wanted = opts.checksums ? new Set(opts.checksums.map(checksumHex)) : null;
  const packages = (await listFiles(join(cache.root, 'apk', 'packages'))).filter((f) => f.endsWith('.apk') && (!wanted || wanted.has(basename(f, '.apk'))));
  const keyFiles = (await Promise.all((opts.keyDirs ?? []).map(listFiles))).flat().filter((f) => /\.(pub|pem)$/.test(f));
  const extra = opts.extra ?? [];
  if (refs.length === 0 && packages.length === 0 && extra.length === 0)
    throw new NexusError(
      'CACHE_EMPTY',
      `The cache at ${cache.root} has no indexes or packages to export.`,
      'Resolve or build once online (nexus packages resolve …), then export.',
    );
  const manifest: ExportManifest = {
    format: FORMAT,
    version: 1,
    created: new Date().toISOString(),
    refs,
    packages: packages.map((p) => basename(p)),
    keys: keyFiles.map((k) => basename(k)),
  };
  const pack = tar.pack();
  const tmp = `${file}.tmp-${process.pid}`;
  const out = await open(tmp, 'w').catch((err: NodeJS.ErrnoException) => {
    throw new NexusError(
      'EXPORT_TARGET',
      `Cannot write ${file}: ${err.code === 'ENOENT' ? `the folder ${dirname(file)} does not exist` : (err.code ?? err.message)}.`,
      'Choose a folder that exists and that you can write to (for example the mounted USB stick).',
    );
  });
  const writing = pipeline(pack, out.createWriteStream());
  // A write failure (disk full, stick pulled) must end the export, not leave it waiting on the tar packer.
  const writeFailed = writing.then(() => new Promise<never>(() => {}));
  writeFailed.catch(() => undefined);
  const guard = <T>(p: Promise<T>) => Promise.race([p, writeFailed]);
  const addBuffer = (name: string, data: Buffer) =>
    new Promise<void>((res, rej) => pack.entry({ name, size: data.length, mode: 0o644, mtime: new Date(0) }, data, (e) => (e ? rej(e) : res())));
  const addFile = async (name: string, path: string) => {
    const { size } = await stat(path);
    let copied: Promise<void> = Promise.resolve();
    const entered = new Promise<void>((res, rej) => {
      const sink = pack.entry({ name, size, mode: 0o644, mtime: new Date(0) }, (e) => (e ? rej(e) : res()));
      // pipeline, not pipe: an error of the entry (the archive could not be written) must reach us.
      copied = pipeline(createReadStream(path), sink);
    });
    await Promise.all([entered, copied]);
  };
  let bytes = 0;
  try {
    await guard(addBuffer('nexus-cache.json', Buffer.from(JSON.stringify(manifest, null, 2))));
    for (const k of keyFiles) await guard(addFile(`keys/${basename(k)}`, k));
    for (const r of refs) await guard(addFile(`apk/indexes/${r.sha256}.tar.gz`, cache.indexPath(r.sha256)));
    for (const p of packages) {
      bytes += (await stat(p)).size;
      await guard(addFile(`apk/packages/${basename(p)}`, p));
    }
    for (const e of extra) {
      bytes += (await stat(e.path)).size;
      await guard(addFile(e.name, e.path));
    }
    pack.finalize();
    await writing;
    await rename(tmp, file);
  } catch (err) {
    pack.destroy();
    await writing.catch(() => {});
    await rm(tmp, { force: true });
    if (errnoCode(err) === 'ENOSPC') {
      const need = (
        await Promise.all(
          [...keyFiles, ...refs.map((r) => cache.indexPath(r.sha256)), ...packages, ...extra.map((e) => e.path)].map((f) =>
            stat(f).then(
              (st) => st.size,
              () => 0,
            ),
          ),
        )
      ).reduce((a, b) => a + b, 0);
      throw new NexusError(
        'DISK_FULL',
        `There is not enough space in ${dirname(file)} for the export (about ${formatBytes(need)}); nothing was left behind.`,
        'Free some space or export to a larger drive.',
      );
    }
    throw err;
  }
  return { packages: packages.length, indexes: refs.length, bytes, extra: extra.length };
}

/** Verifies and adds everything in an export file to the cache. Nothing unverified enters the cache. */
export interface ImportExtras<R> {
  /** Entry names the other cache owns (staged to temporary files, never trusted by themselves). */
  accepts(name: string): boolean;
  /** Verifies the staged entries and moves them into their cache; runs after the packages passed. */
  import(staged: Map<string, string>): Promise<R>;
}

export async function importCache<R = undefined>(
  file: string,
  keys: TrustedKeys,
  opts: { cache?: FeedCache; extras?: ImportExtras<R> } = {},
): Promise<{ packages: number; indexes: number; keys: string[]; extra?: R }> {
  const cache = opts.cache ?? new FeedCache();
  let manifest: ExportManifest | null = null;
  const staged = new Map<string, string>(); // entry name → temp path
  const st = await stat(file).catch(() => null);
  if (!st?.isFile())
    throw new NexusError(
      'NOT_FOUND',
      `${file} does not exist.`,
      'Pass the file written by `nexus cache export FILE` (for example from the USB stick you carried it on).',
    );
  const notExport = (why: string) =>
    new NexusError(
      'BAD_EXPORT',
      `${file} is not a readable Nexus cache export (${why}).`,
      'Use a file made by `nexus cache export`; if it is one, it is damaged or incomplete: copy it again.',
    );
  // Everything staged lives in one folder of its own, removed whatever happens (truncated archive, foreign file, wrong
  // key, cancellation): an import never leaves temp files behind.
  const stageDir = await cache.tempDir('import');
  let n = 0;
  const ex = tar.extract();
  const reading = pipeline(createReadStream(file), ex);
  reading.catch(() => undefined); // awaited below; a broken archive surfaces there
  try {
    try {
      for await (const entry of ex) {
        const name = entry.header.name;
        // Sizes first, from the tar header: an index or the manifest is read into memory, so a hostile file cannot
        // make either larger than what a real one can be.
        const max = name === 'nexus-cache.json' ? MAX_MANIFEST_BYTES : name.startsWith('apk/indexes/') ? limits.indexCompressed : null;
        if (max !== null && (entry.header.size ?? 0) > max) {
          throw new NexusError(
            'SIZE_LIMIT',
            `${name} in ${basename(file)} is ${formatBytes(entry.header.size ?? 0)}, more than the ${formatBytes(max)} a real one can be.`,
            'The file is not an export made by `nexus cache export`, or it was altered; nothing was imported.',
          );
        }
        if (name === 'nexus-cache.json') {
          const chunks: Buffer[] = [];
          for await (const c of entry) chunks.push(asBuffer(c));
          const parsed = ExportManifestSchema.safeParse(JSON.parse(Buffer.concat(chunks).toString('utf8')));
          const issue = parsed.error?.issues[0];
          if (!parsed.success) throw notExport(`its nexus-cache.json is not an export manifest: ${issue?.path.join('.') || 'the file'}: ${issue?.message}`);
          manifest = parsed.data;
          continue;
        }
        const ours = /^(apk\/indexes\/[0-9a-f]{64}\.tar\.gz|apk\/packages\/[0-9a-f]{40,64}\.apk|keys\/[^/]+\.(pub|pem))$/.test(name);
        if ((!ours && !opts.extras?.accepts(name)) || entry.header.type !== 'file') {
          entry.resume();
          continue;
        }
        const tmp = join(stageDir, `${n++}.import`);
        staged.set(name, tmp);
        await pipeline(async function* () {
          for await (const c of entry) yield asBuffer(c);
        }, createWriteStream(tmp));
      }
      await reading;
    } catch (err) {
      if (err instanceof NexusError) throw err;
      if (errnoCode(err) === 'ENOSPC')
        throw new NexusError(
          'DISK_FULL',
          `The cache at ${cache.root} ran out of space while importing ${basename(file)}.`,
          'Free some space (nexus cache clean removes partial downloads), then import again.',
        );
      throw notExport(err instanceof Error ? err.message : String(err));
    }
    if (!manifest || manifest.format !== FORMAT) throw notExport('no nexus-cache.json inside');
    let indexes = 0;
    for (const ref of manifest.refs) {
      const tmp = staged.get(`apk/indexes/${ref.sha256}.tar.gz`);
      if (!tmp) throw new NexusError('BAD_EXPORT', `${file} lacks the index of ${ref.id}.`, 'Export the cache again.');
      const bytes = await readFile(tmp);
      const [, branch = '', repo = '', arch = ''] = ref.id.split('/');
      const idx = await readApkIndex(bytes, { name: repo, branch, arch, base: ref.base }, keys, `the index of ${ref.id} in ${basename(file)}`);
      await cache.putIndex(
        { id: ref.id, source: ref.source, base: ref.base, fetchedAt: ref.fetchedAt, signer: idx.signer ?? '', description: idx.description },
        bytes,
      );
      indexes++;
    }
    let packages = 0;
    for (const [name, tmp] of staged) {
      if (!name.startsWith('apk/packages/')) continue;
      const hex = basename(name, '.apk');
      const header = await readApkHeader(tmp, name);
      if (checksumHex(header.checksum) !== hex)
        throw new NexusError(
          'CHECKSUM_MISMATCH',
          `${name} in ${basename(file)} does not match its name (control checksum ${header.checksum}).`,
          'The export is damaged; create it again.',
        );
      await verifyApkFile(tmp, keys, { checksum: header.checksum }, `${name} in ${basename(file)}`);
      await cache.promote(tmp, cache.packagePath(header.checksum));
      staged.delete(name);
      packages++;
    }
    const keyNames = manifest.keys;
    const keysDir = join(cache.root, 'imported-keys');
    for (const [name, tmp] of staged) {
      if (name.startsWith('keys/')) {
        // Kept for reference only (--keys DIR can point here); importing never adds trust by itself.
        await cache.promote(tmp, join(keysDir, basename(name)));
        staged.delete(name);
      }
    }
    const extra = opts.extras ? await opts.extras.import(staged) : undefined;
    return { packages, indexes, keys: keyNames, ...(extra !== undefined ? { extra } : {}) };
  } finally {
    ex.destroy();
    await reading.catch(() => {});
    for (const tmp of staged.values()) await cache.discard(tmp);
    await rm(stageDir, { recursive: true, force: true });
  }
}
