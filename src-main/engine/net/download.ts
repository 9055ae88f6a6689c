/**
 * Downloads one file to a local path: http(s) with redirects, retry with exponential back-off,
 * resume with HTTP Range from what is already on disk, a hard size limit, cancellation; `file://`
 * URLs and plain directories are copied with the same code path (local mirrors).
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { stat, truncate } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { CancelledError, NexusError } from '../../../src-shared/errors';
import { httpGet, RetryableError } from '../net/http-get';
import { sleep } from '../runner';

export interface DownloadOptions {
  signal?: AbortSignal;
  /** Exact expected size (index S:); also the size limit. */
  expectedSize?: number;
  /** Refuse to write more than this many bytes. */
  maxBytes?: number;
  retries?: number;
  backoffMs?: number;
  /** Called with the number of new bytes written (not counting resumed bytes already on disk). */
  onBytes?: (delta: number) => void;
  /** Socket inactivity timeout. */
  timeoutMs?: number;
}

function isLocal(source: string): boolean {
  return source.startsWith('file:') || !/^[a-z][a-z0-9+.-]*:\/\//i.test(source);
}

async function sizeOnDisk(path: string): Promise<number> {
  try {
    return (await stat(path)).size;
  } catch {
    return 0;
  }
}

/** One attempt; throws RetryableError for transient failures. */
async function attempt(source: string, dest: string, opts: DownloadOptions): Promise<void> {
  const limit = opts.maxBytes ?? opts.expectedSize ?? Infinity;
  let have = await sizeOnDisk(dest);
  if (opts.expectedSize !== undefined && have === opts.expectedSize) return;
  if (have > limit) {
    await truncate(dest, 0);
    have = 0;
  }
  let body: AsyncIterable<Buffer>;
  let flags = 'w';
  if (isLocal(source)) {
    const path = source.startsWith('file:') ? fileURLToPath(source) : source;
    try {
      const size = (await stat(path)).size;
      if (have > 0 && have <= size) flags = 'a';
      else have = 0;
    } catch {
      throw new NexusError('NOT_FOUND', `${source} does not exist.`, 'Check the mirror directory; it must have the Alpine layout <branch>/<repo>/<arch>/.');
    }
    body = createReadStream(path, { start: have, highWaterMark: 1024 * 1024 });
  } else {
    const res = await httpGet(source, { headers: have > 0 ? { range: `bytes=${have}-` } : {}, signal: opts.signal, timeoutMs: opts.timeoutMs ?? 30_000 });
    const status = res.statusCode ?? 0;
    if (status === 206 && have > 0) {
      const m = /^bytes (\d+)-/.exec(String(res.headers['content-range'] ?? ''));
      if (!m || Number(m[1]) !== have) {
        res.resume();
        await truncate(dest, 0);
        throw new RetryableError('the server answered a different range');
      }
      flags = 'a';
    } else if (status === 200) {
      have = 0;
    } else if (status === 416 && have > 0) {
      res.resume();
      await truncate(dest, 0);
      throw new RetryableError('the partial file is larger than the remote file');
    } else {
      res.resume();
      if (status >= 500 || status === 429 || status === 408) throw new RetryableError(`HTTP ${status}`);
      throw new NexusError(status === 404 || status === 410 ? 'NOT_FOUND' : 'HTTP_ERROR', `${source}: HTTP ${status}.`, status === 404 ? 'The mirror does not have this file; it may be out of date. Try another mirror.' : 'Check the mirror URL.');
    }
    body = res;
  }
  let written = have;
  const counted = async function* (src: AsyncIterable<Buffer>) {
    for await (const chunk of src) {
      written += chunk.length;
      if (written > limit) {
        throw new NexusError('SIZE_LIMIT', `${source} is larger than the ${limit} bytes the index announces.`, 'The mirror is serving a different file; try another mirror.');
      }
      opts.onBytes?.(chunk.length);
      yield chunk;
    }
  };
  try {
    await pipeline(body, counted, createWriteStream(dest, { flags, highWaterMark: 1024 * 1024 }), { signal: opts.signal });
  } catch (err) {
    if (opts.signal?.aborted) throw new CancelledError();
    if (err instanceof NexusError) {
      if (err.code === 'SIZE_LIMIT') await truncate(dest, 0).catch(() => {});
      throw err;
    }
    throw new RetryableError((err as Error).message);
  }
  if (opts.expectedSize !== undefined && written < opts.expectedSize) throw new RetryableError(`connection closed after ${written} of ${opts.expectedSize} bytes`);
}

/** Downloads (or resumes) `source` into `dest`. */
export async function download(source: string, dest: string, opts: DownloadOptions = {}): Promise<void> {
  // Sizes come from indexes and lock files: refuse nonsense before touching the disk or the network.
  for (const [name, v] of [['expected size', opts.expectedSize], ['size limit', opts.maxBytes]] as const) {
    if (v !== undefined && (!Number.isSafeInteger(v) || v < 0)) {
      throw new NexusError('BAD_SIZE', `Cannot download ${source}: the ${name} ${String(v)} is not a non-negative integer.`, 'The index entry is damaged or hostile; fetch the index again or use another mirror.');
    }
  }
  const retries = opts.retries ?? 4;
  const backoff = opts.backoffMs ?? 250;
  for (let i = 0; ; i++) {
    if (opts.signal?.aborted) throw new CancelledError();
    try {
      return await attempt(source, dest, opts);
    } catch (err) {
      if (!(err instanceof RetryableError)) throw err;
      if (i >= retries) throw new NexusError('DOWNLOAD_FAILED', `Downloading ${source} failed after ${retries + 1} attempts: ${err.message}.`, 'Check the network connection or try another mirror; the partial file is kept and the next run resumes it.');
      await sleep(backoff * 2 ** i, opts.signal);
    }
  }
}
