/** Runs a host tool with an argument array, honouring cancellation and turning failures into NexusErrors. */
import { execa, type Options } from 'execa';
import { CancelledError, NexusError } from '../../../../src-shared/errors';
import { requireTool, whichTool } from '../../host-tools';

export interface ToolRun {
  signal?: AbortSignal;
  env?: Record<string, string>;
  cwd?: string;
  input?: string | Buffer;
}

export async function runTool(command: string, args: string[], what: string, opts: ToolRun = {}): Promise<string> {
  const bin = await requireTool(command, what);
  const options: Options = {
    env: { LC_ALL: 'C', ...opts.env },
    reject: false,
    ...(opts.cwd ? { cwd: opts.cwd } : {}),
    ...(opts.signal ? { cancelSignal: opts.signal } : {}),
    ...(opts.input !== undefined ? { input: opts.input } : {}),
  };
  const r = await execa(bin, args, options);
  if (opts.signal?.aborted || r.isCanceled) throw new CancelledError();
  if (r.exitCode !== 0 || r.failed) {
    const out = `${String(r.stderr ?? '')}\n${String(r.stdout ?? '')}`.trim();
    if (/No space left on device|ENOSPC/i.test(out)) {
      throw new NexusError(
        'DISK_FULL',
        `No space left while ${what}.`,
        'Free some space in the output and cache directories (or choose another output directory) and build again.',
      );
    }
    throw new NexusError(
      'TOOL_FAILED',
      `${command} failed while ${what} (exit ${r.exitCode ?? r.signal}): ${out.split('\n').slice(-3).join(' ').slice(0, 400)}`,
      'See the build log for the full output.',
    );
  }
  return String(r.stdout ?? '');
}

/**
 * How to ask each tool for its version, and the names its version line starts with. The banner goes to stdout
 * or stderr depending on the tool and the arguments (mkfs.fat prints it on stdout and its usage on stderr;
 * mkfs.erofs 1.5 has no -V but prints its banner before complaining; mke2fs -V writes to stderr), so both
 * streams are read separately and only a line naming the tool followed by a version number counts: picking
 * "the first line with a digit" from the interleaved streams sometimes recorded mkfs.fat's help text.
 */
export const VERSION_QUERIES: Record<string, { args: string[]; names: string[] }> = {
  'mkfs.vfat': { args: ['--help'], names: ['mkfs.fat', 'mkfs.vfat', 'mkfs.msdos'] },
  'mkfs.erofs': { args: ['-V'], names: ['mkfs.erofs'] },
  'mkfs.f2fs': { args: ['-V'], names: ['mkfs.f2fs'] },
  veritysetup: { args: ['--version'], names: ['veritysetup'] },
  mke2fs: { args: ['-V'], names: ['mke2fs'] },
  mcopy: { args: ['--version'], names: ['mcopy'] },
  objcopy: { args: ['--version'], names: ['GNU objcopy', 'objcopy'] },
};

const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * The version line of a tool's output ("mkfs.fat 4.2 (2021-01-31)"), or null: a line that starts with one of
 * the tool's names, optionally a parenthesised package name ("mcopy (GNU mtools) 4.0.32"), then a dotted number.
 */
export function parseToolVersion(names: string[], ...outputs: string[]): { line: string; version: string } | null {
  const re = new RegExp(`^(?:${names.map(escapeRe).join('|')})(?:\\s+\\([^)]*\\))?\\s+v?(\\d+(?:\\.\\d+)+[\\w.+~-]*)`);
  for (const out of outputs) {
    for (const raw of out.split(/\r?\n/)) {
      const line = raw.trim();
      const m = re.exec(line);
      if (m) return { line: line.replace(/\s+/g, ' '), version: m[1]! };
    }
  }
  return null;
}

const versionCache = new Map<string, Promise<string>>();

/** The version line of an installed host tool for manifest.json, "unknown" when it cannot be found out. */
export async function toolVersion(command: string): Promise<string> {
  const q = VERSION_QUERIES[command];
  if (!q) throw new Error(`no version query for ${command}`);
  const bin = await whichTool(command);
  if (!bin) return 'not installed';
  let v = versionCache.get(bin);
  if (!v) {
    v = execa(bin, q.args, { env: { LC_ALL: 'C' }, reject: false, stdin: 'ignore', timeout: 10_000 }).then(
      (r) => parseToolVersion(q.names, String(r.stdout ?? ''), String(r.stderr ?? ''))?.line ?? 'unknown',
      () => 'unknown',
    );
    versionCache.set(bin, v);
  }
  return v;
}
