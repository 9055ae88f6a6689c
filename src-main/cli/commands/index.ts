/**
 * Every `nexus` sub-command module, by the command name it registers. One line per module keeps the
 * CLI entry point free of feature code, and lets `nexus NAME …` load only NAME's module (and the engine
 * parts it needs) instead of all of them: the full list is loaded only for the top-level help.
 */
import type { Command } from 'commander';

export type Register = (program: Command) => void;
type Loader = () => Promise<{ register: Register }>;

export const commandModules: Record<string, Loader> = {
  build: () => import('./build'),
  profiles: () => import('./profiles'),
  doctor: () => import('./doctor'),
  'serve-answers': () => import('./serve-answers'),
  serve: () => import('./serve'),
  packages: () => import('./packages'),
  cache: () => import('./cache'),
  drives: () => import('./drives'),
  flash: () => import('./flash'),
  verify: () => import('./verify'),
  vm: () => import('./vm'),
  backup: () => import('./backup'),
};

/** The modules to register for these arguments: the named command's, or every one (help, typos, no command). */
export function modulesFor(argv: readonly string[]): Loader[] {
  const name = argv[2];
  const one = name !== undefined && Object.hasOwn(commandModules, name) ? commandModules[name] : undefined;
  return one ? [one] : Object.values(commandModules);
}
