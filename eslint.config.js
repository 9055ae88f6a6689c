// Layering rules (see Architecture in the README): every layer is a zone that lists what it may import; anything
// else (another layer, a package, a Node built-in) is an error. Proven by test/unit/foundation/layering-lint.test.ts
// with one fixture per zone in test/lint-fixtures/.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import boundaries from 'eslint-plugin-boundaries';

// The zones, first match wins. The privileged helper, the server and the Electron shell may reach only a few engine
// parts: the `host-facts` files (where things live, which host tools exist), `engine-device` (drives, the writer) and
// the token helpers.
export const zones = [
  { type: 'shared', pattern: 'src-shared/**', partialMatch: false },
  { type: 'engine-device', pattern: 'src-main/engine/{flash,drives}/**', partialMatch: false },
  { type: 'engine', pattern: 'src-main/engine/**', partialMatch: false },
  { type: 'app', pattern: 'src-main/app/**', partialMatch: false },
  { type: 'cli', pattern: 'src-main/cli/**', partialMatch: false },
  { type: 'server', pattern: 'src-main/server/**', partialMatch: false },
  { type: 'privileged', pattern: 'src-main/privileged/**', partialMatch: false },
  { type: 'electron', pattern: 'src-main/electron/**', partialMatch: false },
  { type: 'renderer', pattern: 'src-renderer/**', partialMatch: false },
];

const hostFacts = [
  { category: 'host-facts', pattern: 'src-main/engine/{paths,host-tools}.ts' },
  { category: 'tokens', pattern: 'src-main/engine/net/tokens.ts' },
];
const engineParts = ['engine', 'engine-device'];
const zone = (type) => ({ element: { types: { anyOf: Array.isArray(type) ? type : [type] } } });
const layers = (...types) => ({ to: zone(types) });
const engineHost = { to: { element: { type: 'engine' }, file: { categories: 'host-facts' } } };
const tokens = { to: { element: { type: 'engine' }, file: { categories: 'tokens' } } };
const node = { to: { module: { origin: 'core' } } };
const nodeOnly = (...sources) => ({ to: { module: { origin: 'core', source: sources } } });
const packages = (...sources) => ({ to: { module: { origin: 'external', source: sources } } });

/** What each zone may import, besides its own files. Everything else is denied. */
export const allowed = {
  shared: [layers('shared'), packages('zod')],
  engine: [
    layers('shared', ...engineParts),
    node,
    packages('zod', 'execa', 'yaml', 'tar-stream', 'hash-wasm', 'yauzl', 'drivelist', 'node-liblzma', '@hpcc-js/wasm-zstd'),
  ],
  app: [layers('shared', 'app', ...engineParts, 'privileged'), node, packages('zod')],
  cli: [layers('shared', 'cli', ...engineParts, 'server', 'privileged'), node, packages('commander', 'execa', 'yaml')],
  server: [layers('shared', 'server', 'app'), engineHost, tokens, node, packages('ws', 'zod')],
  // The elevated helper: drives and the writer, a few built-ins, nothing else.
  privileged: [
    layers('shared', 'privileged', 'engine-device'),
    engineHost,
    tokens,
    nodeOnly('node:crypto', 'node:fs', 'node:fs/promises', 'node:net', 'node:os', 'node:path', 'node:readline', 'node:stream', 'node:url'),
    packages('execa'),
  ],
  electron: [layers('shared', 'electron', 'app'), engineHost, nodeOnly('node:path', 'node:url'), packages('electron')],
  renderer: [layers('shared', 'renderer'), packages('react', 'react-dom', 'react/jsx-runtime', '@mui/material', '@emotion/*', 'zustand', 'zod')],
};

const policies = Object.entries(allowed).flatMap(([type, rules]) => rules.map((allow) => ({ from: zone(type === 'engine' ? engineParts : type), allow })));

export default tseslint.config(
  { ignores: ['node_modules/**', 'build/**', 'dist/**', 'out/**', 'test-results/**', 'test/lint-fixtures/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      ecmaVersion: 2023,
      sourceType: 'module',
      globals: { console: 'readonly', process: 'readonly', URL: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly' },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-explicit-any': 'error',
      'no-undef': 'off',
    },
  },
  {
    files: ['src-shared/**/*.{ts,tsx}', 'src-main/**/*.{ts,tsx}', 'src-renderer/**/*.{ts,tsx}'],
    plugins: { boundaries },
    settings: {
      'import/resolver': { node: { extensions: ['.ts', '.tsx', '.js', '.mjs', '.json'] } },
      'boundaries/elements': zones,
      'boundaries/files': hostFacts,
      'boundaries/dependency-nodes': ['import', 'export', 'dynamic-import'],
    },
    rules: {
      'boundaries/dependencies': ['error', { default: 'disallow', checkAllOrigins: true, checkUnknownLocals: true, policies }],
      'boundaries/no-unknown-files': 'error',
    },
  },
  // Issue 15: the plan is a union of complete recipes and every image stage has typed input and output, so the plan,
  // the build's entry, the recipes' stages and their helpers need no non-null assertion; this keeps them out. (The
  // rest of the engine still has some: test/support/count-assertions.mjs counts them.)
  {
    files: [
      'src-shared/plan.ts',
      'src-main/engine/build.ts',
      'src-main/engine/plan/**/*.ts',
      'src-main/engine/feeds/stages.ts',
      'src-main/engine/official/index.ts',
      'src-main/engine/image/stages/**/*.ts',
      'src-main/engine/image/{boot-sources,mbr-hint,cache,reproducible,layout,sbom}.ts',
      'src-main/engine/image/config/{etc,mesh}.ts',
    ],
    rules: { '@typescript-eslint/no-non-null-assertion': 'error' },
  },
);
