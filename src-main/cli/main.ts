/** Entry point of the `nexus` command line: registers every sub-command module, returns the exit code. */
import { Command, CommanderError } from 'commander';
import { isCancelled } from '../../src-shared/errors';
import { NEXUS_VERSION } from '../../src-shared/version';
import { modulesFor } from './commands/index';
import { EXIT } from './output';

let guarded = false;

/**
 * Ctrl-C aborts stream pipelines whose promise some engine code awaits only later (after the loop reading from it):
 * Node reports that rejection as unhandled before it is awaited and would kill the process with exit 1, skipping
 * every cleanup (issue 13; the root cause is in feeds/extract.ts unpackApk's `feeding`). A cancellation is reported
 * by the pipeline runner anyway, so it is ignored here; any other unhandled rejection still ends the process.
 */
export function guardCancellationRejections(): void {
  if (guarded) return;
  guarded = true;
  process.on('unhandledRejection', (reason) => {
    if (isCancelled(reason)) return;
    throw reason;
  });
  // …and when that code awaits it later, Node would print a PromiseRejectionHandledWarning: a listener silences it
  // (only rejections that were not fatal above can be handled late).
  process.on('rejectionHandled', () => {});
}

export async function main(argv: string[]): Promise<number> {
  guardCancellationRejections();
  const program = new Command()
    .name('nexus')
    .description('Nexus Imager: build small operating-system images from profiles and write them safely to SD cards and USB sticks.')
    .version(NEXUS_VERSION)
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  for (const load of modulesFor(argv)) (await load()).register(program);
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError)
      return err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help' ? EXIT.ok : EXIT.usage;
    throw err;
  }
  return typeof process.exitCode === 'number' ? process.exitCode : EXIT.ok;
}
