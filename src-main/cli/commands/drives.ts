/** `nexus drives [--json] [--watch] [--include-system] [--include-virtual]`: the drives that can be written. */
import type { Command } from 'commander';
import { formatSize, type Drive } from '../../../src-shared/drives';
import { isHiddenVirtual, visibleDrives } from '../../../src-shared/safety';
import { listDrives, watchDrives } from '../../engine/drives';
import { action, interruptSignal, printJson, table } from '../output';

function flags(d: Drive): string {
  const f = [
    d.system && 'SYSTEM',
    d.readOnly && 'read-only',
    d.removable && 'removable',
    d.usb && 'usb',
    d.card && 'card',
    d.virtual && 'virtual',
    d.source === 'extra' && 'test-hook',
  ];
  return f.filter(Boolean).join(',');
}

function render(drives: Drive[]): string {
  if (drives.length === 0) return 'No drives found. Insert an SD card or USB stick.';
  return table(
    drives.map((d) => [
      d.device,
      d.size === null ? '?' : formatSize(d.size),
      d.description || '-',
      flags(d),
      d.mountpoints.map((m) => m.path).join(',') || '-',
    ]),
    ['DEVICE', 'SIZE', 'DESCRIPTION', 'FLAGS', 'MOUNTED AT'],
  );
}

export function register(program: Command) {
  program
    .command('drives')
    .description('list the drives an image can be written to (system drives hidden)')
    .option('--json', 'JSON output (with --watch: one JSON array per change)')
    .option('--watch', 'keep running and print the list again whenever a drive appears or goes')
    .option('--include-system', 'also show system drives')
    .option('--include-virtual', 'also show zram, RAM, loop, nbd and device-mapper devices (never an SD card)')
    .action(
      action(async (o: { json?: boolean; watch?: boolean; includeSystem?: boolean; includeVirtual?: boolean }) => {
        const show = (all: Drive[]) => {
          const safe = visibleDrives(all, !!o.includeSystem);
          const drives = o.includeVirtual ? safe : safe.filter((d) => !isHiddenVirtual(d));
          const hidden = safe.length - drives.length;
          if (o.json) {
            if (o.watch) process.stdout.write(`${JSON.stringify(drives)}\n`);
            else printJson(drives);
          } else {
            process.stdout.write(`${o.watch ? `\n[${new Date().toLocaleTimeString()}]\n` : ''}${render(drives)}\n`);
            if (hidden > 0)
              process.stdout.write(`(${hidden} virtual device${hidden > 1 ? 's' : ''} hidden; --include-virtual shows ${hidden > 1 ? 'them' : 'it'})\n`);
          }
        };
        if (!o.watch) return show(await listDrives());
        const signal = interruptSignal();
        for await (const drives of watchDrives({ signal })) show(drives);
        return 0;
      }),
    );
}
