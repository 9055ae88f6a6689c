/** `nexus cache export|import|info|clean`: the store (packages, official images, image stages), and moving it offline. */
import { join } from 'node:path';
import type { Command } from 'commander';
import { formatBytes } from '../../../src-shared/format';
import { exportAll, importAll } from '../../engine/cache-bundle';
import { cacheDir } from '../../engine/paths';
import { cacheInfo, cleanCache } from '../../engine/store/maintenance';
import { resourcesDir } from '../../engine/paths';
import { action, printJson, table } from '../output';

const defaultKeys = () => join(resourcesDir(), 'keys', 'alpine');

export function register(program: Command) {
  const cache = program.command('cache').description('the cache: packages, official images, image stages (safe to delete; export/import for offline machines)');

  cache
    .command('export <file>')
    .description('write every cached index, package and the trusted keys into one tar file')
    .option('--keys <dir>', 'keys to include (default: the shipped official keys)')
    .option('--json', 'machine-readable output')
    .action(
      action(async (file: string, flags: { keys?: string; json?: boolean }) => {
        const r = await exportAll(file, { keyDirs: [flags.keys ?? defaultKeys()] });
        if (flags.json) printJson({ ok: true, ...r });
        else
          process.stdout.write(
            `Exported ${r.indexes} indexes, ${r.packages} packages and ${r.extra} official-image files (${formatBytes(r.bytes)}) to ${file}\n`,
          );
      }),
    );

  cache
    .command('import <file>')
    .description("verify and add the indexes and packages of an export file to this machine's cache")
    .option('--keys <dir>', 'trusted keys to verify against (default: the shipped official keys; keys inside the file are never trusted by themselves)')
    .option('--json', 'machine-readable output')
    .action(
      action(async (file: string, flags: { keys?: string; json?: boolean }) => {
        const r = await importAll(file, { apkKeysDir: flags.keys ?? defaultKeys() });
        if (flags.json) printJson({ ok: true, ...r });
        else
          process.stdout.write(
            `Imported ${r.indexes} indexes, ${r.packages} packages and ${r.extra?.releases ?? 0} official releases (${r.extra?.files ?? 0} files) into ${cacheDir()}\n`,
          );
      }),
    );

  cache
    .command('info')
    .description('show what the cache holds')
    .option('--json', 'machine-readable output')
    .action(
      action(async (flags: { json?: boolean }) => {
        const info = await cacheInfo();
        if (flags.json) return void printJson(info);
        const n = (u: { count: number; bytes: number }) => `${u.count} (${formatBytes(u.bytes)})`;
        process.stdout.write(`Cache: ${info.root} — ${formatBytes(info.total.bytes)} in ${info.total.count} files\n`);
        process.stdout.write(
          `Packages: ${n(info.packages)}; files by SHA-256 (extracted, release images): ${n(info.blobs)}; image stages: ${n(info.imageStages)}\n`,
        );
        process.stdout.write(
          `Interrupted downloads: ${n(info.partial)}; temporary: ${n(info.temp)}${info.temp.runs.length ? ` held by running process(es) ${info.temp.runs.join(', ')}` : ''}\n\n`,
        );
        if (info.indexes.length)
          process.stdout.write(
            `${table(
              info.indexes.map((i) => [i.id, i.description, i.fetchedAt, i.signer]),
              ['INDEX', 'DESCRIPTION', 'FETCHED', 'SIGNED BY'],
            )}\n`,
          );
        if (info.releases.length)
          process.stdout.write(
            `${table(
              info.releases.map((r) => [`${r.os} ${r.version} ${r.arch}`, r.fetchedAt, r.source]),
              ['RELEASE', 'FETCHED', 'FROM'],
            )}\n`,
          );
      }),
    );

  cache
    .command('clean')
    .description('delete the cache (everything in it can be downloaded or built again; running builds keep their temporary files)')
    .option('--json', 'machine-readable output')
    .action(
      action(async (flags: { json?: boolean }) => {
        const r = await cleanCache();
        if (flags.json) return void printJson({ ok: true, ...r });
        process.stdout.write(`Deleted the cache in ${r.root} (${formatBytes(r.freed)} freed)\n`);
        if (r.keptRuns.length)
          process.stdout.write(`Kept the temporary files of running process(es) ${r.keptRuns.join(', ')}; they remove them when they finish.\n`);
      }),
    );
}
