/** `nexus verify IMAGE --drive DEV [--bmap FILE] [--json]`: compare a drive with an image (cache bypassed). */
import type { Command } from 'commander';
import { formatBytes } from '../../../src-shared/format';
import { verifyDrive } from '../../engine/flash';
import { EXIT, action, interruptSignal, printJson } from '../output';

export function register(program: Command) {
  program
    .command('verify')
    .description('check that a drive holds an image, reading the drive directly (not from the cache)')
    .argument('<image>', 'image file (raw or compressed)')
    .requiredOption('--drive <device>', 'drive to check')
    .option('--bmap <file>', 'compare only the blocks the block map lists')
    .option('--json', 'JSON result')
    .action(
      action(async (image: string, f: { drive: string; bmap?: string; json?: boolean }) => {
        const r = await verifyDrive(image, f.drive, { bmap: f.bmap ?? null, signal: interruptSignal() });
        if (f.json) printJson(r);
        else if (r.ok) process.stdout.write(`✓ ${r.device} matches ${image} (${formatBytes(r.bytesCompared)} compared)\n`);
        else process.stdout.write(`✗ ${r.device} differs from ${image} at byte ${r.mismatchOffset}\n`);
        return r.ok ? EXIT.ok : EXIT.failed;
      }),
    );
}
