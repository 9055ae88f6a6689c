/** `nexus profiles`: show a fully merged Box, or check every catalog file. */
import type { Command } from 'commander';
import { stringify } from 'yaml';
import { NexusError } from '../../../src-shared/errors';
import { didYouMean } from '../../../src-shared/suggest';
import { loadCatalog } from '../../engine/catalog/load';
import { profileRows } from './build';
import { action, printJson, table } from '../output';

export function register(program: Command) {
  const profiles = program.command('profiles').description('Inspect the Boxes (profiles), boards and fragments');
  profiles
    .command('list')
    .description('list Boxes, boards and fragments')
    .option('--json', 'JSON output')
    .action(
      action(async (flags: { json?: boolean }) => {
        const c = await loadCatalog();
        if (flags.json) {
          printJson({ boxes: profileRows(c), boards: [...c.boards.values()], fragments: [...c.fragments.values()] });
          return 0;
        }
        process.stdout.write(
          `Boxes\n${table(
            profileRows(c).map((r) => [r.name, r.tier, r.nickname, r.architectures.join(',')]),
            ['NAME', 'TIER', 'NICKNAME', 'ARCHITECTURES'],
          )}\n\n`,
        );
        process.stdout.write(
          `Boards\n${table(
            [...c.boards.values()].map((b) => [b.name, b.arch, b.title]),
            ['NAME', 'ARCH', 'TITLE'],
          )}\n\n`,
        );
        process.stdout.write(
          `Fragments\n${table(
            [...c.fragments.values()].map((f) => [f.name, f.description]),
            ['NAME', 'DESCRIPTION'],
          )}\n`,
        );
        return 0;
      }),
    );
  profiles
    .command('show')
    .argument('<name>', 'a Box name')
    .description('print the fully merged Box (inheritance applied)')
    .option('--json', 'JSON output')
    .action(
      action(async (name: string, flags: { json?: boolean }) => {
        const c = await loadCatalog();
        const box = c.boxes.get(name);
        if (!box)
          throw new NexusError('UNKNOWN_BOX', `There is no Box called "${name}".`, `${didYouMean(name, [...c.boxes.keys()])}Run "nexus profiles list".`);
        if (flags.json) printJson(box);
        else process.stdout.write(stringify(box, { lineWidth: 110 }));
        return 0;
      }),
    );
  profiles
    .command('check')
    .description('validate every file in profiles/ and report problems with file and line')
    .option('--json', 'JSON output')
    .action(
      action(async (flags: { json?: boolean }) => {
        const c = await loadCatalog();
        const summary = { boxes: c.boxes.size, boards: c.boards.size, fragments: c.fragments.size, feeds: c.feeds.size, releases: c.releases.size };
        if (flags.json) printJson({ ok: true, value: summary });
        else
          process.stdout.write(
            `catalog OK: ${Object.entries(summary)
              .map(([k, v]) => `${v} ${k}`)
              .join(', ')}\n`,
          );
        return 0;
      }),
    );
}
