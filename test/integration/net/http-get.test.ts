/** The shared GET used by the feeds and the official-image fetcher, against a real loopback HTTP server. */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpGet, RetryableError } from '../../../src-main/engine/net/http-get';

let server: Server;
let base: string;
const seen: string[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    seen.push(`${req.url} ${req.headers['user-agent']} ${req.headers.range ?? ''}`);
    if (req.url === '/moved') return void res.writeHead(302, { location: 'sub/file' }).end();
    if (req.url === '/sub/file') return void res.writeHead(200).end('payload');
    if (req.url?.startsWith('/loop')) return void res.writeHead(301, { location: `/loop${Number(req.url.slice(5) || 0) + 1}` }).end();
    if (req.url === '/hang') return; // never answers
    res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(
  () =>
    new Promise<void>((r) => {
      server.closeAllConnections();
      server.close(() => r());
    }),
);

const body = async (res: AsyncIterable<Buffer>) => {
  const parts: Buffer[] = [];
  for await (const c of res) parts.push(c);
  return Buffer.concat(parts).toString();
};

describe('httpGet', () => {
  it('follows a relative redirect, keeping the request headers', async () => {
    seen.length = 0;
    const res = await httpGet(`${base}/moved`, { headers: { range: 'bytes=3-' }, timeoutMs: 5000 });
    expect(res.statusCode).toBe(200);
    expect(await body(res)).toBe('payload');
    expect(seen).toEqual(['/moved nexus-imager bytes=3-', '/sub/file nexus-imager bytes=3-']);
  });

  it('stops after five redirects and hands back the last answer', async () => {
    seen.length = 0;
    const res = await httpGet(`${base}/loop`, { timeoutMs: 5000 });
    res.resume();
    expect(res.statusCode).toBe(301);
    expect(seen).toHaveLength(6);
  });

  it('turns a silent server into a retryable timeout, and an abort into a cancellation', async () => {
    await expect(httpGet(`${base}/hang`, { timeoutMs: 200 })).rejects.toBeInstanceOf(RetryableError);
    const ac = new AbortController();
    const p = httpGet(`${base}/hang`, { timeoutMs: 10_000, signal: ac.signal });
    ac.abort();
    await expect(p).rejects.toMatchObject({ code: 'CANCELLED' });
  });
});
