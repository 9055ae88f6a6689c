/**
 * `nexus flash IMAGE|URL --drive DEV [--drive DEV…] [--sha256 HEX] [--bmap FILE] [--yes] [--no-verify]
 *  [--eject] [--include-system] [--json]`
 * Checks the targets against the safety policy first, asks before erasing (unless --yes), then writes:
 * in-process when already root, otherwise through the privileged helper (pkexec / admin prompt / UAC).
 */
import { createInterface } from 'node:readline/promises';
import type { Command } from 'commander';
import { NexusError } from '../../../src-shared/errors';
import { driveLabel } from '../../../src-shared/drives';
import { formatBytes, formatDuration, formatRate } from '../../../src-shared/format';
import type { FlashProgress, FlashRequestInput, FlashResult } from '../../../src-shared/flash';
import { listDrives } from '../../engine/drives';
import { enforcePolicy, flash, probeImageSize } from '../../engine/flash';
import { runFlashJob, type FlashWriter } from '../../engine/flash/flash-job';
import { siblingBmap } from '../../engine/flash/sibling-bmap';
import { FlashRequest } from '../../../src-shared/flash';
import { startFlash } from '../../privileged/launcher';
import { EXIT, action } from '../output';

interface FlashFlags {
  drive: string[];
  sha256?: string;
  /** A file, false for --no-bmap, absent to look for the image's own block map next to it. */
  bmap?: string | false;
  yes?: boolean;
  verify: boolean;
  eject?: boolean;
  includeSystem?: boolean;
  json?: boolean;
}

async function ask(question: string): Promise<string> {
  if (!process.stdin.isTTY)
    throw new NexusError(
      'USAGE_CONFIRMATION_REQUIRED',
      'Refusing to erase drives without confirmation on a non-interactive terminal.',
      'Add --yes to confirm.',
    );
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return (await rl.question(question)).trim();
  } finally {
    rl.close();
  }
}

export function progressLine(p: FlashProgress): string {
  return p.targets
    .map((t) => {
      const pct = t.bytesTotal ? `${Math.floor((100 * t.bytesDone) / t.bytesTotal)}%` : formatBytes(t.bytesDone);
      const eta = t.etaSeconds !== null && t.phase !== 'done' ? ` ETA ${formatDuration(t.etaSeconds)}` : '';
      return `${t.device} ${t.phase} ${pct} ${formatRate(t.speed)} (avg ${formatRate(t.avgSpeed)})${eta}`;
    })
    .join(' | ');
}

function printResult(r: FlashResult) {
  for (const t of r.targets) {
    const mark = t.status === 'done' ? '✓' : t.status === 'cancelled' ? '■' : '✗';
    const what = t.status === 'done' ? `written${t.verified ? ' and verified' : ''}${t.ejected ? ', ejected' : ''}` : `${t.status}: ${t.error?.message ?? ''}`;
    process.stderr.write(`${mark} ${t.device}: ${what}\n`);
    if (t.status !== 'done') {
      if (t.error?.hint) process.stderr.write(`  hint: ${t.error.hint}\n`);
      if (t.state === 'blank-head') process.stderr.write('  the drive has no partition table now (its first MiB is zeroed); write it again or format it.\n');
    }
  }
  process.stderr.write(`${formatBytes(r.imageSize)} in ${formatDuration(r.durationMs / 1000)}\n`);
}

export function register(program: Command) {
  program
    .command('flash')
    .description('write an image (raw, .xz, .gz, .zst, .bz2, .zip or an http(s) URL) to one or more drives and verify it')
    .argument('<image>', 'image file or http(s) URL')
    .requiredOption('--drive <device>', 'target drive (repeat for several)', (v: string, acc: string[]) => [...acc, v], new Array<string>())
    .option('--sha256 <hex>', 'expected SHA-256 of the download (required for URLs)')
    .option('--bmap <file>', 'block map: write only the mapped blocks (default: IMAGE.bmap or IMAGE.img.bmap next to the image, as nexus build writes it)')
    .option('--no-bmap', 'write every block even when a block map lies next to the image')
    .option('-y, --yes', 'do not ask before erasing the drives')
    .option('--no-verify', 'skip reading the drives back')
    .option('--eject', 'eject the drives when done')
    .option('--include-system', 'allow system drives (you must type the device name)')
    .option('--json', 'NDJSON progress and a JSON result on stdout')
    .action(
      action(async (image: string, f: FlashFlags) => {
        const isUrl = /^https?:\/\//i.test(image);
        let source: FlashRequestInput['source'] = { kind: 'file', path: image };
        if (isUrl) {
          if (!f.sha256)
            throw new NexusError(
              'USAGE_SHA256_REQUIRED',
              'Downloading an image needs its expected checksum.',
              'Add --sha256 with the checksum published next to the image.',
            );
          source = { kind: 'url', url: image, sha256: f.sha256 };
        }
        const bmap = f.bmap === false ? null : (f.bmap ?? (isUrl ? null : siblingBmap(image)));
        if (bmap && f.bmap === undefined && !f.json)
          process.stderr.write(`Using the block map ${bmap} (only mapped blocks are written; --no-bmap writes all).\n`);
        const confirmedSystemDevices: string[] = [];
        const input: FlashRequestInput = {
          source,
          bmap,
          targets: f.drive,
          verify: f.verify,
          eject: !!f.eject,
          includeSystem: !!f.includeSystem,
          confirmedSystemDevices,
        };
        const drives = await listDrives();
        const size = await probeImageSize(FlashRequest.parse(input).source, input.bmap ?? null);
        const targets = f.drive.map((name) => ({ name, drive: drives.find((x) => x.device === name || x.raw === name) }));
        // System drives need the typed device name even with --yes.
        for (const { drive: d } of targets) {
          if (d?.system && f.includeSystem) {
            const typed = await ask(`${driveLabel(d)} is a SYSTEM drive. Type its device name to overwrite it: `);
            if (typed === d.device) confirmedSystemDevices.push(d.device);
          }
        }
        // Refuse up front with the policy's own message; the writer (or helper) checks again and logs the warnings.
        enforcePolicy(FlashRequest.parse(input), drives, size);
        if (!f.yes) {
          process.stderr.write(`This will ERASE everything on:\n${targets.map(({ name, drive }) => `  ${drive ? driveLabel(drive) : name}`).join('\n')}\n`);
          const answer = await ask('Type "yes" to continue: ');
          if (answer.toLowerCase() !== 'yes') {
            process.stderr.write('Nothing was written.\n');
            return EXIT.cancelled;
          }
        }
        const ac = new AbortController();
        const onSig = () => {
          process.stderr.write('\nCancelling…\n');
          ac.abort();
        };
        process.once('SIGINT', onSig);
        const tty = !f.json && !!process.stderr.isTTY;
        let last = 0;
        const onProgress = (p: FlashProgress) => {
          if (f.json) return void process.stdout.write(`${JSON.stringify(p)}\n`);
          const now = Date.now();
          if (tty) process.stderr.write(`\r\x1b[2K${progressLine(p).slice(0, (process.stderr.columns ?? 120) - 1)}`);
          else if (now - last > 5000) {
            last = now;
            process.stderr.write(`${progressLine(p)}\n`);
          }
        };
        const onLog = (level: string, message: string) =>
          level !== 'debug' && !f.json && process.stderr.write(`${tty ? '\r\x1b[2K' : ''}${level}: ${message}\n`);
        try {
          const asRoot = process.platform !== 'win32' && process.getuid?.() === 0;
          const write: FlashWriter = asRoot
            ? (request, o) => flash(request, { signal: o.signal, onProgress: o.onProgress, log: o.onLog })
            : (request, o) => startFlash(request, o);
          // Through the runner, like a build: its log lines (the writer's and the stage outcome) are printed as before.
          const result = await runFlashJob(input, write, {
            signal: ac.signal,
            onProgress,
            onEvent: (e) => void (e.type === 'log' && onLog(e.level, e.message)),
          });
          if (tty) process.stderr.write('\r\x1b[2K');
          if (f.json) process.stdout.write(`${JSON.stringify(result)}\n`);
          else printResult(result);
          return result.ok ? EXIT.ok : result.cancelled ? EXIT.cancelled : EXIT.failed;
        } finally {
          process.off('SIGINT', onSig);
        }
      }),
    );
}
