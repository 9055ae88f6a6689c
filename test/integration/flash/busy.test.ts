// A drive another program holds exclusively (as the kernel does for a mounted partition, or a disk tool):
// the write fails with DEVICE_BUSY and a hint, nothing is written, and the same drive works once it is free.
import { execa } from 'execa';
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { flash } from '../../../src-main/engine/flash';
import { listDrives } from '../../../src-main/engine/drives';
import { LoopSet, patternBytes } from '../../support/loop-devices';

const MiB = 1 << 20;
const loops = new LoopSet();
const list = () => listDrives({ extraDevices: loops.devices(), drivelist: async () => [] });
let imagePath: string;
const image = patternBytes(4 * MiB, 5);

/** A separate process that opens the device with O_EXCL and keeps it until killed. */
async function holdExclusively(device: string): Promise<ChildProcess> {
  const code = `const fs = require('node:fs'); fs.openSync(${JSON.stringify(device)}, fs.constants.O_RDONLY | fs.constants.O_EXCL); console.log('held'); setInterval(() => {}, 1000);`;
  const holder = spawn(process.execPath, ['-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    holder.stdout!.once('data', () => resolve());
    holder.once('exit', (c) => reject(new Error(`the holder exited with ${c}`)));
  });
  return holder;
}

beforeAll(async () => {
  imagePath = join(await loops.workDir(), 'busy.img');
  await writeFile(imagePath, image);
});
afterAll(() => loops.detachAll());

describe.skipIf(process.getuid?.() !== 0)('a busy drive', () => {
  it('fails with DEVICE_BUSY and a hint, writes nothing, and works once released', async () => {
    const fill = patternBytes(8 * MiB, 77);
    const t = await loops.create(8 * MiB, { fill });
    const holder = await holdExclusively(t.device);
    try {
      const r = await flash({ source: { kind: 'file', path: imagePath }, targets: [t.device] }, { listDrives: list }).catch((e: unknown) => e);
      const error = (r as { targets?: Array<{ error?: unknown }> }).targets?.[0]?.error ?? r;
      expect(error).toMatchObject({ code: 'DEVICE_BUSY', message: expect.stringMatching(/busy/), hint: expect.stringMatching(/Close programs/) });
      const { stdout } = await execa('dd', [`if=${t.device}`, 'bs=1M', 'count=8', 'iflag=direct', 'status=none'], { encoding: 'buffer' });
      expect(Buffer.from(stdout).equals(fill)).toBe(true);
    } finally {
      const exited = new Promise((r) => holder.once('exit', r));
      holder.kill();
      await exited;
    }
    const again = await flash({ source: { kind: 'file', path: imagePath }, targets: [t.device] }, { listDrives: list });
    expect(again.ok).toBe(true);
  });
});
