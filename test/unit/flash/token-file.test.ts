// The privileged helper's --token-file rule (issue 13): it reads only a private, token-shaped regular file without
// following links, and deletes only the launcher's own <tmp>/nexus-helper-*/token, never an arbitrary path.
import { execa } from 'execa';
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newToken } from '../../../src-main/privileged/protocol';
import { takeTokenFile } from '../../../src-main/privileged/token-file';

let root: string;
const me = process.getuid!();

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'nexus-token-test-'));
});
afterAll(() => rm(root, { recursive: true, force: true }));

async function launcherDir(): Promise<{ dir: string; file: string; token: string }> {
  const dir = await mkdtemp(join(root, 'nexus-helper-'));
  await chmod(dir, 0o700);
  const token = newToken();
  const file = join(dir, 'token');
  await writeFile(file, token, { mode: 0o600 });
  return { dir, file, token };
}

describe('helper --token-file', () => {
  it("reads and deletes the launcher's private token file", async () => {
    const { file, token } = await launcherDir();
    expect(await takeTokenFile(file, { expectedUid: me })).toEqual({ token, deleted: true });
    expect(existsSync(file)).toBe(false);
  });

  it("never deletes a file that is not the launcher's: wrong name, wrong directory, or a non-private directory", async () => {
    const token = newToken();
    const other = join(root, 'victim');
    await writeFile(other, token, { mode: 0o600 });
    expect(await takeTokenFile(other, { expectedUid: me })).toMatchObject({ token, deleted: false });
    expect(await readFile(other, 'utf8')).toBe(token);

    const { dir, file } = await launcherDir();
    await chmod(dir, 0o755);
    expect(await takeTokenFile(file, { expectedUid: me })).toMatchObject({ deleted: false, kept: expect.stringMatching(/not private/) });
    expect(existsSync(file)).toBe(true);

    const wrongName = join(dir, 'passwd');
    await writeFile(wrongName, token, { mode: 0o600 });
    await chmod(dir, 0o700);
    expect(await takeTokenFile(wrongName, { expectedUid: me })).toMatchObject({ deleted: false });
    expect(existsSync(wrongName)).toBe(true);
  });

  it('refuses symlinks (even one named token in a private directory), FIFOs, devices and files open to others', async () => {
    const { dir, file, token } = await launcherDir();
    const target = join(root, 'precious');
    await writeFile(target, token, { mode: 0o600 });
    await rm(file);
    await symlink(target, file);
    await expect(takeTokenFile(file, { expectedUid: me })).rejects.toMatchObject({ code: 'HELPER_BAD_TOKEN_FILE' });
    expect(await readFile(target, 'utf8')).toBe(token);

    const fifo = join(dir, 'fifo');
    await execa('mkfifo', ['-m', '600', fifo]);
    await expect(takeTokenFile(fifo, { expectedUid: me })).rejects.toMatchObject({ code: 'HELPER_BAD_TOKEN_FILE' });
    expect(existsSync(fifo)).toBe(true);

    await expect(takeTokenFile('/dev/null', { expectedUid: me })).rejects.toMatchObject({ code: 'HELPER_BAD_TOKEN_FILE' });
    expect(existsSync('/dev/null')).toBe(true);

    const open = join(root, 'open');
    await writeFile(open, token, { mode: 0o644 });
    await chmod(open, 0o644);
    await expect(takeTokenFile(open, { expectedUid: me })).rejects.toMatchObject({ code: 'HELPER_BAD_TOKEN_FILE' });
  });

  it('reads nothing that is not a token (a secret file cannot stand in for one) and checks the owner', async () => {
    const sub = join(root, 'nexus-helper-secret');
    await mkdir(sub, { mode: 0o700 });
    const secret = join(sub, 'token');
    await writeFile(secret, 'root:$6$hash:19000:0:99999:7:::\n', { mode: 0o600 });
    await expect(takeTokenFile(secret, { expectedUid: me })).rejects.toMatchObject({ code: 'HELPER_BAD_TOKEN_FILE' });
    expect(existsSync(secret)).toBe(true);
    const { file } = await launcherDir();
    if (me !== 0) await expect(takeTokenFile(file, { expectedUid: me + 1 })).rejects.toMatchObject({ code: 'HELPER_BAD_TOKEN_FILE' });
  });

  it.each([
    ['through the held directory (/proc/self/fd)', false],
    ['portably (identity re-checked)', true],
  ] as const)('a directory swapped after the checks cannot redirect the unlink, %s', async (_how, noProc) => {
    const { dir, file, token } = await launcherDir();
    // The attacker's swap: the checked directory moves away and its name now leads to another private token file.
    const victimDir = await mkdtemp(join(root, 'victim-'));
    const victim = join(victimDir, 'token');
    await writeFile(victim, token, { mode: 0o600 });
    const beforeUnlink = async () => {
      await rename(dir, `${dir}-moved`);
      await symlink(victimDir, dir);
    };
    const r = await takeTokenFile(file, { expectedUid: me, noProc, beforeUnlink });
    expect(r.token).toBe(token);
    expect(await readFile(victim, 'utf8')).toBe(token);
    // Through /proc the launcher's own file (in the moved directory) is the one removed; portably nothing is.
    expect(existsSync(join(`${dir}-moved`, 'token'))).toBe(noProc);
    expect(r.deleted).toBe(!noProc);
  });
});
