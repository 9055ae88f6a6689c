#!/usr/bin/env node
// The `nexus` command. Runs the TypeScript sources through tsx's loader (no build step for the CLI).
import { register } from 'tsx/esm/api';

register();
// `nexus … | head` closes the pipe early: that is not an error.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw err;
  });
}
const { main } = await import('../src-main/cli/main.ts');
process.exitCode = await main(process.argv);
