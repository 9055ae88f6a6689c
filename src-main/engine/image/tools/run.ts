/** Runs a host tool with an argument array, honouring cancellation and turning failures into NexusErrors. */
import { execa, type Options } from 'execa';
import { CancelledError, NexusError } from '../../../../src-shared/errors';
import { requireTool } from '../../host-tools';

export interface ToolRun {
  signal?: AbortSignal;
  env?: Record<string, string>;
  cwd?: string;
  input?: string | Buffer;
}

export async function runTool(command: string, args: string[], what: string, opts: ToolRun = {}): Promise<string> {
  const bin = await requireTool(command, what);
  const options: Options = { env: { LC_ALL: 'C', ...opts.env }, reject: false, ...(opts.cwd ? { cwd: opts.cwd } : {}), ...(opts.signal ? { cancelSignal: opts.signal } : {}), ...(opts.input !== undefined ? { input: opts.input } : {}) };
  const r = await execa(bin, args, options);
  if (opts.signal?.aborted || r.isCanceled) throw new CancelledError();
  if (r.exitCode !== 0 || r.failed) {
    const out = `${String(r.stderr ?? '')}\n${String(r.stdout ?? '')}`.trim();
    if (/No space left on device|ENOSPC/i.test(out)) {
      throw new NexusError('DISK_FULL', `No space left while ${what}.`, 'Free some space in the output and cache directories (or choose another output directory) and build again.');
    }
    throw new NexusError('TOOL_FAILED', `${command} failed while ${what} (exit ${r.exitCode ?? r.signal}): ${out.split('\n').slice(-3).join(' ').slice(0, 400)}`, 'See the build log for the full output.');
  }
  return String(r.stdout ?? '');
}
