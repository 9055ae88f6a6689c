/** Runs the real `nexus` command (bin/nexus.js) as a child process, as a user would. */
import { execa, type Options } from 'execa';
import { join } from 'node:path';
import { appRoot } from '../../src-main/engine/paths';

export const NEXUS_BIN = join(appRoot(), 'bin', 'nexus.js');

export async function nexus(args: string[], options: Options = {}) {
  const r = await execa(process.execPath, [NEXUS_BIN, ...args], { reject: false, timeout: 120_000, ...options, env: { NO_COLOR: '1', ...options.env } });
  return { code: r.exitCode ?? -1, stdout: String(r.stdout ?? ''), stderr: String(r.stderr ?? '') };
}
