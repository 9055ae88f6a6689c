/** `nexus build`: list profiles, print a plan, or run the build pipeline. */
import type { Command } from 'commander';
import { boardGuide, fillNextSteps } from '../../../src-shared/board-guide';
import { NexusError } from '../../../src-shared/errors';
import { formatBytes } from '../../../src-shared/format';
import { redactSecrets, type BuildPlan } from '../../../src-shared/plan';
import type { Catalog } from '../../../src-shared/catalog';
import { loadCatalog } from '../../engine/catalog/load';
import { resolvePlan } from '../../engine/plan/resolve';
import { addCustomizationOptions, addTargetOptions, requestFromFlags, type CustomizationFlags, type TargetFlags } from '../catalog-options';
import { action, interruptSignal, printJson, printJsonLine, table } from '../output';
import { progressPrinter } from '../progress';

interface BuildFlags extends TargetFlags, CustomizationFlags {
  listProfiles?: boolean;
  plan?: boolean;
  json?: boolean;
  offline?: boolean;
  mirror?: string;
  keys?: string;
  lock?: string;
  bootTest?: boolean;
  compress?: string;
  verbose?: boolean;
  force?: boolean;
}

export function profileRows(catalog: Catalog) {
  return [...catalog.boxes.values()]
    .sort((a, b) => (a.tier === 'BSD' ? 1 : 0) - (b.tier === 'BSD' ? 1 : 0) || a.tier.localeCompare(b.tier) || a.name.localeCompare(b.name))
    .map((b) => ({
      name: b.name,
      tier: b.tier,
      nickname: b.nickname,
      recipe: b.recipe,
      architectures: b.architectures,
      packages:
        b.budgets.packages.max !== undefined ? `≤ ${b.budgets.packages.max}` : b.budgets.packages.min !== undefined ? `≥ ${b.budgets.packages.min}` : 'n/a',
      size: b.budgets.sizeMiB
        ? [b.budgets.sizeMiB.min, b.budgets.sizeMiB.max].every((x) => x !== undefined)
          ? `${b.budgets.sizeMiB.min}-${b.budgets.sizeMiB.max} MiB`
          : b.budgets.sizeMiB.max !== undefined
            ? `≤ ${b.budgets.sizeMiB.max} MiB`
            : `≥ ${b.budgets.sizeMiB.min} MiB`
        : 'official image',
      extends: b.extends ?? null,
      philosophy: b.philosophy,
    }));
}

export function describePlan(plan: BuildPlan): string {
  const c = plan.customization;
  const lines = [
    `Box        ${plan.box.name} (${plan.box.tier}, "${plan.box.nickname}")${plan.chain.length > 1 ? `  chain: ${plan.chain.join(' → ')}` : ''}`,
    `Target     ${plan.board.title} [${plan.board.name}], ${plan.arch}`,
    `Fragments  ${plan.fragments.join(', ') || '(none)'}`,
    `Plan hash  ${plan.planHash}`,
  ];
  if (plan.recipe === 'official-image') {
    const o = plan.official;
    lines.push(
      `Recipe     official image: ${o.os} ${o.version} ${o.arch} ${o.image} (verified with ${o.verification}${o.signifyKey ? `, ${o.signifyKey}` : ''})`,
    );
    if (o.packages.length) lines.push(`Packages   after install: ${o.packages.join(', ')}`);
  } else {
    const feed = plan.feed;
    const tagged = feed.tagged.map((t) => `; @${t.tag}: ${t.repository} of ${t.branch}`).join('');
    lines.push(`Feed       ${feed.name} ${feed.branch} ${feed.arch} (${feed.repositories.join(', ')}${tagged})`);
    lines.push(`Packages   ${plan.packages.map((p) => p.name).join(', ')}`);
    lines.push(`Services   ${plan.services.map((s) => s.name).join(', ') || '(none)'}`);
    const fs = plan.filesystems;
    lines.push(
      `Root       ${fs.root.type}${fs.root.verity ? ' + dm-verity' : ''}${fs.overlay ? `, ${fs.overlay.type} overlay ${fs.overlay.sizeMiB} MiB` : ''}${fs.vault ? `, ${fs.vault.cipher} vault created on first boot` : ''}`,
    );
    lines.push(
      `Partitions ${plan.partitionTable.toUpperCase()}: ${plan.partitions.map((p) => `${p.index}:${p.label}(${p.filesystem}, ${p.sizeMiB === 'auto' ? 'auto' : `${p.sizeMiB} MiB`})`).join(' ')}`,
    );
    const boot = plan.boot;
    lines.push(`Boot       ${boot.method} via ${boot.loader}, kernel ${boot.kernelPackage}, cmdline "${boot.kernelCmdline}"`);
  }
  lines.push(
    `Host       ${c.hostname}${c.user ? `, user ${c.user.name}${c.user.passwordHash ? ' (password set)' : ' (no password)'}` : ''}, ${c.sshKeys.length} SSH key(s)${c.wifi ? `, Wi-Fi "${c.wifi.ssid}" (${c.wifi.country})` : ''}, ${c.timezone}, ${c.keyboard}, ${c.locale}`,
  );
  lines.push(`Output     ${plan.outputs.image}`);
  for (const n of plan.notes) lines.push(`Note       ${n}`);
  for (const w of plan.warnings) lines.push(`Warning    ${w}`);
  return lines.join('\n');
}

export function register(program: Command) {
  const cmd = program
    .command('build')
    .description('Build an image from a Box, or list Boxes and plans')
    .option('--list-profiles', 'list the Boxes: name, tier, nickname, architectures, budgets')
    .option('--output <path>', 'where the image goes (default: ./dist/BOX-BOARD.img); never a device, directory or symlink')
    .option('--force', 'replace existing output files even when they are not from an earlier Nexus build')
    .option('--plan', 'print the build plan and stop')
    .option('--json', 'machine-readable output (plan as JSON; progress as NDJSON)')
    .option('--offline', 'build only from the cache; fail early listing what is missing')
    .option('--mirror <url-or-dir>', "use this package mirror (URL or local directory) instead of the profile's")
    .option('--keys <dir>', 'trusted signing keys directory (default: the shipped official keys)')
    .option('--lock <file>', 'reuse exact package versions from a packages.lock.json')
    .option('--boot-test', 'boot the image in QEMU and wait for the boot marker')
    .option('--compress <list>', 'also write compressed copies: zst, xz')
    .option('-v, --verbose', 'show debug log lines');
  addTargetOptions(cmd);
  addCustomizationOptions(cmd);
  cmd.addHelpText(
    'after',
    `
Examples:
  nexus build --list-profiles
  nexus build --profile=nexbox --plan
  nexus build --profile=tinybox --target=qemu-x86_64 --boot-test
  nexus build --profile=openbox --arch=arm64 --target=rpi5 --fragments="base,mesh,media" --output=./dist/openbox-rpi5.img`,
  );
  cmd.action(
    action(async (flags: BuildFlags) => {
      const catalog = await loadCatalog();
      if (flags.listProfiles) {
        const rows = profileRows(catalog);
        if (flags.json) printJson(rows);
        else
          process.stdout.write(
            `${table(
              rows.map((r) => [r.name, r.tier, r.nickname, r.architectures.join(','), r.packages, r.size]),
              ['NAME', 'TIER', 'NICKNAME', 'ARCHITECTURES', 'PACKAGES', 'SIZE'],
            )}\n`,
          );
        return 0;
      }
      const plan = resolvePlan(catalog, await requestFromFlags(flags));
      if (flags.plan) {
        if (flags.json) printJson(redactSecrets(plan));
        else process.stdout.write(`${describePlan(plan)}\n`);
        return 0;
      }
      const compress = flags.compress ? flags.compress.split(',').map((s) => s.trim()) : undefined;
      if (compress && !compress.every((c): c is 'zst' | 'xz' => c === 'zst' || c === 'xz'))
        throw new NexusError('USAGE_COMPRESS', `--compress accepts "zst" and "xz", not "${flags.compress}".`, 'Example: --compress=zst,xz');
      const { buildImage } = await import('../../engine/build'); // lazy: --list-profiles and --plan start faster
      if (!flags.json) process.stderr.write(`${describePlan(plan)}\n\n`);
      const result = await buildImage(plan, {
        signal: interruptSignal(),
        onEvent: progressPrinter({ json: !!flags.json, verbose: !!flags.verbose }),
        ...(flags.offline ? { offline: true } : {}),
        ...(flags.mirror ? { mirror: flags.mirror } : {}),
        ...(flags.keys ? { keysDir: flags.keys } : {}),
        ...(flags.lock ? { lockFile: flags.lock } : {}),
        ...(flags.bootTest ? { bootTest: true } : {}),
        ...(compress ? { compress } : {}),
        ...(flags.force ? { force: true } : {}),
      });
      if (flags.json) printJsonLine({ ok: true, value: { ...result, plan: undefined, planHash: plan.planHash } });
      else {
        process.stdout.write(`\nBuilt ${result.image} (${formatBytes(result.size)}, ${result.packageCount} packages)\nsha256 ${result.sha256}\n`);
        for (const f of result.files) process.stdout.write(`  ${f.kind.padEnd(12)} ${f.path} (${formatBytes(f.size)})\n`);
        if (result.bootTest)
          process.stdout.write(
            `Boot test: ${result.bootTest.passed ? 'passed' : 'FAILED'} in ${result.bootTest.seconds.toFixed(1)} s (log: ${result.bootTest.log})\n`,
          );
        for (const w of result.warnings) process.stdout.write(`warning: ${w}\n`);
        const steps = fillNextSteps(boardGuide(catalog.boards.get(plan.board.name), plan.official !== null).nextSteps, {
          image: result.image,
          answers: result.files.find((f) => f.kind === 'answers')?.path ?? null,
          user: plan.customization.user?.name ?? null,
          hostname: plan.customization.hostname,
        });
        if (steps.length)
          process.stdout.write(
            `\nNext steps (after writing it: nexus flash ${result.image} --drive DEV):\n${steps.map((s, i) => `  ${i + 1}. ${s.replace('the button above, or: ', '')}`).join('\n')}\n`,
          );
      }
      return result.bootTest && !result.bootTest.passed ? 1 : 0;
    }),
  );
}
