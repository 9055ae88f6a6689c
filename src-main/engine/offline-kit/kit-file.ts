/**
 * The offline kit file: `nexus cache export`'s verified tar holding exactly what the chosen Boxes need (their
 * indexes and package closures, the trusted keys) plus `nexus-kit.json` naming those choices, written with a
 * `<file>.sha256` next to it. Importing checks that checksum when it is there, then trusts nothing in the file:
 * the cache import verifies every index and package signature against the locally trusted keys, and the kit's
 * choices are resolved again from the cache alone to say what this machine can now build offline.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { copyFile, link, mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { Catalog } from '../../../src-shared/catalog';
import { CancelledError, NexusError } from '../../../src-shared/errors';
import { isRecord } from '../../../src-shared/narrow';
import { choiceLabel, KitChoice, type KitBuildable, type KitImported, type KitPrepared, type KitProgress } from '../../../src-shared/offline-kit';
import { asBuffer } from '../byte-chunks';
import { FeedCache } from '../feeds/cache';
import { exportCache, importCache } from '../feeds/bundle';
import { fetchPackages } from '../feeds/feed';
import { loadTrustedKeys } from '../feeds/signature';
import { importOfficialEntries, isOfficialEntryName } from '../official/bundle';
import { OfficialStore } from '../official/store';
import { planKit, resolveChoice, type KitFeedOptions } from './plan';

export const KIT_MANIFEST = 'nexus-kit.json';
const KIT_FORMAT = 'nexus-offline-kit';

interface KitManifest {
  format: typeof KIT_FORMAT;
  version: 1;
  created: string;
  choices: KitChoice[];
}

export interface KitJobOptions extends KitFeedOptions {
  onProgress?: (p: KitProgress) => void;
}

async function sha256File(path: string, onBytes?: (n: number) => void, signal?: AbortSignal): Promise<string> {
  const h = createHash('sha256');
  for await (const c of createReadStream(path, { highWaterMark: 1 << 20 })) {
    if (signal?.aborted) throw new CancelledError();
    const bytes = asBuffer(c);
    h.update(bytes);
    onBytes?.(bytes.length);
  }
  return h.digest('hex');
}

/** Hard link (same file system: instant) or copy. */
async function place(from: string, to: string): Promise<void> {
  await mkdir(dirname(to), { recursive: true });
  await link(from, to).catch(() => copyFile(from, to));
}

/**
 * Resolves the choices (online), downloads what is missing into the cache, and writes the kit: a staging cache that
 * holds only the needed refs, indexes and packages (hard links) is exported, so the kit carries nothing else.
 */
export async function prepareKit(catalog: Catalog, choices: KitChoice[], file: string, o: KitJobOptions & { apkKeysDir: string }): Promise<KitPrepared> {
  const started = Date.now();
  const cache = o.cache ?? new FeedCache();
  const progress = o.onProgress ?? (() => {});
  progress({ phase: 'resolve', message: `Resolving ${choices.map(choiceLabel).join(', ')}` });
  const kit = await planKit(catalog, choices, { ...o, cache });
  const unsupported = kit.choices.filter((c) => !c.supported);
  if (unsupported.length === kit.choices.length) {
    throw new NexusError(
      'KIT_NOTHING',
      `Nothing to put in the kit: ${unsupported.map((c) => c.reason).join(' ')}`,
      'Tick at least one Linux Box (tinybox … linbox).',
    );
  }
  // Download every package not yet in the cache (verified before it enters), with byte progress.
  const total = kit.resolved.reduce((s, r) => s + r.packages.length, 0);
  let doneBefore = 0;
  for (const r of kit.resolved) {
    await fetchPackages(r.packages, r.feed, r.keys, {
      cache,
      ...(o.signal ? { signal: o.signal } : {}),
      ...(o.log ? { log: o.log } : {}),
      onProgress: (p) =>
        progress({
          phase: 'download',
          message: `Downloading packages (${doneBefore + p.packagesDone}/${total})`,
          bytesDone: p.bytesDone,
          bytesTotal: p.bytesTotal,
        }),
    });
    doneBefore += r.packages.length;
  }
  if (o.signal?.aborted) throw new CancelledError();

  const stage = await cache.tempDir('kit');
  const view = new FeedCache(stage);
  const manifestPath = join(stage, KIT_MANIFEST);
  const tmpFile = `${file}.tmp-${process.pid}`;
  let poll: NodeJS.Timeout | undefined;
  try {
    for (const id of kit.indexIds) {
      const ref = await cache.getIndexRef(id);
      if (!ref) throw new NexusError('INTERNAL', `The index ${id} is not in the cache after resolving.`);
      await place(cache.indexPath(ref.sha256), view.indexPath(ref.sha256));
      await mkdir(dirname(view.refPath(id)), { recursive: true });
      await copyFile(cache.refPath(id), view.refPath(id));
    }
    const seen = new Set<string>();
    for (const r of kit.resolved) {
      for (const p of r.packages) {
        if (seen.has(p.checksum)) continue;
        seen.add(p.checksum);
        await place(cache.packagePath(p.checksum), view.packagePath(p.checksum));
      }
    }
    const manifest: KitManifest = {
      format: KIT_FORMAT,
      version: 1,
      created: new Date().toISOString(),
      choices: kit.choices.filter((c) => c.supported).map((c) => c.choice),
    };
    await writeFile(manifestPath, JSON.stringify(manifest, null, 2));
    // The export reports no progress of its own: its growing temporary file does.
    poll = setInterval(
      () =>
        void stat(tmpFile).then(
          (st) => progress({ phase: 'write', message: `Writing ${basename(file)}`, bytesDone: st.size, bytesTotal: kit.bytes }),
          () => undefined,
        ),
      500,
    );
    progress({ phase: 'write', message: `Writing ${basename(file)}`, bytesDone: 0, bytesTotal: kit.bytes });
    const r = await exportCache(file, { cache: view, keyDirs: [o.apkKeysDir], extra: [{ name: KIT_MANIFEST, path: manifestPath }] });
    clearInterval(poll);
    const size = (await stat(file)).size;
    let hashed = 0;
    const sha256 = await sha256File(
      file,
      (n) => {
        hashed += n;
        progress({ phase: 'checksum', message: 'Computing the checksum', bytesDone: hashed, bytesTotal: size });
      },
      o.signal,
    );
    const checksumFile = `${file}.sha256`;
    await writeFile(checksumFile, `${sha256}  ${basename(file)}\n`);
    return { file, sha256, checksumFile, bytes: size, packages: r.packages, indexes: r.indexes, seconds: (Date.now() - started) / 1000 };
  } catch (err) {
    await rm(file, { force: true }).catch(() => undefined);
    throw err;
  } finally {
    if (poll) clearInterval(poll);
    await rm(stage, { recursive: true, force: true });
  }
}

/** The checksum written next to the kit, when there is one: "<hex>  <name>". */
async function sidecarChecksum(file: string): Promise<string | null> {
  const text = await readFile(`${file}.sha256`, 'utf8').catch(() => null);
  if (text === null) return null;
  const hex = /^([0-9a-f]{64})\b/i.exec(text.trim())?.[1];
  if (!hex)
    throw new NexusError(
      'KIT_CHECKSUM',
      `${basename(file)}.sha256 does not hold a SHA-256 checksum.`,
      'Copy the kit and its .sha256 file again from the machine that prepared them.',
    );
  return hex.toLowerCase();
}

/** What the cache can build offline for each choice (resolved from the cached indexes, every package present). */
export async function buildableOffline(catalog: Catalog, choices: KitChoice[], o: KitFeedOptions): Promise<KitBuildable[]> {
  const cache = o.cache ?? new FeedCache();
  const out: KitBuildable[] = [];
  for (const choice of choices) {
    const label = choiceLabel(choice);
    try {
      const r = await resolveChoice(catalog, choice, { ...o, cache, offline: true });
      const missing: string[] = [];
      for (const p of r.packages) if (!(await cache.has(cache.packagePath(p.checksum)))) missing.push(`${p.name}-${p.version}`);
      out.push({ choice, label, buildable: missing.length === 0, missing });
    } catch (err) {
      out.push({ choice, label, buildable: false, missing: [err instanceof Error ? err.message : String(err)] });
    }
  }
  return out;
}

/** Verifies and imports a kit (or a plain `nexus cache export`) into the cache, then says what it can build. */
export async function importKit(catalog: Catalog, file: string, o: KitJobOptions & { apkKeysDir: string; officialKeysDir?: string }): Promise<KitImported> {
  const started = Date.now();
  const cache = o.cache ?? new FeedCache();
  const progress = o.onProgress ?? (() => {});
  const st = await stat(file).catch(() => null);
  if (!st?.isFile())
    throw new NexusError('NOT_FOUND', `${file} is not a file.`, 'Choose the kit file (…​.tar) you carried over, for example from the USB stick.');
  const expected = await sidecarChecksum(file);
  let hashed = 0;
  const sha256 = await sha256File(
    file,
    (n) => {
      hashed += n;
      progress({ phase: 'verify', message: "Checking the kit's checksum", bytesDone: hashed, bytesTotal: st.size });
    },
    o.signal,
  );
  if (expected && expected !== sha256) {
    throw new NexusError(
      'KIT_CHECKSUM',
      `${basename(file)} does not match its checksum file (expected ${expected}, got ${sha256}): it was damaged while being copied.`,
      'Copy the kit again from the machine that prepared it; nothing was imported.',
    );
  }
  progress({ phase: 'import', message: 'Verifying every index and package signature' });
  let kitChoices: KitChoice[] = [];
  const keys = await loadTrustedKeys([o.apkKeysDir]);
  const r = await importCache(file, keys, {
    cache,
    extras: {
      accepts: (name) => name === KIT_MANIFEST || isOfficialEntryName(name),
      import: async (staged) => {
        const m = staged.get(KIT_MANIFEST);
        if (m) {
          const parsed: unknown = JSON.parse(await readFile(m, 'utf8'));
          if (!isRecord(parsed) || parsed.format !== KIT_FORMAT || !Array.isArray(parsed.choices))
            throw new NexusError('BAD_EXPORT', `${basename(file)} has a ${KIT_MANIFEST} that is not a Nexus kit description.`, 'Prepare the kit again.');
          kitChoices = parsed.choices.map((c) => KitChoice.parse(c));
          staged.delete(KIT_MANIFEST);
        }
        return importOfficialEntries(staged, {
          what: basename(file),
          store: new OfficialStore(cache.root),
          ...(o.officialKeysDir ? { keysDir: o.officialKeysDir } : {}),
        });
      },
    },
  });
  progress({ phase: 'check', message: 'Checking what can be built offline' });
  const canBuild = await buildableOffline(catalog, kitChoices, { ...o, cache });
  return { file, sha256, checksumVerified: expected !== null, packages: r.packages, indexes: r.indexes, canBuild, seconds: (Date.now() - started) / 1000 };
}

/** A file name for a new kit: nexus-kit-<first choice>-<date>.tar */
export function kitFileName(choices: KitChoice[], now = new Date()): string {
  const first = choices[0] ? `${choices[0].profile}${choices[0].fragments.length ? `-${choices[0].fragments.join('-')}` : ''}-${choices[0].target}` : 'empty';
  return `nexus-kit-${first.replace(/[^A-Za-z0-9_-]/g, '_')}-${now.toISOString().slice(0, 10)}.tar`;
}
