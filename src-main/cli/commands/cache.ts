/** `nexus cache export|import|info|clean`: move verified packages and indexes to machines without network. */
import { join } from 'node:path';
import type { Command } from 'commander';
import { formatBytes } from '../../../src-shared/format';
import { cacheInfo, cleanCache, FeedCache } from '../../engine/feeds';
import { exportAll, importAll } from '../../engine/cache-bundle';
import { resourcesDir } from '../../engine/paths';
import { action, printJson, table } from '../output';

const defaultKeys = () => join(resourcesDir(), 'keys', 'alpine');

export function register(program: Command) {
  const cache = program.command('cache').description('the package cache (safe to delete; export/import for offline machines)');

  cache.command('export <file>')
    .description('write every cached index, package and the trusted keys into one tar file')
    .option('--keys <dir>', 'keys to include (default: the shipped official keys)')
    .option('--json', 'machine-readable output')
    .action(action(async (file: string, flags: { keys?: string; json?: boolean }) => {
      const r = await exportAll(file, { keyDirs: [flags.keys ?? defaultKeys()] });
      if (flags.json) printJson({ ok: true, ...r });
      else process.stdout.write(`Exported ${r.indexes} indexes, ${r.packages} packages and ${r.extra} official-image files (${formatBytes(r.bytes)}) to ${file}\n`);
    }));

  cache.command('import <file>')
    .description('verify and add the indexes and packages of an export file to this machine\'s cache')
    .option('--keys <dir>', 'trusted keys to verify against (default: the shipped official keys; keys inside the file are never trusted by themselves)')
    .option('--json', 'machine-readable output')
    .action(action(async (file: string, flags: { keys?: string; json?: boolean }) => {
      const r = await importAll(file, { apkKeysDir: flags.keys ?? defaultKeys() });
      if (flags.json) printJson({ ok: true, ...r });
      else process.stdout.write(`Imported ${r.indexes} indexes, ${r.packages} packages and ${r.extra?.releases ?? 0} official releases (${r.extra?.files ?? 0} files) into ${new FeedCache().root}\n`);
    }));

  cache.command('info')
    .description('show what the cache holds')
    .option('--json', 'machine-readable output')
    .action(action(async (flags: { json?: boolean }) => {
      const info = await cacheInfo();
      if (flags.json) return void printJson(info);
      process.stdout.write(`Cache: ${info.root}\n`);
      process.stdout.write(`Packages: ${info.packages.count} (${formatBytes(info.packages.bytes)}); extracted files: ${info.blobs.count} (${formatBytes(info.blobs.bytes)}); interrupted downloads: ${info.partial.count}\n\n`);
      if (info.indexes.length) process.stdout.write(`${table(info.indexes.map((i) => [i.id, i.description, i.fetchedAt, i.signer]), ['INDEX', 'DESCRIPTION', 'FETCHED', 'SIGNED BY'])}\n`);
    }));

  cache.command('clean')
    .description('delete the package cache (everything in it can be downloaded again)')
    .action(action(async () => {
      await cleanCache();
      process.stdout.write(`Deleted the package cache in ${new FeedCache().root}\n`);
    }));
}
