/**
 * `nexus cache export/import` for everything a machine with no network needs: the package feed cache
 * (indexes, packages, keys) and the verified official images (OpenBSD), in one file. Each cache verifies
 * its own entries on import; nothing in the file is trusted by itself.
 */
import { cacheDir } from './paths';
import { exportCache, FeedCache, importCache, loadTrustedKeys } from './feeds/index';
import { importOfficialEntries, isOfficialEntryName, officialExportEntries } from './official/bundle';
import { OfficialStore } from './official/store';

export async function exportAll(file: string, opts: { keyDirs: string[]; cacheRoot?: string }) {
  const root = opts.cacheRoot ?? cacheDir();
  const extra = await officialExportEntries(new OfficialStore(root));
  return exportCache(file, { keyDirs: opts.keyDirs, extra, cache: new FeedCache(root) });
}

export async function importAll(file: string, opts: { apkKeysDir: string; officialKeysDir?: string; cacheRoot?: string }) {
  const root = opts.cacheRoot ?? cacheDir();
  const keys = await loadTrustedKeys(opts.apkKeysDir);
  return importCache(file, keys, {
    cache: new FeedCache(root),
    extras: {
      accepts: isOfficialEntryName,
      import: (staged) =>
        importOfficialEntries(staged, { what: file, store: new OfficialStore(root), ...(opts.officialKeysDir ? { keysDir: opts.officialKeysDir } : {}) }),
    },
  });
}
