/** Terminal output helpers shared by every command: tables, JSON, errors with hints, exit codes. */
import { NexusError, isCancelled, toErrorInfo, type ErrorInfo } from '../../src-shared/errors';
import { isRecord } from '../../src-shared/narrow';

export const EXIT = { ok: 0, failed: 1, usage: 2, cancelled: 130 } as const;

export function table(rows: string[][], header?: string[]): string {
  const all = header ? [header, ...rows] : rows;
  const widths = all[0]?.map((_, i) => Math.max(...all.map((r) => (r[i] ?? '').length))) ?? [];
  const fmt = (r: string[]) =>
    r
      .map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  const lines = all.map(fmt);
  if (header) lines.splice(1, 0, widths.map((w) => '-'.repeat(w)).join('  '));
  return lines.join('\n');
}

export function printJson(value: unknown) {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** One JSON value on one line: the last record of an NDJSON progress stream. */
export function printJsonLine(value: unknown) {
  process.stdout.write(`${JSON.stringify(value)}\n`);
}

export function printError(err: unknown, json: boolean): number {
  const info: ErrorInfo = toErrorInfo(err);
  if (json) process.stdout.write(`${JSON.stringify({ ok: false, error: info })}\n`);
  else {
    process.stderr.write(`nexus: ${info.message}\n`);
    if (info.hint) process.stderr.write(`  hint: ${info.hint}\n`);
    if (!(err instanceof NexusError) && !isCancelled(err) && process.env.NEXUS_DEBUG && err instanceof Error) process.stderr.write(`${err.stack}\n`);
  }
  if (isCancelled(err)) return EXIT.cancelled;
  return info.code.startsWith('USAGE') ? EXIT.usage : EXIT.failed;
}

/** Wraps a command action: errors become messages with hints and an exit code, never a stack trace. */
export function action<A extends unknown[]>(fn: (...args: A) => Promise<number | void>) {
  return async (...args: A) => {
    // Commander passes the command's options as the one plain object among the arguments.
    const opts = args.find(isRecord);
    try {
      process.exitCode = (await fn(...args)) ?? EXIT.ok;
    } catch (err) {
      process.exitCode = printError(err, !!opts?.json);
    }
  };
}

/** An AbortSignal fired by Ctrl-C (a second Ctrl-C exits at once). */
export function interruptSignal(): AbortSignal {
  const ac = new AbortController();
  let count = 0;
  process.on('SIGINT', () => {
    count++;
    if (count > 1) process.exit(EXIT.cancelled);
    process.stderr.write('\nCancelling… (press Ctrl-C again to quit at once)\n');
    ac.abort();
  });
  return ac.signal;
}
