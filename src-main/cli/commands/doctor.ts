/** `nexus doctor`: which host tools each feature needs, which are present, how to install the rest. */
import type { Command } from 'commander';
import { doctor } from '../../engine/host-tools';
import { action, printJson, table } from '../output';

export function register(program: Command) {
  program
    .command('doctor')
    .description('check the host tools Nexus uses and say how to install missing ones')
    .option('--json', 'JSON output')
    .action(
      action(async (flags: { json?: boolean }) => {
        const rows = await doctor();
        if (flags.json) {
          printJson(rows);
        } else {
          process.stdout.write(
            `${table(
              rows.map((r) => [r.path ? 'ok' : r.optional ? 'optional' : 'MISSING', r.command, r.features.join('; '), r.path ?? r.install]),
              ['STATUS', 'TOOL', 'NEEDED FOR', 'PATH / HOW TO INSTALL'],
            )}\n`,
          );
        }
        const missing = rows.filter((r) => !r.path && !r.optional);
        if (!flags.json) process.stdout.write(missing.length ? `\n${missing.length} required tool(s) missing.\n` : '\nAll required tools are present.\n');
        return missing.length ? 1 : 0;
      }),
    );
}
