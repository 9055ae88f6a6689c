// OutputSet (src-main/engine/outputs.ts): outputs appear together or not at all; the target rules.
import { execa } from 'execa';
import { mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OutputSet, checkOutputTargets } from '../../../src-main/engine/outputs';

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'nexus-outputs-unit-'));
});
afterAll(() => rm(root, { recursive: true, force: true }));

describe('OutputSet', () => {
  it('commits every output at once, and nothing shows under a final name before that', async () => {
    const d = join(root, 'ok');
    await mkdir(d);
    const set = new OutputSet(join(d, 'x.img'), join(d, 'x.manifest.json'));
    await writeFile(await set.open(join(d, 'x.img'), { image: true }), 'image');
    await writeFile(await set.open(join(d, 'x.manifest.json')), JSON.stringify({ nexus: {}, image: { file: 'x.img' } }));
    expect((await readdir(d)).every((f) => f.startsWith('.') && f.endsWith('.partial'))).toBe(true);
    await set.commit();
    expect((await readdir(d)).sort()).toEqual(['x.img', 'x.manifest.json']);
  });

  it('rolls back when one rename fails: no sidecar without its image', async () => {
    const d = join(root, 'rollback');
    await mkdir(d);
    const set = new OutputSet(join(d, 'x.img'), null, { force: true });
    const image = await set.open(join(d, 'x.img'), { image: true });
    await writeFile(image, 'image');
    await writeFile(await set.open(join(d, 'x.bmap')), 'bmap');
    // The image's rename (always last) fails: the sidecar already renamed is removed again.
    await rm(image);
    await expect(set.commit()).rejects.toMatchObject({ code: 'ENOENT' });
    expect(await readdir(d)).toEqual([]);
  });

  it('commitSealed publishes only what the pack stage sealed', async () => {
    const d = join(root, 'sealed');
    await mkdir(d);
    const set = new OutputSet(join(d, 'x.img'), null);
    await writeFile(await set.open(join(d, 'x.img'), { image: true }), 'image');
    set.seal();
    await writeFile(await set.open(join(d, 'x.img.zst')), 'half');
    await set.commitSealed();
    expect(await readdir(d)).toEqual(['x.img']);
  });
});

describe('checkOutputTargets', () => {
  it('refuses devices, FIFOs, symlinks and directories always, foreign files without force', async () => {
    const d = join(root, 'targets');
    await mkdir(d);
    await execa('mkfifo', [join(d, 'fifo')]);
    await symlink('/etc/hostname', join(d, 'link'));
    await mkdir(join(d, 'dir'));
    await writeFile(join(d, 'foreign'), 'x');
    for (const [t, code] of [
      ['/dev/null', 'OUTPUT_NOT_REGULAR'],
      [join(d, 'fifo'), 'OUTPUT_NOT_REGULAR'],
      [join(d, 'link'), 'OUTPUT_NOT_REGULAR'],
      [join(d, 'dir'), 'OUTPUT_IS_DIRECTORY'],
    ]) {
      await expect(checkOutputTargets(t!, null, [t!], { force: true })).rejects.toMatchObject({ code, hint: expect.any(String) });
    }
    await expect(checkOutputTargets(join(d, 'foreign'), null, [join(d, 'foreign')])).rejects.toMatchObject({ code: 'OUTPUT_EXISTS' });
    await checkOutputTargets(join(d, 'foreign'), null, [join(d, 'foreign')], { force: true });
    await writeFile(join(d, 'foreign.manifest.json'), JSON.stringify({ nexus: { version: '0.1.0' }, image: { file: 'foreign' } }));
    await checkOutputTargets(join(d, 'foreign'), join(d, 'foreign.manifest.json'), [join(d, 'foreign'), join(d, 'foreign.manifest.json')]);
    expect(await readFile(join(d, 'foreign'), 'utf8')).toBe('x');
  });
});
