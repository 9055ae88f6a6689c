/**
 * Proves every layering fence bites: one fixture per zone (test/lint-fixtures/), linted as if it lived in that
 * zone. Each import line is marked `// allowed` or `// denied`; ESLint must report exactly the denied lines.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';
import { appRoot } from '../../../src-main/engine/paths';

const eslint = new ESLint({ cwd: appRoot() });

async function lintAs(fixtureName: string, virtualPath: string) {
  const text = await readFile(join(appRoot(), 'test/lint-fixtures', fixtureName), 'utf8');
  const marked = (word: string) =>
    text
      .split('\n')
      .map((line, i) => (line.startsWith('import ') && line.includes(`// ${word}`) ? i + 1 : 0))
      .filter(Boolean);
  const [result] = await eslint.lintText(text, { filePath: join(appRoot(), virtualPath) });
  const others = result!.messages.filter((m) => m.ruleId !== 'boundaries/dependencies');
  const reported = [...new Set(result!.messages.filter((m) => m.ruleId === 'boundaries/dependencies').map((m) => m.line))];
  return { denied: marked('denied'), allowed: marked('allowed'), reported, others };
}

const zones: [zone: string, fixture: string, virtualPath: string][] = [
  ['src-shared', 'shared.ts', 'src-shared/leak.ts'],
  ['src-main/engine', 'engine.ts', 'src-main/engine/leak.ts'],
  ['src-main/app', 'app.ts', 'src-main/app/leak.ts'],
  ['src-main/cli', 'cli.ts', 'src-main/cli/leak.ts'],
  ['src-main/server', 'server.ts', 'src-main/server/leak.ts'],
  ['src-main/privileged', 'privileged.ts', 'src-main/privileged/leak.ts'],
  ['src-main/electron', 'electron.ts', 'src-main/electron/leak.ts'],
  ['src-renderer', 'renderer.tsx', 'src-renderer/leak.tsx'],
];

describe('layering lint (deny by default, one zone per layer)', () => {
  it.each(zones)('%s: exactly the denied imports are reported', async (_zone, fixture, virtualPath) => {
    const { denied, allowed, reported, others } = await lintAs(fixture, virtualPath);
    expect(denied.length).toBeGreaterThanOrEqual(3);
    expect(allowed.length).toBeGreaterThanOrEqual(2);
    expect(reported).toEqual(denied);
    expect(others).toEqual([]);
  });

  it('a file outside every zone is reported, and so is an import of one', async () => {
    const [result] = await eslint.lintText("import { x } from '../../vite.config';\nexport const y = x;\n", {
      filePath: join(appRoot(), 'src-main/engine/leak.ts'),
    });
    expect(result!.messages.map((m) => m.ruleId)).toContain('boundaries/dependencies');
    const [stray] = await eslint.lintText('export const z = 1;\n', { filePath: join(appRoot(), 'src-main/stray.ts') });
    expect(stray!.messages.map((m) => m.ruleId)).toContain('boundaries/no-unknown-files');
  });

  it('the same engine import that the renderer may not make is fine in the CLI', async () => {
    const text = "import { loadCatalog } from '../engine/catalog/load';\nexport const x = loadCatalog;\n";
    const [cli] = await eslint.lintText(text, { filePath: join(appRoot(), 'src-main/cli/ok.ts') });
    expect(cli!.messages).toEqual([]);
  });
});
