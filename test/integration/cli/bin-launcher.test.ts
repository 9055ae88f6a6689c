/** bin/nexus.js runs the bundled CLI only while it is newer than every source file, else the sources through tsx. */
import { execa } from 'execa';
import { cp, mkdir, mkdtemp, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appRoot } from '../../../src-main/engine/paths';

let root: string;
const mainOf = (who: string) => `export async function main(argv) { console.log('${who}', argv.slice(2).join(' ')); return 0; }\n`;
const run = (env: Record<string, string> = {}) => execa(process.execPath, [join(root, 'bin', 'nexus.js'), 'hello'], { env, reject: false });

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'nexus-bin-'));
  await mkdir(join(root, 'bin'));
  await cp(join(appRoot(), 'bin', 'nexus.js'), join(root, 'bin', 'nexus.js'));
  await symlink(join(appRoot(), 'node_modules'), join(root, 'node_modules'));
  await writeFile(join(root, 'package.json'), '{ "type": "module" }\n');
  await mkdir(join(root, 'src-main', 'cli'), { recursive: true });
  await mkdir(join(root, 'src-shared'));
  await writeFile(join(root, 'src-main', 'cli', 'main.ts'), mainOf('source'));
  await writeFile(join(root, 'src-shared', 'x.ts'), 'export const x = 1;\n');
  await mkdir(join(root, 'build', 'cli'), { recursive: true });
  await writeFile(join(root, 'build', 'cli', 'nexus.mjs'), mainOf('bundle'));
  const old = new Date(Date.now() - 60_000);
  for (const f of ['src-main/cli/main.ts', 'src-shared/x.ts']) await utimes(join(root, f), old, old);
});
afterAll(() => rm(root, { recursive: true, force: true }));

describe('bin/nexus.js', () => {
  it('uses the bundle while it is fresh, the sources when one is newer or when asked', async () => {
    expect((await run()).stdout).toBe('bundle hello');
    expect((await run({ NEXUS_CLI_FROM_SOURCE: '1' })).stdout).toBe('source hello');
    await writeFile(join(root, 'src-shared', 'x.ts'), 'export const x = 2;\n'); // edited after the bundle was built
    expect((await run()).stdout).toBe('source hello');
    await rm(join(root, 'build'), { recursive: true });
    expect((await run()).stdout).toBe('source hello');
  });
});
