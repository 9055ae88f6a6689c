/**
 * openbox in the browser against `nexus serve` with the real engine: OpenBSD's miniroot for the Raspberry Pi 5
 * from a fixture mirror signed with a test signify key (served over loopback HTTP), the board's OpenBSD notes
 * (not the Linux ones), a verified write onto a loop device, then sharing the install answers with the
 * installer over HTTP and seeing the fetch arrive.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startE2eApp, type E2eApp } from '../support/e2e/app-fixture';
import { hasChromium } from '../support/e2e/browser';
import { shot } from '../support/e2e/screenshots';
import { LoopSet, type Loop } from '../support/loop-devices';
import { fakeImage, makeSignifyKey, sha256List, signEmbedded } from '../support/signify';

const MiB = 1024 * 1024;
const isRoot = process.getuid?.() === 0;
const IMAGE = fakeImage(3 * MiB + 4096, 11);

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const { port } = s.address() as { port: number };
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

describe.skipIf(!hasChromium() || !isRoot)('openbox end to end (fixture OpenBSD mirror, loop device)', () => {
  let app: E2eApp;
  let root: string;
  const loops = new LoopSet();
  let card: Loop;

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'nexus-e2e-openbox-'));
    const signer = makeSignifyKey('openbsd 8.0 base public key (nexus test key)');
    const keysDir = join(root, 'keys');
    await mkdir(keysDir);
    await writeFile(join(keysDir, 'openbsd-80-base.pub'), signer.pubFile);
    const release = join(root, 'mirror', '8.0', 'arm64');
    await mkdir(release, { recursive: true });
    await writeFile(join(release, 'miniroot80.img'), IMAGE);
    await writeFile(join(release, 'SHA256.sig'), signEmbedded(signer, sha256List({ 'miniroot80.img': IMAGE })));
    card = await loops.create(32 * MiB);
    process.env.NEXUS_EXTRA_DRIVES = card.device;
    app = await startE2eApp({ mirror: join(root, 'mirror'), keysDir });
  });

  afterAll(async () => {
    await app?.close();
    await loops.detachAll();
    delete process.env.NEXUS_EXTRA_DRIVES;
    if (root) await rm(root, { recursive: true, force: true });
  });

  it("offers openbox on the Pi 5 with OpenBSD's notes, writes the verified miniroot and shares the install answers", async () => {
    const page = await app.newPage();
    await page.goto(app.server.url);
    await page.getByRole('button', { name: /^openbox:/ }).click();
    await page.getByRole('button', { name: 'Next: architecture and board' }).click();

    await page.getByRole('heading', { name: 'Architecture and board' }).waitFor();
    await page.getByRole('button', { name: 'arm64', exact: true }).click();
    await page.getByRole('button', { name: /Raspberry Pi 5/ }).click();
    await page.getByText(/OpenBSD\/arm64 supports the Raspberry Pi 5/).waitFor();
    // The board's notes for Nexus' own Linux images do not apply to OpenBSD's installer.
    await expect(page.getByText(/between the HDMI ports/).count()).resolves.toBe(0);
    await page.getByRole('button', { name: 'riscv64', exact: true }).click();
    await page.getByRole('button', { name: /VisionFive 2/ }).click();
    await page.getByText(/VisionFive 2 is community-tested/).waitFor();
    await expect(page.getByText(/RGPIO_0=1/).count()).resolves.toBe(0);
    await page.getByRole('button', { name: 'arm64', exact: true }).click();
    await page.getByRole('button', { name: /Raspberry Pi 5/ }).click();
    await page.getByRole('button', { name: 'Next: customize' }).click();

    await page.getByRole('heading', { name: 'Customize' }).waitFor();
    await page.getByRole('textbox', { name: 'Host name' }).fill('fortress');
    await page.getByRole('textbox', { name: 'User name' }).fill('puffy');
    await page.getByRole('button', { name: 'Next: build' }).click();

    await page.getByRole('heading', { name: 'Build' }).waitFor();
    await page.getByRole('button', { name: 'Start build' }).click();
    await page.getByText('Image ready').waitFor({ timeout: 60_000 });
    await page.getByRole('button', { name: /Details: files and checksum/ }).click();
    const files = page.getByRole('table', { name: 'Output files' });
    await expect(files.getByRole('cell', { name: 'OpenBSD install answers', exact: true }).count()).resolves.toBe(1);
    // An installer image has no Nexus boot marker to wait for.
    await expect(page.getByRole('button', { name: 'Try in a VM' }).count()).resolves.toBe(0);
    await page.getByRole('button', { name: 'Next: choose the drive' }).click();

    await page.getByRole('heading', { name: 'Choose the drive' }).waitFor();
    await page
      .getByRole('list', { name: 'Drives' })
      .getByRole('checkbox', { name: new RegExp(`^${card.device} `) })
      .check();
    await page.getByRole('checkbox', { name: 'Eject when done' }).uncheck();
    await page.getByRole('button', { name: 'Write', exact: true }).click();
    await page.getByRole('dialog', { name: 'Erase and write?' }).getByRole('button', { name: 'Erase and write' }).click();
    await page.getByText(/written and verified/).waitFor({ timeout: 60_000 });
    const steps = page.getByRole('list', { name: 'Next steps' });
    await steps.getByText(/type A, then type the answers URL/).waitFor();
    await expect(steps.getByText(/green LED/).count()).resolves.toBe(0);

    // Share the answers; the "installer" (this test) fetches them over HTTP.
    const port = await freePort();
    await page.getByRole('textbox', { name: 'Port' }).fill('80');
    await expect(page.getByRole('button', { name: 'Share the install answers' }).isDisabled()).resolves.toBe(true);
    await page.getByRole('textbox', { name: 'Port' }).fill(String(port));
    await page.getByRole('button', { name: 'Share the install answers' }).click();
    const urls = page.getByRole('list', { name: 'Answers URLs' });
    await urls
      .getByText(new RegExp(`:${port}/install\\.conf$`))
      .first()
      .waitFor();
    const res = await fetch(`http://127.0.0.1:${port}/install.conf`);
    expect(res.status).toBe(200);
    expect(await res.text()).toMatch(/^System hostname = fortress$/m);
    expect((await fetch(`http://127.0.0.1:${port}/etc/passwd`)).status).toBe(404);
    await page
      .getByRole('list', { name: 'Fetches' })
      .getByText(/fetched \/install\.conf/)
      .waitFor();
    await shot(page, '07-openbox-share-answers');

    await page.getByRole('button', { name: 'Stop sharing' }).click();
    await page.getByRole('button', { name: 'Share the install answers' }).waitFor();
    await expect(fetch(`http://127.0.0.1:${port}/install.conf`)).rejects.toThrow();

    const written = Buffer.alloc(IMAGE.length);
    const { open } = await import('node:fs/promises');
    const fh = await open(card.device, 'r');
    await fh.read(written, 0, IMAGE.length, 0);
    await fh.close();
    expect(written.equals(IMAGE)).toBe(true);
    await page.close();
  }, 180_000);
});
