/**
 * Security of the browser bridge and the page, against the real `nexus serve` host:
 * token on every HTTP request and WebSocket, Origin and Host checks, CSP, no Node in the page.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { API_KEYS, COMMAND_NAMES, EVENT_NAMES } from '../../src-shared/contract';
import { connectWebSocket } from '../../src-renderer/transport/ws-client';
import { hasChromium } from '../support/e2e/browser';
import { startE2eApp, type E2eApp } from '../support/e2e/app-fixture';

const wsStatus = (url: string, headers: Record<string, string>) =>
  new Promise<number>((resolve) => {
    const ws = new WebSocket(url, { headers });
    ws.on('open', () => {
      ws.close();
      resolve(101);
    });
    ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
    ws.on('error', () => resolve(-1));
  });

describe.skipIf(!hasChromium())('nexus serve security', () => {
  let app: E2eApp;
  let wsBase: string;
  beforeAll(async () => {
    app = await startE2eApp();
    wsBase = `${app.server.origin.replace('http', 'ws')}/ws`;
  });
  afterAll(async () => app?.close());

  it('binds to 127.0.0.1 and puts a long random token in the URL', () => {
    expect(app.server.origin).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(app.server.token.length).toBeGreaterThanOrEqual(32);
    expect(app.server.url).toBe(`${app.server.origin}/?token=${app.server.token}`);
  });

  it('refuses HTTP requests without the token, and answers with a strict CSP when it is given', async () => {
    expect((await fetch(`${app.server.origin}/`)).status).toBe(403);
    expect((await fetch(`${app.server.origin}/?token=wrong${app.server.token}`)).status).toBe(403);
    const ok = await fetch(app.server.url);
    expect(ok.status).toBe(200);
    const csp = ok.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(ok.headers.get('set-cookie')).toMatch(/HttpOnly; SameSite=Strict/);
  });

  it('refuses a request whose Host header is not ours (DNS rebinding)', async () => {
    const { request } = await import('node:http');
    const status = await new Promise<number>((resolve) => {
      request(app.server.url, { headers: { Host: `evil.example:${app.server.port}` } }, (res) => resolve(res.statusCode ?? 0)).end();
    });
    expect(status).toBe(421);
  });

  it('refuses a WebSocket without the token, with a wrong token, or from a foreign Origin', async () => {
    const origin = app.server.origin;
    expect(await wsStatus(wsBase, { Origin: origin })).toBe(401);
    expect(await wsStatus(`${wsBase}?token=nope`, { Origin: origin })).toBe(401);
    expect(await wsStatus(`${wsBase}?token=${app.server.token}`, { Origin: 'http://evil.example' })).toBe(403);
    expect(await wsStatus(`${wsBase}?token=${app.server.token}`, {})).toBe(403);
    expect(await wsStatus(`${wsBase}?token=${app.server.token}`, { Origin: origin })).toBe(101);
  });

  it('the WebSocket client exposes exactly the contract, and the server checks every request', async () => {
    class OriginWs extends WebSocket {
      constructor(url: string) {
        super(url, { headers: { Origin: app.server.origin } });
      }
    }
    const client = await connectWebSocket(`${wsBase}?token=${app.server.token}`, OriginWs as unknown as typeof globalThis.WebSocket);
    try {
      expect(Object.keys(client.api).sort()).toEqual([...API_KEYS].sort());
      expect(API_KEYS.length).toBe(COMMAND_NAMES.length + EVENT_NAMES.length);
      const bad = await client.api['flash.start']({ jobId: 'job-bad-1', source: { kind: 'file', path: '/etc/passwd' }, targets: [] } as never);
      expect(bad).toMatchObject({ ok: false, error: { code: 'INVALID_REQUEST' } });
      // A UI cannot smuggle a system drive in: the request schema has no includeSystem field.
      const sneaky = await client.api['flash.start']({
        jobId: 'job-bad-2',
        source: { kind: 'file', path: '/x.img' },
        targets: ['/dev/sda'],
        includeSystem: true,
      } as never);
      expect(sneaky).toMatchObject({ ok: false, error: { code: 'INVALID_REQUEST' } });
      const info = await client.api['system.info']({});
      expect(info).toMatchObject({ ok: true, value: { transport: 'websocket' } });
    } finally {
      client.close();
    }
  });

  it('the page has no Node: require, process and window.nexus are undefined; inline scripts are blocked', async () => {
    const page = await app.newPage();
    const violations: string[] = [];
    page.on('console', (m) => m.text().includes('Content Security Policy') && violations.push(m.text()));
    await page.goto(app.server.url);
    await page.getByRole('heading', { name: 'Choose a Box' }).waitFor();
    const globals = await page.evaluate(() => ({
      require: typeof (window as unknown as { require?: unknown }).require,
      process: typeof (window as unknown as { process?: unknown }).process,
      module: typeof (window as unknown as { module?: unknown }).module,
      nexus: typeof window.nexus,
    }));
    expect(globals).toEqual({ require: 'undefined', process: 'undefined', module: 'undefined', nexus: 'undefined' });
    const ran = await page.evaluate(() => {
      const s = document.createElement('script');
      s.textContent = 'window.__inlineRan = true';
      document.body.appendChild(s);
      return (window as unknown as { __inlineRan?: boolean }).__inlineRan === true;
    });
    expect(ran).toBe(false);
    expect(violations.length).toBeGreaterThan(0);
    // A foreign page cannot reach the API: without the token cookie/query the WebSocket is refused from the page too.
    const foreign = await page.evaluate(
      async (url) =>
        new Promise<string>((resolve) => {
          const ws = new window.WebSocket(url);
          ws.onopen = () => resolve('open');
          ws.onerror = () => resolve('refused');
        }),
      wsBase.replace('127.0.0.1', 'localhost'),
    );
    expect(foreign).toBe('refused');
    await page.close();
  });

  it('follows the OS colour scheme (light and dark)', async () => {
    const page = await app.newPage();
    const background = async (scheme: 'light' | 'dark') => {
      await page.emulateMedia({ colorScheme: scheme });
      await page.goto(app.server.url);
      await page.getByRole('heading', { name: 'Choose a Box' }).waitFor();
      return page.evaluate(() => getComputedStyle(document.body).backgroundColor);
    };
    expect(await background('light')).toBe('rgb(255, 255, 255)');
    expect(await background('dark')).toBe('rgb(18, 18, 18)');
    await page.close();
  });
});
