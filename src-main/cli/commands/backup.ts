/**
 * `nexus backup --drive DEV OUTPUT.img.zst [--force] [--include-system] [--json]`: read a drive into a
 * compressed image with its block map (only used blocks where the filesystems say which), verified.
 * Restore it with `nexus flash OUTPUT.img.zst --drive …` (the .bmap next to it is picked up).
 */
import type { Command } from 'commander';
import type { BackupProgress } from '../../../src-shared/backup';
import { formatBytes, formatDuration, formatRate } from '../../../src-shared/format';
import { backupDrive } from '../../engine/backup/backup';
import { EXIT, action, interruptSignal, printJson } from '../output';

interface BackupFlags {
  drive: string;
  force?: boolean;
  includeSystem?: boolean;
  json?: boolean;
}

function line(p: BackupProgress): string {
  const pct = p.bytesTotal ? `${Math.floor((100 * p.bytesDone) / p.bytesTotal)}%` : '';
  const eta = p.etaSeconds !== null && p.phase !== 'done' ? ` ETA ${formatDuration(p.etaSeconds)}` : '';
  return `${p.phase} ${pct} ${formatBytes(p.bytesDone)} ${formatRate(p.speed)}${eta}`;
}

export function register(program: Command) {
  program
    .command('backup')
    .description('read a drive into OUTPUT.img.zst with OUTPUT.bmap (only used blocks where the filesystems tell), verified')
    .argument('<output>', 'the backup file, ending in .img.zst')
    .requiredOption('--drive <device>', 'drive to read (see nexus drives)')
    .option('--force', 'replace OUTPUT if it exists')
    .option('--include-system', 'allow a system drive')
    .option('--json', 'JSON result')
    .action(
      action(async (output: string, f: BackupFlags) => {
        const tty = !f.json && process.stderr.isTTY;
        const r = await backupDrive(f.drive, output, {
          signal: interruptSignal(),
          ...(f.force ? { force: true } : {}),
          ...(f.includeSystem ? { includeSystem: true } : {}),
          ...(tty ? { onProgress: (p: BackupProgress) => process.stderr.write(`\r\x1b[K${line(p)}`) } : {}),
        });
        if (tty) process.stderr.write('\n');
        if (f.json) printJson({ ok: true, value: r });
        else {
          for (const reg of r.regions)
            process.stdout.write(
              `  ${reg.label.padEnd(40)} ${formatBytes(reg.usedBytes).padStart(10)} of ${formatBytes(reg.end - reg.start)} (${reg.method})\n`,
            );
          process.stdout.write(
            `✓ ${r.device} → ${r.image} (${formatBytes(r.compressedSize)}; read ${formatBytes(r.mappedBytes)} of ${formatBytes(r.imageSize)}, verified) and ${r.bmap} in ${r.seconds.toFixed(1)} s\n`,
          );
          process.stdout.write(`  Restore: nexus flash ${r.image} --drive /dev/sdX\n`);
        }
        return EXIT.ok;
      }),
    );
}
