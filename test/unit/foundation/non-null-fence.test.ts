/**
 * Issue 15: the plan, the build entry and the image stages are typed so that they need no non-null assertion, and
 * ESLint refuses one there (eslint.config.js); elsewhere the rule is off for now.
 */
import { join } from 'node:path';
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';
import { appRoot } from '../../../src-main/engine/paths';

const eslint = new ESLint({ cwd: appRoot() });
const code = "import type { ComposePlan } from '../../../../src-shared/plan';\nexport const f = (p: { x?: ComposePlan }) => p.x!.arch;\n";

async function nonNullErrors(virtualPath: string): Promise<number[]> {
  const [result] = await eslint.lintText(code, { filePath: join(appRoot(), virtualPath) });
  return (result?.messages ?? []).filter((m) => m.ruleId === '@typescript-eslint/no-non-null-assertion').map((m) => m.line);
}

describe('no non-null assertions in the typed build path', () => {
  it('are refused in an image stage, the plan resolver and the build entry', async () => {
    expect(await nonNullErrors('src-main/engine/image/stages/new-stage.ts')).toEqual([2]);
    expect(await nonNullErrors('src-main/engine/plan/new-part.ts')).toEqual([2]);
    expect(await nonNullErrors('src-main/engine/build.ts')).toEqual([2]);
  });

  it('are not (yet) refused in the rest of the engine', async () => {
    expect(await nonNullErrors('src-main/engine/flash/new-part.ts')).toEqual([]);
  });
});
