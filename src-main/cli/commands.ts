/**
 * Every `nexus` sub-command module registers itself here. One line per module keeps the
 * CLI entry point free of feature code.
 */
import type { Command } from 'commander';

export type Register = (program: Command) => void;

export const commandModules: Array<() => Promise<{ register: Register }>> = [
  () => import('./build'),
  () => import('./profiles'),
  () => import('./doctor'),
  () => import('./serve-answers'),
  () => import('./commands/serve'),
  () => import('./commands/packages'),
  () => import('./commands/cache'),
  () => import('./commands/drives'),
  () => import('./commands/flash'),
  () => import('./commands/verify'),
  () => import('./commands/vm'),
];
