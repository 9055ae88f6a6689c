#!/usr/bin/env node
// The `nexus` command. Runs the bundled CLI (build/cli/nexus.mjs, made by `npm run build:cli`) while it is newer
// than every TypeScript source, otherwise the sources themselves through tsx's loader (slower to start, never
// stale). NEXUS_CLI_FROM_SOURCE=1 forces the sources.
import { readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const bundle = join(root, 'build', 'cli', 'nexus.mjs');

function bundleIsFresh() {
  if (process.env.NEXUS_CLI_FROM_SOURCE === '1') return false;
  let built;
  try {
    built = statSync(bundle).mtimeMs;
  } catch {
    return false;
  }
  for (const dir of ['src-main', 'src-shared']) {
    for (const f of readdirSync(join(root, dir), { recursive: true })) {
      if (/\.(ts|tsx|mjs)$/.test(f) && statSync(join(root, dir, f)).mtimeMs > built) return false;
    }
  }
  return true;
}

// `nexus … | head` closes the pipe early: that is not an error.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw err;
  });
}
let main;
if (bundleIsFresh()) ({ main } = await import(bundle));
else {
  const { register } = await import('tsx/esm/api');
  register();
  ({ main } = await import('../src-main/cli/main.ts'));
}
process.exitCode = await main(process.argv);
