/**
 * The one downloader (package feeds, official releases): one file to a local path over http(s) with redirects,
 * retry with exponential back-off, resume with HTTP Range from what is already on disk (or a fresh copy each
 * attempt), a hard size limit checked against Content-Length before reading and against every byte after,
 * cancellation; `file://` URLs and plain directories are copied with the same code path (local mirrors).
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { stat, truncate } from 'node:fs/promises';
import { dirname } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { CancelledError, NexusError } from '../../../src-shared/errors';
import { httpGet, RetryableError } from './http-get';
import { sleep } from '../runner';
import { errnoCode, storeWriteError } from '../store/content-store';

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
  /** Keep what is already on disk and ask for the rest (default); false starts over on every attempt. */
  resume?: boolean;
  /** The hint of the error after the last retry (what the user can do about this mirror). */
  retryHint?: string;
  /** The hint of NOT_FOUND for a local mirror directory. */
  localLayoutHint?: string;
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
  let have = opts.resume === false ? 0 : await sizeOnDisk(dest);
  if (opts.expectedSize !== undefined && have === opts.expectedSize) return;
  if (have > limit) {
    await truncate(dest, 0);
    have = 0;
  }
  let body: AsyncIterable<Buffer>;
  let flags = 'w';
  let announced: number | null = null;
  if (isLocal(source)) {
    const path = source.startsWith('file:') ? fileURLToPath(source) : source;
    try {
      const st = await stat(path);
      if (!st.isFile()) throw new Error('not a file');
      if (st.size > limit) throw tooLarge(source, st.size, limit);
      if (have > 0 && have <= st.size) flags = 'a';
      else have = 0;
    } catch (err) {
      if (err instanceof NexusError) throw err;
      throw new NexusError(
        'NOT_FOUND',
        `${source} does not exist.`,
        opts.localLayoutHint ?? 'Check the mirror directory; it must have the Alpine layout <branch>/<repo>/<arch>/.',
      );
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
      throw new NexusError(
        status === 404 || status === 410 ? 'NOT_FOUND' : 'HTTP_ERROR',
        `${source}: HTTP ${status}.`,
        status === 404 ? 'The mirror does not have this file; it may be out of date. Try another mirror.' : 'Check the mirror URL.',
      );
    }
    // What the server announces: refused before a byte is read when it is over the limit; a short body is retried.
    const length = Number(res.headers['content-length']);
    if (res.headers['content-length'] !== undefined && Number.isSafeInteger(length) && length >= 0) {
      announced = (flags === 'a' ? have : 0) + length;
      if (announced > limit) {
        res.resume();
        throw tooLarge(source, announced, limit);
      }
    }
    body = res;
  }
  let written = have;
  const counted = async function* (src: AsyncIterable<Buffer>) {
    for await (const chunk of src) {
      written += chunk.length;
      if (written > limit) throw tooLarge(source, written, limit);
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
    if (errnoCode(err) === 'ENOSPC') throw storeWriteError(err, dirname(dest), source);
    throw new RetryableError((err as Error).message);
  }
  const expected = opts.expectedSize ?? announced;
  if (expected !== null && written < expected) throw new RetryableError(`connection closed after ${written} of ${expected} bytes`);
}

function tooLarge(source: string, size: number, limit: number): NexusError {
  return new NexusError(
    'SIZE_LIMIT',
    `${source} is larger than the ${limit} bytes allowed (${size} bytes or more).`,
    'The mirror is serving a different file than the index or checksum list announces; try another mirror.',
  );
}

/** Downloads (or resumes) `source` into `dest`. */
export async function download(source: string, dest: string, opts: DownloadOptions = {}): Promise<void> {
  // Sizes come from indexes and lock files: refuse nonsense before touching the disk or the network.
  for (const [name, v] of [
    ['expected size', opts.expectedSize],
    ['size limit', opts.maxBytes],
  ] as const) {
    if (v !== undefined && (!Number.isSafeInteger(v) || v < 0)) {
      throw new NexusError(
        'BAD_SIZE',
        `Cannot download ${source}: the ${name} ${String(v)} is not a non-negative integer.`,
        'The index entry is damaged or hostile; fetch the index again or use another mirror.',
      );
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
      if (i >= retries) {
        throw new NexusError(
          'DOWNLOAD_FAILED',
          `Downloading ${source} failed after ${retries + 1} attempts: ${err.message}.`,
          opts.retryHint ??
            (opts.resume === false
              ? 'Check the network connection or try another mirror.'
              : 'Check the network connection or try another mirror; the partial file is kept and the next run resumes it.'),
        );
      }
      await sleep(backoff * 2 ** i, opts.signal);
    }
  }
}
