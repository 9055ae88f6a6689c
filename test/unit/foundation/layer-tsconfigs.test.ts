/**
 * Proves each layer's tsconfig gives it only its own platform's types: fixtures that touch DOM or Node globals are
 * type-checked with the options of tsconfig.shared.json, tsconfig.main.json and tsconfig.renderer.json.
 */
import { join } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { appRoot } from '../../../src-main/engine/paths';

function errorsWith(configName: string, fixture: string): string[] {
  const root = appRoot();
  const configPath = join(root, configName);
  const parsed = ts.parseJsonConfigFileContent(ts.readConfigFile(configPath, ts.sys.readFile).config, ts.sys, root, undefined, configPath);
  // The layer's own ambient declarations (types/*.d.ts) come along; its sources do not.
  const ambient = parsed.fileNames.filter((f) => f.endsWith('.d.ts'));
  const program = ts.createProgram([join(root, 'test/lint-fixtures/types', fixture), ...ambient], parsed.options);
  return ts.getPreEmitDiagnostics(program).map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
}

describe('per-layer tsconfigs', () => {
  it('src-shared sees neither DOM nor Node globals, only the WHATWG ones both have', () => {
    expect(errorsWith('tsconfig.shared.json', 'uses-dom.ts').join('\n')).toMatch(/Cannot find name 'document'/);
    expect(errorsWith('tsconfig.shared.json', 'uses-node.ts').join('\n')).toMatch(/Cannot find name 'process'/);
    expect(errorsWith('tsconfig.shared.json', 'uses-both.ts')).toEqual([]);
  });

  it('the main process has Node types and no DOM', () => {
    expect(errorsWith('tsconfig.main.json', 'uses-dom.ts').join('\n')).toMatch(/Cannot find name 'document'/);
    expect(errorsWith('tsconfig.main.json', 'uses-node.ts')).toEqual([]);
    expect(errorsWith('tsconfig.main.json', 'uses-both.ts')).toEqual([]);
  });

  it('the renderer has DOM types and no Node', () => {
    expect(errorsWith('tsconfig.renderer.json', 'uses-node.ts').join('\n')).toMatch(/Cannot find name 'process'/);
    expect(errorsWith('tsconfig.renderer.json', 'uses-dom.ts')).toEqual([]);
    expect(errorsWith('tsconfig.renderer.json', 'uses-both.ts')).toEqual([]);
  });
});
