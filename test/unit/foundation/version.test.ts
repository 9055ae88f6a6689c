/** One version source: src-shared/version.ts is what every output says, and it must be package.json's version. */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { appRoot } from '../../../src-main/engine/paths';
import { NEXUS_VERSION } from '../../../src-shared/version';

describe('version', () => {
  it("equals package.json's version, and no source file writes another one", async () => {
    const pkg = JSON.parse(await readFile(join(appRoot(), 'package.json'), 'utf8')) as { version: string };
    expect(NEXUS_VERSION).toBe(pkg.version);
    const { execa } = await import('execa');
    const hits = await execa('git', ['grep', '--untracked', '-n', '-F', `'${pkg.version}'`, '--', 'src-main', 'src-shared', 'src-renderer'], {
      cwd: appRoot(),
      reject: false,
    });
    expect(hits.stdout.split('\n').filter(Boolean)).toEqual([`src-shared/version.ts:2:export const NEXUS_VERSION = '${pkg.version}';`]);
  });
});
