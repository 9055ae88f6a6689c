/**
 * One HTTP(S) GET shared by the package feeds and the official-image fetcher: a user agent, a no-data
 * timeout, cancellation, and up to five redirects (relative Location resolved against the current URL).
 * Network failures and timeouts come back as RetryableError so callers can retry with back-off.
 */
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { CancelledError } from '../../../src-shared/errors';

export class RetryableError extends Error {}

const MAX_REDIRECTS = 5;

function getOnce(url: string, headers: Record<string, string>, signal: AbortSignal | undefined, timeoutMs: number): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const req = (url.startsWith('https:') ? httpsRequest : httpRequest)(url, {
      headers: { 'user-agent': 'nexus-imager', ...headers },
      signal,
      timeout: timeoutMs,
    });
    req.on('response', resolve);
    req.on('timeout', () => req.destroy(new RetryableError(`no data for ${timeoutMs / 1000} s`)));
    req.on('error', (err) => reject(signal?.aborted ? new CancelledError() : err instanceof RetryableError ? err : new RetryableError(err.message)));
    req.end();
  });
}

/** The final response after redirects; the caller consumes or resumes its body. */
export async function httpGet(
  url: string,
  o: { headers?: Record<string, string>; signal?: AbortSignal | undefined; timeoutMs: number },
): Promise<IncomingMessage> {
  for (let hops = 0; ; hops++) {
    const res = await getOnce(url, o.headers ?? {}, o.signal, o.timeoutMs);
    const loc = res.headers.location;
    if (!res.statusCode || res.statusCode < 300 || res.statusCode >= 400 || !loc || hops >= MAX_REDIRECTS) return res;
    res.resume();
    url = new URL(loc, url).toString();
  }
}
