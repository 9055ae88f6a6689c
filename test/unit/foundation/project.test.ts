/** The project's own promises: README's two set-up commands are what CI runs, package.json says each thing once. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { appRoot } from '../../../src-main/engine/paths';

const read = (f: string) => readFileSync(join(appRoot(), f), 'utf8');

/** Keys that appear twice in one JSON object (JSON.parse silently keeps the last one). */
function duplicateKeys(text: string): string[] {
  const dups: string[] = [];
  const stack: Array<Set<string>> = [];
  const re = /"((?:[^"\\]|\\.)*)"\s*(:)?|[{}]/g;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    if (m[0] === '{') stack.push(new Set());
    else if (m[0] === '}') stack.pop();
    else if (m[2]) {
      const keys = stack.at(-1)!;
      if (keys.has(m[1]!)) dups.push(m[1]!);
      keys.add(m[1]!);
    }
  }
  return dups;
}

describe('project', () => {
  it('package.json names every key once (a duplicate "start" once dropped the renderer build)', () => {
    expect(duplicateKeys('{"a": 1, "b": {"a": 2, "c": "x:y"}, "a": 3}')).toEqual(['a']);
    expect(duplicateKeys(read('package.json'))).toEqual([]);
  });

  it('the README opens with exactly two set-up commands: the app, and the test command CI runs', () => {
    const readme = read('README.md');
    const blocks = [...readme.slice(0, readme.indexOf('\n## ')).matchAll(/```sh\n([^`]+)```/g)].map((m) => m[1]!.trim());
    expect(blocks).toEqual([
      'sudo bash .ci/setup-debian.sh && ELECTRON_SKIP_BINARY_DOWNLOAD=1 npm ci && npm start',
      'sudo bash .ci/setup-debian.sh && ELECTRON_SKIP_BINARY_DOWNLOAD=1 npm ci && npm test',
    ]);
    const ci = read('.ci/run');
    expect(ci).toMatch(/bash \.ci\/setup-debian\.sh/);
    expect(ci).toMatch(/export ELECTRON_SKIP_BINARY_DOWNLOAD=1\nnpm ci[^\n]*\nnpm test\n/);
    const scripts = (JSON.parse(read('package.json')) as { scripts: Record<string, string> }).scripts;
    expect(scripts.start).toMatch(/build:renderer/); // npm start must serve a built UI
    expect(scripts.test).toMatch(/typecheck.*lint.*vitest run/);
  });
});
