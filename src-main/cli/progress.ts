/** Renders pipeline events in a terminal: one live line on a TTY, plain lines otherwise, NDJSON with --json. */
import { formatBytes, formatDuration, formatRate } from '../../src-shared/format';
import type { PipelineEvent } from '../../src-shared/progress';

export function progressPrinter(opts: { json: boolean; verbose?: boolean; stream?: NodeJS.WriteStream }): (e: PipelineEvent) => void {
  const out = opts.stream ?? process.stderr;
  if (opts.json) return (e) => process.stdout.write(`${JSON.stringify(e)}\n`);
  const tty = !!out.isTTY;
  let live = false;
  const started = new Map<string, number>();
  const took = (stage: string) => {
    const t = started.get(stage);
    if (t === undefined) return '';
    const s = (Date.now() - t) / 1000;
    return s < 0.05 ? '' : ` (${s < 10 ? s.toFixed(1) : Math.round(s)} s)`;
  };
  const clear = () => {
    if (live) out.write('\r\x1b[2K');
    live = false;
  };
  return (e) => {
    if (e.type === 'log') {
      if (e.level === 'debug' && !opts.verbose) return;
      clear();
      out.write(`  ${e.level === 'info' ? '' : `${e.level}: `}${e.message}\n`);
      return;
    }
    if (e.status === 'pending' || e.status === 'skipped') return;
    if (e.status === 'running') {
      if (!started.has(e.stage)) started.set(e.stage, Date.now());
      if (!tty) {
        if (e.fraction === 0) out.write(`→ ${e.message}\n`);
        return;
      }
      const pct = e.fraction === null ? '' : `${Math.round(e.fraction * 100)}% `;
      const bytes = e.bytesDone !== null ? ` ${formatBytes(e.bytesDone)}${e.bytesTotal ? `/${formatBytes(e.bytesTotal)}` : ''}` : '';
      const rate = e.rate ? ` ${formatRate(e.rate)}` : '';
      const eta = e.etaSeconds ? ` ETA ${formatDuration(e.etaSeconds)}` : '';
      const line = `${e.stage}: ${pct}${e.message}${bytes}${rate}${eta}`;
      out.write(`\r\x1b[2K${line.slice(0, (out.columns ?? 100) - 1)}`);
      live = true;
      return;
    }
    clear();
    const mark = e.status === 'done' ? '✓' : e.status === 'cancelled' ? '■' : '✗';
    out.write(`${mark} ${e.message}${e.status === 'done' ? took(e.stage) : ''}\n`);
  };
}
