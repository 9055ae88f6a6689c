import { afterEach, describe, expect, it } from 'vitest';
import { serveAnswers, type AnswersServer } from '../../../src-main/engine/official/serve';

let server: AnswersServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

describe('serve-answers (install.conf for the OpenBSD installer over HTTP)', () => {
  it('serves install.conf under the names the installer asks for, and nothing else', async () => {
    const text = 'System hostname = fortress\n';
    server = await serveAnswers(text, { host: '127.0.0.1', port: 0 });
    expect(server.urls).toEqual([`http://127.0.0.1:${server.port}/install.conf`]);
    const base = `http://127.0.0.1:${server.port}`;
    for (const path of ['/install.conf', '/00:1a:2b:3c:4d:5e-install.conf', '/fortress-install.conf']) {
      const r = await fetch(base + path);
      expect(r.status, path).toBe(200);
      expect(await r.text()).toBe(text);
    }
    for (const path of ['/', '/etc/passwd', '/install.conf.bak', '/a/install.conf', '/upgrade.conf']) {
      expect((await fetch(base + path)).status, path).toBe(404);
    }
    expect((await fetch(base + '/install.conf', { method: 'POST', body: 'x' })).status).toBe(404);
    expect(server.requests.filter((r) => r.status === 200)).toHaveLength(3);
  });

  it('says clearly when the port is taken', async () => {
    server = await serveAnswers('x', { host: '127.0.0.1', port: 0 });
    await expect(serveAnswers('x', { host: '127.0.0.1', port: server.port })).rejects.toMatchObject({ code: 'SERVE_FAILED' });
  });
});
