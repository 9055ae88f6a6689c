// Bundles the Electron main process, the preload and the privileged helper into build/ for packaging.
// Run from the repository root: npm run build:electron.
//   build/electron/main.cjs     (CommonJS; `main` in package.json), build/electron/engine-worker.cjs (its worker thread)
//   build/electron/preload.cjs  (sandboxed preload: must be one CommonJS file)
//   build/privileged/helper-main.js (ESM, run by resources/polkit/nexus-flash-helper with ELECTRON_RUN_AS_NODE)
import { build } from 'esbuild';

const common = { bundle: true, platform: 'node', target: 'node20', sourcemap: false, logLevel: 'warning', legalComments: 'none' };
// Native and Electron modules stay outside the bundle (electron-builder rebuilds drivelist for Electron), and so does
// node-liblzma (LGPL-3.0: shipped as its own replaceable module in node_modules, never inlined).
const external = ['electron', 'drivelist', 'node-liblzma', 'node-liblzma/*'];
// Engine code resolves files from import.meta.url; give the CommonJS bundle a real one.
const cjsMeta = {
  banner: { js: 'const __import_meta_url = require("node:url").pathToFileURL(__filename).href;' },
  define: { 'import.meta.url': '__import_meta_url' },
};

await Promise.all([
  build({ ...common, ...cjsMeta, entryPoints: ['src-main/electron/main.ts'], outfile: 'build/electron/main.cjs', format: 'cjs', external }),
  // The engine worker thread (src-main/engine/workers/pool.ts loads the sibling of the bundle it runs from).
  build({
    ...common,
    ...cjsMeta,
    entryPoints: ['src-main/engine/workers/worker-main.ts'],
    outfile: 'build/electron/engine-worker.cjs',
    format: 'cjs',
    external,
  }),
  build({
    ...common,
    entryPoints: ['src-main/electron/preload.ts'],
    outfile: 'build/electron/preload.cjs',
    format: 'cjs',
    platform: 'browser',
    minify: true,
    external: ['electron'],
  }),
  build({
    ...common,
    entryPoints: ['src-main/privileged/helper-main.ts'],
    outfile: 'build/privileged/helper-main.js',
    format: 'esm',
    external,
    banner: { js: 'import { createRequire as __cr } from "node:module"; const require = __cr(import.meta.url);' },
  }),
]);
console.log('built build/electron/{main,preload}.cjs and build/privileged/helper-main.js');
