/** Proves the layering lint rule bites: fixtures linted as if they lived in each layer. */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';
import { appRoot } from '../../../src-main/engine/paths';

const eslint = new ESLint({ cwd: appRoot() });
const fixture = (name: string) => readFile(join(appRoot(), 'test/lint-fixtures', name), 'utf8');

async function restricted(fixtureName: string, virtualPath: string) {
  const [result] = await eslint.lintText(await fixture(fixtureName), { filePath: join(appRoot(), virtualPath) });
  return result!.messages.filter((m) => m.ruleId === 'no-restricted-imports').map((m) => m.message);
}

describe('layering lint rule', () => {
  it('src-shared may not import node:*, bare built-ins, electron or react', async () => {
    const msgs = await restricted('shared-imports-node.ts', 'src-shared/leak.ts');
    expect(msgs).toHaveLength(4);
    expect(msgs.join('\n')).toMatch(/Node built-ins/);
    expect(msgs.join('\n')).toMatch(/electron/);
    expect(msgs.join('\n')).toMatch(/React/);
  });

  it('src-main/engine may not import electron (Node is fine)', async () => {
    const msgs = await restricted('engine-imports-electron.ts', 'src-main/engine/leak.ts');
    expect(msgs).toHaveLength(1);
    expect(msgs[0]).toMatch(/electron/);
  });

  it('src-renderer may not import Node, electron or src-main', async () => {
    const msgs = await restricted('renderer-imports-main.tsx', 'src-renderer/leak.tsx');
    expect(msgs).toHaveLength(3);
    expect(msgs.join('\n')).toMatch(/contract/);
  });

  it('the same imports are fine where they belong, and clean shared code passes', async () => {
    expect(await restricted('engine-imports-electron.ts', 'src-main/electron/window.ts')).toHaveLength(0);
    expect(await restricted('clean-shared.ts', 'src-shared/ok.ts')).toHaveLength(0);
  });
});
