/** Entry point of the `nexus` command line: registers every sub-command module, returns the exit code. */
import { Command, CommanderError } from 'commander';
import { modulesFor } from './commands';
import { EXIT } from './output';

export async function main(argv: string[]): Promise<number> {
  const program = new Command()
    .name('nexus')
    .description('Nexus Imager: build small operating-system images from profiles and write them safely to SD cards and USB sticks.')
    .version('0.1.0')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  for (const load of modulesFor(argv)) (await load()).register(program);
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) return err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help' ? EXIT.ok : EXIT.usage;
    throw err;
  }
  return typeof process.exitCode === 'number' ? process.exitCode : EXIT.ok;
}
