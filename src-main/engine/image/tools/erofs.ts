/** EROFS read-only root (mkfs.erofs from a staging tree; fixed UUID and timestamps for reproducible output). */
import { runTool } from './run';

export interface ErofsOptions {
  uuid: string;
  epoch: number;
  compression?: 'none' | 'lz4hc' | 'lzma';
  /** Make every file root-owned (when the staging tree could not carry ownership). */
  allRoot: boolean;
  signal?: AbortSignal;
}

export async function makeErofs(out: string, tree: string, o: ErofsOptions): Promise<void> {
  const args = ['-U', o.uuid, '-T', String(o.epoch), '-x', '-1'];
  if (o.compression && o.compression !== 'none') args.push(`-z${o.compression}`);
  if (o.allRoot) args.push('--all-root');
  await runTool('mkfs.erofs', [...args, out, tree], 'making the EROFS root filesystem', { signal: o.signal, env: { SOURCE_DATE_EPOCH: String(o.epoch) } });
}
