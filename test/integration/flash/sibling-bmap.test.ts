// `nexus flash IMAGE` finds the block map written next to the image (NAME.bmap as nexus build names it, or
// NAME.img.bmap as bmaptool does) and writes only the mapped blocks; --no-bmap writes every block.
import { execa } from 'execa';
import { open, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LoopSet, patternBytes } from '../../support/loop-devices';
import { nexus } from '../../support/run-cli';

const MiB = 1 << 20;
const loops = new LoopSet();
let img: string;

beforeAll(async () => {
  img = join(await loops.workDir(), 'disk.img');
  const fh = await open(img, 'w');
  await fh.truncate(24 * MiB);
  await fh.write(patternBytes(2 * MiB, 8), 0, 2 * MiB, 0);
  await fh.write(patternBytes(2 * MiB, 9), 0, 2 * MiB, 16 * MiB);
  await fh.close();
  await execa('bmaptool', ['create', '-o', join(await loops.workDir(), 'disk.img.bmap'), img]);
});
afterAll(() => loops.detachAll());

const written = (stdout: string) =>
  (JSON.parse(stdout.trim().split('\n').at(-1)!) as { targets: Array<{ bytesWritten: number; verified: boolean }> }).targets[0]!;

describe.skipIf(process.getuid?.() !== 0)('nexus flash and the block map next to the image', () => {
  it('uses IMAGE.img.bmap or IMAGE.bmap by itself, and --no-bmap writes everything', async () => {
    const t = await loops.create(32 * MiB);
    const env = { NEXUS_EXTRA_DRIVES: t.device };
    const viaBmaptoolName = await nexus(['flash', img, '--drive', t.device, '--yes', '--json'], { env, timeout: 50_000 });
    expect(viaBmaptoolName.code, viaBmaptoolName.stderr).toBe(0);
    expect(written(viaBmaptoolName.stdout)).toMatchObject({ bytesWritten: 4 * MiB, verified: true });

    await rename(`${img}.bmap`, img.replace(/\.img$/, '.bmap'));
    const human = await nexus(['flash', img, '--drive', t.device, '--yes'], { env, timeout: 50_000 });
    expect(human.code, human.stderr).toBe(0);
    expect(human.stderr).toMatch(/Using the block map .*disk\.bmap/);

    const all = await nexus(['flash', img, '--no-bmap', '--drive', t.device, '--yes', '--json'], { env, timeout: 50_000 });
    expect(all.code, all.stderr).toBe(0);
    expect(written(all.stdout)).toMatchObject({ bytesWritten: 24 * MiB, verified: true });
  });
});
