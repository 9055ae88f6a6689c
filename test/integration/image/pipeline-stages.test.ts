/**
 * The build pipeline as the app and the CLI show it (issue 15): one stage after the other, each announced first, with
 * the stage ids the progress view names (src-shared/stage-names.ts) and every output where the plan says it goes.
 * A change to the typed stages must keep all of this.
 */
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STAGES } from '../../../src-shared/stage-names';
import { buildFromTestFeed, planFor, sharedNexusCache } from '../../support/image-build';

let dir: string;
beforeAll(async () => {
  process.env.NEXUS_CACHE_DIR = sharedNexusCache('pipeline-stages');
  dir = await mkdtemp(join(tmpdir(), 'nexus-it-stages-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('the compose pipeline', () => {
  it('runs its stages in order under the ids the progress view names, and writes every output to its planned path', async () => {
    const plan = await planFor('tinybox', 'qemu-x86_64', join(dir, 'Tiny.IMG'));
    const b = await buildFromTestFeed(plan, { compress: ['zst'] });
    const ids = ['packages-resolve', 'packages-fetch', 'packages-unpack', 'rootfs', 'configure', 'initramfs', 'filesystems', 'boot', 'pack', 'compress'];
    const progress = b.events.filter((e) => e.type === 'progress');
    // All announced as pending first, then run one after the other, each to "done".
    expect(progress.filter((e) => e.status === 'pending').map((e) => e.stage)).toEqual(ids);
    expect([...new Set(progress.filter((e) => e.status === 'running').map((e) => e.stage))]).toEqual(ids);
    expect(progress.filter((e) => e.status === 'done').map((e) => e.stage)).toEqual(ids);
    for (const id of ids) expect(STAGES[id]?.name, id).toBeTruthy();
    // Every output file is where the plan says (the console log only with --boot-test), named by the case-insensitive .img rule.
    const { consoleLog, ...written } = plan.outputs;
    expect(consoleLog).toBe(join(dir, 'Tiny.console.log'));
    expect(written.manifest).toBe(join(dir, 'Tiny.manifest.json'));
    const files = Object.fromEntries(b.result.files.map((f) => [f.kind, f.path]));
    expect(files).toEqual({ ...written, compressed: `${plan.outputs.image}.zst` });
    for (const f of b.result.files) expect((await stat(f.path)).size, f.path).toBe(f.size);
    await expect(stat(consoleLog)).rejects.toMatchObject({ code: 'ENOENT' });
  }, 240_000);
});
