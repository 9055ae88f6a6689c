/**
 * `nexus packages resolve`: the package set a Box would get, with versions and sizes.
 * `nexus packages verify FILE`: checks an .apk or APKINDEX.tar.gz and says which key signed it.
 */
import { readFile, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { Command } from 'commander';
import { budgetWarnings } from '../../../src-shared/budgets';
import { NexusError } from '../../../src-shared/errors';
import { formatBytes } from '../../../src-shared/format';
import { loadCatalog } from '../../engine/catalog/load';
import { limits } from '../../engine/feeds/limits';
import {
  describeFeed,
  feedConfig,
  feedKeys,
  loadIndexes,
  loadTrustedKeys,
  planRequests,
  readApkHeader,
  readApkIndex,
  resolvePackages,
  verifyApkFile,
} from '../../engine/feeds';
import { resourcesDir } from '../../engine/paths';
import { resolvePlan } from '../../engine/plan/resolve';
import { addTargetOptions, requestFromFlags, type TargetFlags } from '../catalog-options';
import { action, interruptSignal, printJson, table } from '../output';

interface ResolveFlags extends TargetFlags {
  mirror?: string;
  keys?: string;
  offline?: boolean;
  json?: boolean;
}

export function register(program: Command) {
  const packages = program.command('packages').description('inspect the package feeds Linux Boxes are composed from');

  addTargetOptions(packages.command('resolve'))
    .description('resolve the full package set of a Box (versions, sizes, total) against its verified feed')
    .option('--mirror <url-or-dir>', "use this mirror (URL or local directory with the Alpine layout) instead of the profile's")
    .option('--keys <dir>', 'trusted signing keys directory (default: the shipped official keys)')
    .option('--offline', 'use only the cache (indexes fetched before or imported with "nexus cache import")')
    .option('--json', 'machine-readable output')
    .action(
      action(async (flags: ResolveFlags) => {
        const plan = resolvePlan(await loadCatalog(), await requestFromFlags(flags));
        if (!plan.feed)
          throw new NexusError(
            'NO_FEED',
            `${plan.box.name} is not composed from a package feed.`,
            'Only Linux Boxes have package sets; official-image Boxes download a ready-made image.',
          );
        const feed = feedConfig(plan.feed, { ...(flags.mirror ? { mirror: flags.mirror } : {}), ...(flags.keys ? { keysDir: flags.keys } : {}) });
        const keys = await feedKeys(feed);
        const indexes = await loadIndexes(feed, keys, {
          offline: !!flags.offline,
          signal: interruptSignal(),
          log: (level, message) => {
            if (!flags.json && level !== 'debug') process.stderr.write(`${message}\n`);
          },
        });
        const res = resolvePackages(indexes, planRequests(plan), { describeRepos: describeFeed(feed), assumeProvided: plan.builderProvides });
        if (flags.json) {
          printJson({
            box: plan.box.name,
            arch: plan.arch,
            feed: { name: feed.name, branch: feed.branch, arch: feed.arch, repositories: feed.repositories, tagged: feed.tagged },
            indexes: indexes.map((i) => ({
              repository: i.repo.name,
              branch: i.repo.branch,
              ...(i.repo.tag ? { tag: i.repo.tag } : {}),
              description: i.description,
              signer: i.signer,
              packages: i.packages.length,
            })),
            packages: res.packages.map((r) => ({
              name: r.pkg.name,
              version: r.pkg.version,
              repository: r.pkg.repo.name,
              ...(r.pkg.repo.tag ? { tag: r.pkg.repo.tag } : {}),
              size: r.pkg.size,
              installedSize: r.pkg.installedSize,
              license: r.pkg.license,
              checksum: r.pkg.checksum,
              installIf: r.viaInstallIf,
              via: r.chain,
            })),
            totalSize: res.totalSize,
            totalInstalledSize: res.totalInstalledSize,
            budget: plan.budgets.packages,
          });
          return;
        }
        const rows = res.packages.map((r) => [
          r.pkg.name,
          r.pkg.version,
          r.pkg.repo.tag ? `@${r.pkg.repo.tag} (${r.pkg.repo.name} of ${r.pkg.repo.branch})` : r.pkg.repo.name,
          formatBytes(r.pkg.size),
          formatBytes(r.pkg.installedSize),
          r.viaInstallIf ? 'install_if' : (r.chain.at(-1) ?? ''),
        ]);
        process.stdout.write(`${table(rows, ['PACKAGE', 'VERSION', 'REPO', 'DOWNLOAD', 'INSTALLED', 'PULLED IN BY'])}\n\n`);
        process.stdout.write(
          `${res.packages.length} packages for ${plan.box.name} (${describeFeed(feed)}): ${formatBytes(res.totalSize)} to download, ${formatBytes(res.totalInstalledSize)} installed\n`,
        );
        const { min, max } = plan.budgets.packages;
        const budget = [min !== undefined ? `at least ${min}` : '', max !== undefined ? `at most ${max}` : ''].filter(Boolean).join(', ');
        const missed = budgetWarnings(plan.box.name, { packages: plan.budgets.packages }, { packages: res.packages.length, mappedBytes: 0 }).length > 0;
        if (budget) process.stdout.write(`Package budget of ${plan.box.name}: ${budget} (${missed ? 'NOT met' : 'met'})\n`);
      }),
    );

  packages
    .command('verify <file>')
    .description(
      "verify an .apk package (signature, datahash, every file's checksum, bounded unpacking) or an APKINDEX.tar.gz against trusted keys and say which key signed it",
    )
    .option('--keys <dir>', 'trusted signing keys directory (default: the shipped official Alpine keys)')
    .option('--json', 'machine-readable output')
    .action(
      action(async (file: string, flags: { keys?: string; json?: boolean }) => {
        const keys = await loadTrustedKeys(flags.keys ?? join(resourcesDir(), 'keys', 'alpine'));
        const verifyIndex = async () => {
          // Bounded: never load a file larger than an index may be.
          if ((await stat(file)).size > limits.indexCompressed) {
            throw new NexusError(
              'INDEX_TOO_LARGE',
              `${file} is larger than an APKINDEX.tar.gz may be (${formatBytes(limits.indexCompressed)}).`,
              'Pass an Alpine APKINDEX.tar.gz or an .apk package.',
            );
          }
          const idx = await readApkIndex(await readFile(file), { name: basename(file), branch: '', arch: '', base: '' }, keys, file);
          if (flags.json) printJson({ ok: true, kind: 'index', signer: idx.signer, description: idx.description, packages: idx.packages.length });
          else
            process.stdout.write(
              `OK: ${file} is an APK index (${idx.description || 'no description'}, ${idx.packages.length} packages) signed by ${idx.signer}\n`,
            );
        };
        if (/APKINDEX/i.test(basename(file))) return void (await verifyIndex());
        // Sniff rather than trust the name: a file without .PKGINFO may still be an index.
        const header = await readApkHeader(file, file).catch((err: unknown) => err);
        if (header instanceof NexusError && header.code === 'BAD_PACKAGE' && /no \.PKGINFO/.test(header.message)) return void (await verifyIndex());
        const v = await verifyApkFile(file, keys);
        const info = {
          ok: true,
          kind: 'package',
          name: v.pkginfo.name,
          version: v.pkginfo.version,
          signer: v.signer,
          checksum: v.checksum,
          datahash: v.pkginfo.datahash ?? null,
          scripts: [...v.scripts.keys()],
          checked: { signature: true, datahash: !!v.pkginfo.datahash, fileChecksums: v.data.checkedFiles, inflatedBytes: v.data.inflatedBytes },
        };
        if (flags.json) printJson(info);
        else {
          process.stdout.write(
            `OK: ${file} is ${info.name}-${info.version} signed by ${info.signer}\n  C:${info.checksum}${info.datahash ? `  datahash ${info.datahash.slice(0, 16)}… matches` : ''}\n` +
              `  ${info.checked.fileChecksums} per-file checksum(s) (APK-TOOLS.checksum.SHA1) match; data inflates to ${formatBytes(info.checked.inflatedBytes)}${info.scripts.length ? `\n  scripts (never run by Nexus): ${info.scripts.join(', ')}` : ''}\n`,
          );
        }
      }),
    );
}
