/** The empty F2FS state partition (cryptobox's "Notebook"). */
import { truncate, writeFile } from 'node:fs/promises';
import { runTool } from './run';

export async function makeF2fs(out: string, sizeBytes: number, o: { uuid: string; label: string; epoch: number; signal?: AbortSignal }): Promise<void> {
  await writeFile(out, '');
  await truncate(out, sizeBytes);
  // -r: fixed checkpoint seed, -T: fixed timestamps, -U: fixed UUID: the same plan gives the same bytes.
  await runTool('mkfs.f2fs', ['-q', '-f', '-l', o.label, '-U', o.uuid, '-r', '-T', String(o.epoch), out], 'making the F2FS state partition', { signal: o.signal });
}
