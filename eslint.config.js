// Layering rules (see ARCHITECTURE in README): enforced here so CI fails when a layer leaks.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import { builtinModules } from 'node:module';

const nodePatterns = { group: ['node:*'], message: 'Node built-ins are not allowed in this layer.' };
const electronPaths = [{ name: 'electron', message: 'Only src-main/electron may import electron.' }];
const reactPaths = ['react', 'react-dom', 'react/jsx-runtime'].map((name) => ({ name, message: 'src-shared must not depend on React.' }));
// Bare names ('fs', 'path'); the `node:` forms are caught by nodePatterns.
const builtinPaths = builtinModules.filter((m) => !m.startsWith('_') && !m.startsWith('node:')).map((name) => ({ name, message: 'Node built-ins are not allowed in this layer.' }));

export const layerRules = {
  shared: {
    'no-restricted-imports': ['error', {
      paths: [...builtinPaths, ...electronPaths, ...reactPaths],
      patterns: [nodePatterns, { group: ['**/src-main/**', '**/src-renderer/**', 'electron/*', 'react-dom/*'], message: 'src-shared imports neither main nor renderer code.' }],
    }],
  },
  engine: {
    'no-restricted-imports': ['error', {
      paths: electronPaths,
      patterns: [{ group: ['electron/*', '**/src-renderer/**', '**/electron/**'], message: 'The engine never imports Electron or renderer code.' }],
    }],
  },
  renderer: {
    'no-restricted-imports': ['error', {
      paths: [...builtinPaths, ...electronPaths],
      patterns: [nodePatterns, { group: ['electron/*', '**/src-main/**'], message: 'The renderer talks to the main process only through the contract.' }],
    }],
  },
};

export default tseslint.config(
  { ignores: ['node_modules/**', 'build/**', 'dist/**', 'out/**', 'test-results/**', 'test/lint-fixtures/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { ecmaVersion: 2023, sourceType: 'module', globals: { console: 'readonly', process: 'readonly', URL: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly' } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-explicit-any': 'error',
      'no-undef': 'off',
    },
  },
  { files: ['src-shared/**/*.{ts,tsx}'], rules: layerRules.shared },
  { files: ['src-main/engine/**/*.ts'], rules: layerRules.engine },
  { files: ['src-renderer/**/*.{ts,tsx}'], rules: layerRules.renderer },
);
