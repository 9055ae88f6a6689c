/**
 * Fetches one release file from an http(s) mirror or a local mirror directory into a local file,
 * hashing while it writes. Redirects (5 hops), a hard size limit, retries with back-off for
 * transient failures, cancellation through AbortSignal. Nothing here decides whether the bytes are
 * trustworthy: callers compare the returned hash against a verified checksum list.
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { CancelledError, NexusError } from '../../../src-shared/errors';
import { httpGet, RetryableError } from '../net/http-get';
import { sleep } from '../runner';

export interface FetchOptions {
  signal?: AbortSignal;
  maxBytes?: number;
  retries?: number;
  backoffMs?: number;
  timeoutMs?: number;
  onBytes?: (done: number, total: number | null) => void;
}

export interface FetchResult {
  sha256: string;
  size: number;
  /** Where it came from (URL or absolute path). */
  source: string;
}

export function isRemote(mirror: string): boolean {
  return /^https?:\/\//i.test(mirror);
}

/** Joins a mirror (URL or directory) with relative path parts. */
export function mirrorPath(mirror: string, ...parts: string[]): string {
  if (isRemote(mirror)) return `${mirror.replace(/\/+$/, '')}/${parts.map(encodeURIComponent).join('/')}`;
  const dir = mirror.startsWith('file:') ? fileURLToPath(mirror) : mirror;
  return join(dir, ...parts);
}

async function once(source: string, dest: string, opts: FetchOptions): Promise<FetchResult> {
  const limit = opts.maxBytes ?? Infinity;
  let body: AsyncIterable<Buffer>;
  let total: number | null = null;
  if (!isRemote(source)) {
    try {
      const st = await stat(source);
      if (!st.isFile()) throw new Error('not a file');
      total = st.size;
    } catch {
      throw new NexusError('NOT_FOUND', `${source} does not exist in the local mirror.`, 'A local mirror must have the release layout VERSION/ARCH/ (for example 8.0/arm64/SHA256.sig).');
    }
    body = createReadStream(source, { highWaterMark: 1 << 20 });
  } else {
    const res = await httpGet(source, { signal: opts.signal, timeoutMs: opts.timeoutMs ?? 30_000 });
    const status = res.statusCode ?? 0;
    if (status !== 200) {
      res.resume();
      if (status >= 500 || status === 429 || status === 408) throw new RetryableError(`HTTP ${status}`);
      throw new NexusError(status === 404 || status === 410 ? 'NOT_FOUND' : 'HTTP_ERROR', `${source}: HTTP ${status}.`, status === 404 ? 'The mirror does not have this file (wrong release or architecture, or an incomplete mirror). Try another mirror.' : 'Check the mirror URL.');
    }
    const len = Number(res.headers['content-length']);
    total = Number.isFinite(len) && len >= 0 ? len : null;
    if (total !== null && total > limit) {
      res.resume();
      throw new NexusError('SIZE_LIMIT', `${source} is ${total} bytes, more than the ${limit} allowed.`, 'The mirror serves something else than a release file; try another mirror.');
    }
    body = res;
  }
  const h = createHash('sha256');
  let done = 0;
  const counted = async function* (src: AsyncIterable<Buffer>) {
    for await (const chunk of src) {
      done += chunk.length;
      if (done > limit) throw new NexusError('SIZE_LIMIT', `${source} is larger than the ${limit} bytes allowed.`, 'The mirror serves something else than a release file; try another mirror.');
      h.update(chunk);
      opts.onBytes?.(done, total);
      yield chunk;
    }
  };
  try {
    await pipeline(body, counted, createWriteStream(dest), ...(opts.signal ? [{ signal: opts.signal }] : []));
  } catch (err) {
    if (opts.signal?.aborted) throw new CancelledError();
    if (err instanceof NexusError) throw err;
    throw new RetryableError((err as Error).message);
  }
  if (total !== null && done !== total) throw new RetryableError(`connection closed after ${done} of ${total} bytes`);
  return { sha256: h.digest('hex'), size: done, source };
}

/** Fetches `source` (URL or local path) to `dest`, replacing it. */
export async function fetchToFile(source: string, dest: string, opts: FetchOptions = {}): Promise<FetchResult> {
  const retries = opts.retries ?? 3;
  for (let i = 0; ; i++) {
    if (opts.signal?.aborted) throw new CancelledError();
    try {
      return await once(source, dest, opts);
    } catch (err) {
      if (!(err instanceof RetryableError)) throw err;
      if (i >= retries) throw new NexusError('DOWNLOAD_FAILED', `Downloading ${source} failed after ${retries + 1} attempts: ${err.message}.`, 'Check the network connection or try another mirror (--mirror).');
      await sleep((opts.backoffMs ?? 300) * 2 ** i, opts.signal);
    }
  }
}
