/**
 * Issue 13: nothing a client sends may crash `nexus serve`. The real server (startServer, the real dispatcher and
 * handlers) runs in a child process, so a crash shows as the child exiting; every hostile request is written as raw
 * bytes with node:net (malformed request lines really reach the server), then the server must still answer a normal
 * authenticated request, and a write started before the barrage must still report progress (its heartbeat).
 * Ends with a seeded, bounded fuzz loop (NEXUS_FUZZ_SEED / NEXUS_FUZZ_RUNS override the defaults).
 * Loopback only: every connection goes to 127.0.0.1.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import WebSocket from 'ws';

const CHILD = join(dirname(fileURLToPath(import.meta.url)), 'hostile-server-child.ts');
const HOST = '127.0.0.1';

interface Served {
  origin: string;
  token: string;
  port: number;
}

let child: ChildProcess;
let served: Served;
let dir: string;
let stderr = '';

function startChild(): Promise<Served> {
  child = spawn(process.execPath, ['--import', 'tsx', CHILD, dir], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`the server did not start:\n${stderr}`)), 60_000);
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const nl = out.indexOf('\n');
      if (nl >= 0) {
        clearTimeout(timer);
        resolve(JSON.parse(out.slice(0, nl)) as Served);
      }
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`the server exited (${code ?? signal}) before listening:\n${stderr}`));
    });
  });
}

const alive = () => child.exitCode === null && child.signalCode === null;

/** Writes raw bytes on a fresh connection; collects what comes back until the server closes it (or `ms` passes). */
function exchange(bytes: Buffer | string, o: { ms?: number; end?: boolean } = {}): Promise<{ text: string; status: number | null; closedByServer: boolean }> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    const socket = connect({ host: HOST, port: served.port });
    let closedByServer = false;
    const done = () => {
      clearTimeout(timer);
      socket.destroy();
      const text = Buffer.concat(chunks).toString('latin1');
      const m = /^HTTP\/1\.1 (\d{3})/.exec(text);
      resolve({ text, status: m ? Number(m[1]) : null, closedByServer });
    };
    const timer = setTimeout(done, o.ms ?? 2000);
    socket.on('error', () => undefined);
    socket.on('data', (d: Buffer) => chunks.push(d));
    socket.on('end', () => (closedByServer = true));
    socket.on('close', done);
    socket.on('connect', () => {
      socket.write(bytes);
      if (o.end) socket.end();
    });
  });
}

const hostHeader = () => `${HOST}:${served.port}`;
const request = (line: string, headers: string[] = []) => `${line}\r\n${[`Host: ${hostHeader()}`, 'Connection: close', ...headers].join('\r\n')}\r\n\r\n`;
const upgradeHeaders = () => [
  'Upgrade: websocket',
  'Connection: Upgrade',
  `Origin: http://${hostHeader()}`,
  `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}`,
  'Sec-WebSocket-Version: 13',
];

/** A normal authenticated request over HTTP, and (optionally) a contract call over a WebSocket. */
async function assertServing(withWs = true): Promise<void> {
  expect(alive(), `the server process died:\n${stderr}`).toBe(true);
  const res = await fetch(`${served.origin}/?token=${served.token}`);
  expect(res.status).toBe(200);
  expect(await res.text()).toContain('wizard');
  if (withWs) {
    const client = await openClient();
    try {
      expect(await client.call('system.info', {})).toMatchObject({ ok: true, value: { transport: 'websocket' } });
    } finally {
      client.ws.close();
    }
  }
}

/** A well-behaved client on the `ws` library: requests by id, events collected by name. */
async function openClient() {
  const ws = new WebSocket(`ws://${hostHeader()}/ws?token=${served.token}`, { headers: { Origin: served.origin } });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  const waiting = new Map<number, (r: unknown) => void>();
  const events: Array<{ name: string; payload: unknown }> = [];
  ws.on('message', (data: Buffer) => {
    const f = JSON.parse(data.toString()) as { kind: string; id?: number; response?: unknown; name?: string; payload?: unknown };
    if (f.kind === 'res') waiting.get(f.id!)?.(f.response);
    if (f.kind === 'evt') events.push({ name: f.name!, payload: f.payload });
  });
  let next = 1;
  const call = (name: string, payload: unknown) =>
    new Promise<unknown>((resolve) => {
      const id = next++;
      waiting.set(id, resolve);
      ws.send(JSON.stringify({ kind: 'req', id, name, payload }));
    });
  return { ws, call, events };
}

// ---- raw WebSocket frames -------------------------------------------------------------------------------------

interface FrameOptions {
  fin?: boolean;
  rsv?: number;
  mask?: boolean;
  declaredLength?: number;
}

/** A client frame, masked as RFC 6455 requires unless told otherwise; `declaredLength` may lie about the payload. */
function wsFrame(opcode: number, payload: Buffer, o: FrameOptions = {}): Buffer {
  const fin = o.fin ?? true;
  const mask = o.mask ?? true;
  const len = o.declaredLength ?? payload.length;
  const head: number[] = [(fin ? 0x80 : 0) | ((o.rsv ?? 0) << 4) | (opcode & 0x0f)];
  const m = mask ? 0x80 : 0;
  let ext = Buffer.alloc(0);
  if (len < 126) head.push(m | len);
  else if (len < 65536) {
    head.push(m | 126);
    ext = Buffer.alloc(2);
    ext.writeUInt16BE(len);
  } else {
    head.push(m | 127);
    ext = Buffer.alloc(8);
    ext.writeBigUInt64BE(BigInt(len));
  }
  if (!mask) return Buffer.concat([Buffer.from(head), ext, payload]);
  const key = randomBytes(4);
  const body = Buffer.from(payload.map((b, i) => b ^ key[i % 4]!));
  return Buffer.concat([Buffer.from(head), ext, key, body]);
}

/** An authenticated WebSocket done by hand on a raw socket, to send frames no library would send; closeCode() is the code of the server's close frame (null: none within 3 s). */
function rawWebSocket(): Promise<{ socket: Socket; closeCode: () => Promise<number | null> }> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: HOST, port: served.port });
    let buf = Buffer.alloc(0);
    let upgraded = false;
    let code: number | null = null;
    let settle: ((c: number | null) => void) | null = null;
    const closed = new Promise<number | null>((r) => (settle = r));
    socket.on('error', (err) => (upgraded ? undefined : reject(err)));
    socket.on('close', () => {
      if (!upgraded) reject(new Error('closed before the upgrade'));
      settle?.(code);
    });
    socket.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      if (!upgraded) {
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        const head = buf.subarray(0, end).toString('latin1');
        if (!head.startsWith('HTTP/1.1 101')) return reject(new Error(`no upgrade: ${head}`));
        upgraded = true;
        buf = buf.subarray(end + 4);
        resolve({ socket, closeCode: () => Promise.race([closed, new Promise<null>((r) => setTimeout(() => r(null), 3000))]) });
      }
      // Server frames are unmasked; only the close frame matters here.
      while (buf.length >= 2) {
        const op = buf[0]! & 0x0f;
        let len = buf[1]! & 0x7f;
        let off = 2;
        if (len === 126) {
          if (buf.length < 4) return;
          len = buf.readUInt16BE(2);
          off = 4;
        } else if (len === 127) {
          if (buf.length < 10) return;
          len = Number(buf.readBigUInt64BE(2));
          off = 10;
        }
        if (buf.length < off + len) return;
        if (op === 0x8 && code === null) {
          code = len >= 2 ? buf.readUInt16BE(off) : 1005;
          settle?.(code);
        }
        buf = buf.subarray(off + len);
      }
    });
    socket.on('connect', () => socket.write(request(`GET /ws?token=${served.token} HTTP/1.1`, upgradeHeaders()).replace('Connection: close\r\n', '')));
  });
}

const INVALID_UTF8 = Buffer.from([0x7b, 0x22, 0xc3, 0x28, 0xa0, 0xa1, 0xe2, 0x28, 0xa1, 0xf0, 0x28, 0x8c, 0xbc, 0x22, 0x7d]);

// ---- the tests ----------------------------------------------------------------------------------------------------

describe('nexus serve survives hostile requests (issue 13)', () => {
  let writer: Awaited<ReturnType<typeof openClient>>;
  let writeResult: Promise<unknown>;
  const heartbeats = () => writer.events.filter((e) => e.name === 'flash.progress').length;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'nexus-hostile-'));
    await mkdir(join(dir, 'images'), { recursive: true });
    await writeFile(join(dir, 'images', 'disk.img'), Buffer.alloc(4096));
    served = await startChild();
    // A write in progress: its heartbeat (progress events) must outlive everything below.
    writer = await openClient();
    writer.ws.send(JSON.stringify({ kind: 'sub', name: 'flash.progress' }));
    writeResult = writer.call('flash.start', {
      jobId: 'hostile-write',
      source: { kind: 'file', path: join(dir, 'images', 'disk.img') },
      targets: ['/dev/loop63'],
    });
    await vi.waitFor(() => expect(heartbeats()).toBeGreaterThan(0), { timeout: 5000 });
  });

  // A case that kills the server must not hide the next one: start it again (the write in progress is lost then).
  beforeEach(async () => {
    if (alive()) return;
    stderr = '';
    served = await startChild();
  });

  afterAll(async () => {
    writer?.ws.close();
    if (child && alive()) {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    }
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('answers 400 to a request target the URL parser refuses (GET http://[/), before any token check', async () => {
    const r = await exchange(request('GET http://[/ HTTP/1.1'));
    expect(r.status).toBe(400);
    await assertServing();
  });

  it('answers 400 to a token cookie with broken percent-encoding (nexus_token=%E0%A4%A)', async () => {
    expect((await exchange(request('GET / HTTP/1.1', ['Cookie: nexus_token=%E0%A4%A']))).status).toBe(400);
    expect((await exchange(request('GET / HTTP/1.1', ['Cookie: a=b; nexus_token=%; c']))).status).toBe(400);
    // A well-formed wrong cookie is still just forbidden, and the right one still works.
    expect((await exchange(request('GET / HTTP/1.1', ['Cookie: nexus_token=nope']))).status).toBe(403);
    expect((await exchange(request('GET / HTTP/1.1', [`Cookie: x=1; nexus_token=${served.token}`]))).status).toBe(200);
    await assertServing();
  });

  it('answers 400 to a path with broken percent-encoding or a NUL byte, even with the token', async () => {
    expect((await exchange(request(`GET /%E0%A4%A?token=${served.token} HTTP/1.1`))).status).toBe(400);
    expect((await exchange(request(`GET /a%00.html?token=${served.token} HTTP/1.1`))).status).toBe(400);
    expect((await exchange(request(`GET /../../../etc/passwd?token=${served.token} HTTP/1.1`))).status).not.toBe(200);
    await assertServing();
  });

  it('answers 400 to a WebSocket upgrade to http://[/ws, and the same cookie trick on an upgrade', async () => {
    expect((await exchange(request('GET http://[/ws HTTP/1.1', upgradeHeaders()))).status).toBe(400);
    expect((await exchange(request('GET /ws HTTP/1.1', [...upgradeHeaders(), 'Cookie: nexus_token=%E0%A4%A']))).status).toBe(400);
    await assertServing();
  });

  it('survives connections reset in the middle of a request or an upgrade', async () => {
    for (const partial of [
      'GET /?tok',
      `GET /ws?token=${'x'.repeat(32)} HTTP/1.1\r\nUpgrade: websocket\r\nConn`,
      request(`GET /ws?token=${served.token} HTTP/1.1`, upgradeHeaders()).replace('Connection: close\r\n', '').slice(0, -3),
    ]) {
      await new Promise<void>((resolve) => {
        const s = connect({ host: HOST, port: served.port }, () => {
          s.write(partial);
          setTimeout(() => {
            s.resetAndDestroy();
            resolve();
          }, 30);
        });
        s.on('error', () => resolve());
      });
    }
    // A client that resets right after sending a whole upgrade request (the server answers into a dead socket).
    await new Promise<void>((resolve) => {
      const s = connect({ host: HOST, port: served.port }, () => {
        s.write(request(`GET /ws?token=${served.token} HTTP/1.1`, upgradeHeaders()).replace('Connection: close\r\n', ''));
        s.resetAndDestroy();
        resolve();
      });
      s.on('error', () => resolve());
    });
    await new Promise((r) => setTimeout(r, 100));
    await assertServing();
  });

  it('closes only the offending WebSocket: 1009 for a message over 1 MiB, 1007 for invalid UTF-8', async () => {
    const bystander = await openClient();
    const cases: Array<[string, Buffer, number]> = [
      ['text message of 1 MiB + 1 byte', wsFrame(0x1, Buffer.alloc(1024 * 1024 + 1, 0x20)), 1009],
      ['header declaring 2^40 bytes', wsFrame(0x2, Buffer.alloc(0), { declaredLength: 2 ** 40 }), 1009],
      [
        'fragments adding up to more than 1 MiB',
        Buffer.concat([wsFrame(0x1, Buffer.alloc(700_000, 0x20), { fin: false }), wsFrame(0x0, Buffer.alloc(700_000, 0x20))]),
        1009,
      ],
      ['text message with invalid UTF-8', wsFrame(0x1, INVALID_UTF8), 1007],
      ['binary message with invalid UTF-8', wsFrame(0x2, INVALID_UTF8), 1007],
      ['close frame with an invalid UTF-8 reason', wsFrame(0x8, Buffer.concat([Buffer.from([0x03, 0xe8]), INVALID_UTF8])), 1007],
      ['unmasked client frame', wsFrame(0x1, Buffer.from('{}'), { mask: false }), 1002],
      ['reserved bits without an extension', wsFrame(0x1, Buffer.from('{}'), { rsv: 0b100 }), 1002],
    ];
    for (const [what, bytes, code] of cases) {
      const raw = await rawWebSocket();
      raw.socket.write(bytes);
      expect(await raw.closeCode(), what).toBe(code);
      raw.socket.destroy();
    }
    expect(bystander.ws.readyState).toBe(WebSocket.OPEN);
    expect(await bystander.call('system.info', {})).toMatchObject({ ok: true });
    // Garbage that is valid UTF-8 gets an error frame, not a closed socket.
    bystander.ws.send('{"kind":"req","id":-1}');
    bystander.ws.send(Buffer.from('not json'));
    expect(await bystander.call('toString', {})).toMatchObject({ ok: false, error: { code: 'UNKNOWN_COMMAND' } });
    bystander.ws.close();
    await assertServing();
  });

  it('a seeded fuzz of request lines, headers, cookies and WebSocket frames never crashes the server', async () => {
    const seed = Number(process.env.NEXUS_FUZZ_SEED ?? 0x13);
    const runs = Number(process.env.NEXUS_FUZZ_RUNS ?? 300);
    const started = Date.now();
    const statuses = new Map<string, number>();
    const rnd = mulberry32(seed);
    const gen = generators(rnd);
    const BATCH = 10;
    for (let i = 0; i < runs; i += BATCH) {
      await Promise.all(
        Array.from({ length: Math.min(BATCH, runs - i) }, async () => {
          const kind = rnd() < 0.7 ? 'http' : 'ws';
          if (kind === 'http') {
            const r = await exchange(gen.httpRequest(), { ms: 300, end: rnd() < 0.5 });
            const key = r.status === null ? 'none' : String(r.status);
            statuses.set(key, (statuses.get(key) ?? 0) + 1);
          } else {
            const frames = gen.wsFrames();
            const raw = await rawWebSocket().catch(() => null);
            if (!raw) {
              statuses.set('ws:refused', (statuses.get('ws:refused') ?? 0) + 1);
              return;
            }
            for (const f of frames) raw.socket.write(f);
            raw.socket.end();
            const code = await Promise.race([raw.closeCode(), new Promise<null>((r) => setTimeout(() => r(null), 300))]);
            raw.socket.destroy();
            const key = `ws:${code ?? 'open'}`;
            statuses.set(key, (statuses.get(key) ?? 0) + 1);
          }
        }),
      );
      expect(alive(), `seed ${seed}, iteration ${i}: the server process died:\n${stderr}`).toBe(true);
      if ((i / BATCH) % 5 === 4) await assertServing(false);
    }
    await assertServing();
    const seconds = (Date.now() - started) / 1000;
    console.info(`fuzz: seed ${seed}, ${runs} cases in ${seconds.toFixed(1)} s; outcomes ${JSON.stringify(Object.fromEntries([...statuses].sort()))}`);
    expect(statuses.get('400') ?? 0).toBeGreaterThan(0);
    expect(seconds).toBeLessThan(30);
  });

  it('the write started before all of this still reports progress and can be cancelled', async () => {
    const before = heartbeats();
    await expect.poll(heartbeats, { timeout: 5000 }).toBeGreaterThan(before + 2);
    const control = await openClient();
    expect(await control.call('job.cancel', { jobId: 'hostile-write' })).toEqual({ ok: true, value: { ok: true } });
    expect(await writeResult).toMatchObject({ ok: false, error: { code: 'CANCELLED' } });
    control.ws.close();
    expect(stderr).not.toMatch(/Uncaught|TypeError|URIError|RangeError/);
  });
});

// ---- the fuzz generators --------------------------------------------------------------------------------------------

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function generators(rnd: () => number) {
  const int = (n: number) => Math.floor(rnd() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)]!;
  const bytes = (n: number) => Buffer.from(Array.from({ length: n }, () => int(256)));
  const latin1 = (n: number) => bytes(n).toString('latin1');
  const percent = () =>
    Array.from({ length: 1 + int(4) }, () => pick(['%', '%E0', '%A4%A', '%ZZ', '%00', '%C3%28', `%${int(256).toString(16)}`, 'a', '='])).join('');
  const token = () => pick([served.token, '', 'nope', percent(), served.token.slice(1), `${served.token}x`]);

  const methods = ['GET', 'HEAD', 'POST', 'PUT', 'OPTIONS', 'CONNECT', 'TRACE', 'PRI', 'G\u0000T', '', 'GET GET', 'get'];
  const targets = () =>
    pick([
      '/',
      `/?token=${token()}`,
      'http://[/',
      'http://[/ws',
      `/ws?token=${token()}`,
      `/${percent()}`,
      `/${percent()}?token=${served.token}`,
      `/?token=${percent()}`,
      '*',
      '//',
      `http://${hostHeader()}/?token=${token()}`,
      `/assets/%2e%2e/%2e%2e/x?token=${served.token}`,
      `/${'a'.repeat(int(20_000))}`,
      `/${latin1(1 + int(40))}`,
      'http://[::1/',
      'http://a b/',
      `/?${'&'.repeat(int(5000))}`,
      '',
    ]);
  const versions = ['HTTP/1.1', 'HTTP/1.0', 'HTTP/2.0', 'HTTP/1.1 x', '', 'HTTP/9.9', 'HTTP/1.1\u0000'];
  const header = () =>
    pick([
      `Host: ${pick([hostHeader(), 'evil.example', '', '[', `localhost:${served.port}`, latin1(8)])}`,
      `Cookie: ${pick([`nexus_token=${token()}`, `nexus_token=${percent()}`, 'nexus_token', '=;=;;', `a=${percent()}; nexus_token=${percent()}`, latin1(1 + int(30))])}`,
      'Upgrade: websocket',
      'Connection: Upgrade',
      'Connection: close',
      'Connection: keep-alive',
      `Sec-WebSocket-Key: ${pick([randomBytes(16).toString('base64'), '', 'short', latin1(24)])}`,
      `Sec-WebSocket-Version: ${pick(['13', '8', '99', ''])}`,
      `Sec-WebSocket-Extensions: ${pick(['permessage-deflate', 'permessage-deflate; client_max_window_bits=7', latin1(10)])}`,
      `Origin: ${pick([`http://${hostHeader()}`, 'http://evil.example', 'null', '', latin1(12)])}`,
      `Content-Length: ${pick(['0', '5', '-1', '99999999999999999999', 'abc', '1, 2'])}`,
      `Transfer-Encoding: ${pick(['chunked', 'gzip, chunked', 'identity', latin1(6)])}`,
      `${latin1(1 + int(12))}: ${latin1(int(40))}`,
      `X-Long: ${'v'.repeat(int(20_000))}`,
    ]);

  const httpRequest = (): Buffer => {
    const eol = rnd() < 0.9 ? '\r\n' : pick(['\n', '\r', '\n\r']);
    const line = `${pick(methods)} ${targets()} ${pick(versions)}`;
    const headers = Array.from({ length: int(7) }, header);
    if (rnd() < 0.8) headers.unshift(`Host: ${hostHeader()}`);
    const ending = rnd() < 0.85 ? eol + eol : pick(['', eol]);
    const body = rnd() < 0.2 ? pick(['5\r\nhello\r\n0\r\n\r\n', 'zz\r\n', latin1(int(64))]) : '';
    return Buffer.from(line + (headers.length ? eol + headers.join(eol) : '') + ending + body, 'latin1');
  };

  const payload = (): Buffer =>
    pick([
      () =>
        Buffer.from(
          JSON.stringify({
            kind: 'req',
            id: int(5),
            name: pick(['system.info', 'settings.get', 'toString', '__proto__', 'constructor', 'catalog.get', 'history.list', 'job.cancel', 'drives.list']),
            payload: pick([{}, null, { jobId: 'fuzz-job' }, [], 'x']),
          }),
        ),
      () => Buffer.from(JSON.stringify({ kind: pick(['sub', 'unsub']), name: pick(['flash.progress', 'drives.changed', 'hasOwnProperty', '']) })),
      () => Buffer.from(JSON.stringify({ kind: 'req', id: pick([-1, 1.5, 2 ** 60, 'x']), name: 'system.info' })),
      () => Buffer.from(pick(['{', 'null', '[]', '"x"', '{"kind":"req"}', '1e999999', `{"a":${'['.repeat(5000)}`])),
      () => INVALID_UTF8,
      () => bytes(int(200)),
      () => Buffer.alloc(int(3) === 0 ? 1024 * 1024 + 1 : int(70_000), 0x20),
    ])();

  const wsFrames = (): Buffer[] =>
    Array.from({ length: 1 + int(4) }, () => {
      const p = payload();
      const opcode = rnd() < 0.7 ? pick([0x1, 0x2]) : int(16);
      const declared = rnd() < 0.8 ? undefined : pick([0, 125, 126, 65535, 65536, 2 ** 32, 2 ** 53 - 1, p.length + 1]);
      const frame = wsFrame(opcode, opcode >= 0x8 ? p.subarray(0, 125) : p, {
        fin: rnd() < 0.85,
        rsv: rnd() < 0.9 ? 0 : int(8),
        mask: rnd() < 0.95,
        ...(declared !== undefined ? { declaredLength: declared } : {}),
      });
      return rnd() < 0.15 ? frame.subarray(0, int(frame.length)) : frame;
    });

  return { httpRequest, wsFrames };
}
