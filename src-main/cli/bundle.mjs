// Bundles the `nexus` command line into build/cli/nexus.mjs (one ESM file, ~0.4 s to start instead of ~1.5 s
// through tsx's loader). bin/nexus.js uses it while it is newer than every source file, else the sources.
// Run from the repository root: npm run build:cli (npm ci runs it through "prepare").
import { build } from 'esbuild';

const options = {
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  // Native (drivelist) and Electron modules stay outside; the engine finds profiles/ and resources/ from
  // import.meta.url, which is two levels below the repository root here as in src-main/engine/.
  // node-liblzma (LGPL-3.0) stays a separate, replaceable module, never inlined into our bundle.
  external: ['drivelist', 'electron', 'node-liblzma', 'node-liblzma/*'],
  banner: { js: 'import { createRequire as __nexusCreateRequire } from "node:module"; const require = __nexusCreateRequire(import.meta.url);' },
  legalComments: 'none',
  logLevel: 'warning',
};
// The engine worker (src-main/engine/workers/pool.ts) loads its sibling engine-worker.mjs when run from the bundle.
await Promise.all([
  build({ ...options, entryPoints: ['src-main/cli/main.ts'], outfile: 'build/cli/nexus.mjs' }),
  build({ ...options, entryPoints: ['src-main/engine/workers/worker-main.ts'], outfile: 'build/cli/engine-worker.mjs' }),
]);
console.log('built build/cli/nexus.mjs and build/cli/engine-worker.mjs');
