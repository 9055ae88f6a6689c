/** `nexus vm IMAGE`: boot a built image in QEMU (software emulation) and wait for its boot marker. */
import type { Command } from 'commander';
import { readFile, stat } from 'node:fs/promises';
import { NexusError } from '../../../src-shared/errors';
import { isRecord } from '../../../src-shared/narrow';
import { normalizeArch, type Arch } from '../../../src-shared/arch';
import { composeOutputs } from '../../../src-shared/plan';
import { bootTest } from '../../engine/vm/index';
import { action, interruptSignal, printJson } from '../output';

interface VmFlags {
  timeout?: string;
  arch?: string;
  json?: boolean;
  quiet?: boolean;
}

/** The arch recorded in IMAGE's manifest.json (written by `nexus build`). */
async function archFromManifest(image: string): Promise<Arch | undefined> {
  try {
    const m: unknown = JSON.parse(await readFile(composeOutputs(image).manifest, 'utf8'));
    return isRecord(m) && typeof m.arch === 'string' && m.arch ? normalizeArch(m.arch) : undefined;
  } catch {
    return undefined;
  }
}

export function register(program: Command) {
  program
    .command('vm')
    .description('Boot an image in QEMU and wait for the boot marker (the serial console log is kept next to the image)')
    .argument('<image>', 'the .img file')
    .option('--timeout <seconds>', 'give up after this many seconds', '180')
    .option('--arch <arch>', 'x86_64, arm64 or riscv64 (default: from IMAGE.manifest.json)')
    .option('--json', 'print the result as JSON')
    .option('-q, --quiet', 'do not echo the console')
    .action(
      action(async (image: string, flags: VmFlags) => {
        if (
          !(await stat(image).then(
            (st) => st.isFile(),
            () => false,
          ))
        )
          throw new NexusError('NOT_FOUND', `${image} does not exist.`, 'Pass the .img a build wrote (nexus build prints its path).');
        const arch = flags.arch ? normalizeArch(flags.arch) : await archFromManifest(image);
        if (!arch)
          throw new NexusError(
            'USAGE_VM_ARCH',
            `Cannot tell the architecture of ${image}: no manifest.json next to it.`,
            'Pass --arch=x86_64, --arch=arm64 or --arch=riscv64.',
          );
        const timeoutSeconds = Number(flags.timeout);
        if (!Number.isFinite(timeoutSeconds) || timeoutSeconds <= 0)
          throw new NexusError('USAGE_VM_TIMEOUT', `--timeout must be a positive number of seconds, not "${flags.timeout}".`, 'Example: --timeout=120');
        const echo = !flags.json && !flags.quiet;
        const r = await bootTest(image, {
          arch,
          timeoutSeconds,
          signal: interruptSignal(),
          ...(echo ? { onLine: (l: string) => process.stderr.write(`${l}\n`) } : {}),
        });
        if (flags.json) printJson({ ok: r.passed, value: r });
        else
          process.stdout.write(
            r.passed
              ? `Boot test passed in ${r.seconds.toFixed(1)} s: ${r.markerLine}\nConsole log: ${r.log}\n`
              : `Boot test FAILED after ${r.seconds.toFixed(1)} s: ${r.reason}\nConsole log: ${r.log}\n`,
          );
        return r.passed ? 0 : 1;
      }),
    );
}
