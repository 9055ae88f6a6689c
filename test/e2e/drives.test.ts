/**
 * Safe drives, in Debian's Chromium against `nexus serve` with the real engine and loop devices: an existing
 * gzip image typed as `~/…` (the home of the computer running Nexus), whose file does not record its
 * decompressed size (too big for a trustworthy gzip ISIZE), is counted before drives are offered; the 16 MiB
 * card is refused with the reason and no confirmation can be reached for it; the write onto the 64 MiB card is
 * throttled to card speed, the page is reloaded in the middle, and the reloaded wizard shows the running write
 * and marks its drive in use; afterwards a new job starts with no drive ticked.
 */
import { execa } from 'execa';
import { gzipSync } from 'node:zlib';
import { stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasChromium } from '../support/e2e/browser';
import { startE2eApp, type E2eApp } from '../support/e2e/app-fixture';
import { shot } from '../support/e2e/screenshots';
import { serveDirectory } from '../support/http-server';
import { LoopSet, patternBytes, type Loop } from '../support/loop-devices';

const MiB = 1024 * 1024;
const isRoot = process.getuid?.() === 0;
const THROTTLE = '/sys/fs/cgroup/blkio/blkio.throttle.write_bps_device';

async function majMin(dev: string): Promise<string> {
  return (await execa('lsblk', ['-dno', 'MAJ:MIN', dev])).stdout.trim();
}

describe.skipIf(!hasChromium() || !isRoot)('drive step: sizes of compressed images, too-small cards, writes across a reload', () => {
  let app: E2eApp;
  const loops = new LoopSet();
  let small: Loop;
  let good: Loop;
  let home: string;
  const savedHome = process.env.HOME;
  let throttled: string | null = null;

  beforeAll(async () => {
    small = await loops.create(16 * MiB);
    good = await loops.create(64 * MiB);
    home = await loops.workDir();
    // 40 MiB, half random: the .gz is ~20 MiB, past the size below which its ISIZE field can be trusted.
    const raw = Buffer.concat([patternBytes(20 * MiB, 5), Buffer.alloc(20 * MiB)]);
    await writeFile(join(home, 'card.img.gz'), gzipSync(raw, { level: 1 }));
    process.env.NEXUS_EXTRA_DRIVES = loops.devices().join(',');
    process.env.HOME = home; // the server's `~`
    app = await startE2eApp();
  }, 120_000);

  afterAll(async () => {
    if (throttled) await writeFile(THROTTLE, `${throttled} 0`).catch(() => undefined);
    await app?.close();
    await loops.detachAll();
    delete process.env.NEXUS_EXTRA_DRIVES;
    process.env.HOME = savedHome;
  });

  it('counts a .gz image, refuses the 16 MiB card before any confirmation, follows a write across a reload', async () => {
    expect((await stat(join(home, 'card.img.gz'))).size).toBeGreaterThan(5 * MiB);
    const page = await app.newPage();
    await page.goto(app.server.url);
    await page.getByRole('heading', { name: 'Choose a Box' }).waitFor();
    await page.getByRole('textbox', { name: 'Image file' }).fill('~/card.img.gz');
    await page.getByRole('button', { name: 'Use this image' }).click();
    await page
      .getByRole('heading', { name: 'Choose the drive' })
      .waitFor()
      .catch(async (e) => {
        throw new Error(`${e}\n${await page.locator('main').innerText()}`);
      });
    // The size comes from counting (the file does not record it): 40 MiB.
    await page
      .getByText(`needs 40.0 MiB on the drive`)
      .waitFor()
      .catch(async (e) => {
        throw new Error(`${e}\n${await page.locator('main').innerText()}`);
      });
    expect(await page.getByText(join(home, 'card.img.gz')).count()).toBeGreaterThan(0);

    const smallBox = page.getByRole('checkbox', { name: new RegExp(small.device) });
    const goodBox = page.getByRole('checkbox', { name: new RegExp(good.device) });
    await expect(smallBox.isDisabled()).resolves.toBe(true);
    await page.getByText(new RegExp(`${small.device} holds 16.0 MiB but the image needs 40.0 MiB`)).waitFor();
    // Nothing ticked: the Write button (and so the erase confirmation) cannot be reached.
    await expect(page.getByRole('button', { name: 'Write', exact: true }).isDisabled()).resolves.toBe(true);
    await shot(page, 'drives-too-small-compressed');

    // A first write at page-cache speed; then "Write another drive" starts with nothing ticked.
    await goodBox.check();
    await page.getByRole('button', { name: 'Write', exact: true }).click();
    await page.getByRole('dialog', { name: 'Erase and write?' }).getByRole('button', { name: 'Erase and write' }).click();
    await page.getByText(/written and verified/).waitFor({ timeout: 60_000 });
    await page.getByRole('button', { name: 'Write another drive' }).click();
    await page.getByRole('heading', { name: 'Choose the drive' }).waitFor();
    await page.getByText('needs 40.0 MiB on the drive').waitFor();
    await expect(goodBox.isChecked()).resolves.toBe(false);
    await expect(page.getByRole('button', { name: 'Write', exact: true }).isDisabled()).resolves.toBe(true);

    // Card speed (4 MB/s) so the next write is still running after the reload.
    throttled = await majMin(good.device);
    await writeFile(THROTTLE, `${throttled} 4000000`);
    await goodBox.check();
    await page.getByRole('button', { name: 'Write', exact: true }).click();
    await page.getByRole('dialog', { name: 'Erase and write?' }).getByRole('button', { name: 'Erase and write' }).click();
    await page.getByRole('heading', { name: 'Write and verify' }).waitFor();
    await page.waitForTimeout(1000);

    await page.reload();
    // The reloaded wizard finds the running write and shows it, not a fresh Box screen.
    await page.getByRole('heading', { name: 'Write and verify' }).waitFor();
    await page.getByText(good.device).first().waitFor();
    // A second window follows the same write, and offers the card to nothing else (here: a backup).
    const other = await app.newPage();
    await other.goto(app.server.url);
    await other.getByRole('heading', { name: 'Write and verify' }).waitFor();
    await other.getByRole('button', { name: 'Back up a card' }).click();
    const busyRadio = other.getByRole('radio', { name: new RegExp(`${good.device}.*in use: Nexus Imager is writing to it`) });
    await busyRadio.waitFor();
    await expect(busyRadio.isDisabled()).resolves.toBe(true);
    await expect(other.getByRole('radio', { name: new RegExp(small.device) }).isDisabled()).resolves.toBe(false);
    await shot(other, 'drives-in-use-after-reload');

    await writeFile(THROTTLE, `${throttled} 0`);
    throttled = null;
    await page.getByText(/written and verified/).waitFor({ timeout: 60_000 });
    await other.close();
    const [fromCard, fromImage] = await Promise.all([
      execa('sh', ['-c', `head -c ${40 * MiB} ${good.device} | sha256sum`]),
      execa('sh', ['-c', `gzip -dc ${join(home, 'card.img.gz')} | sha256sum`]),
    ]);
    expect(fromCard.stdout.split(' ')[0]).toBe(fromImage.stdout.split(' ')[0]);
  }, 240_000);

  it("uploads an image picked in the browser (xz: its size comes from the file's index); the upload endpoint refuses strangers", async () => {
    const raw = Buffer.concat([patternBytes(3 * MiB, 9), Buffer.alloc(5 * MiB)]);
    const local = join(home, 'picked.img');
    await writeFile(local, raw);
    await execa('xz', ['-1', '-T1', local]);
    const page = await app.newPage();
    await page.goto(app.server.url);
    await page.getByRole('heading', { name: 'Choose a Box' }).waitFor();
    await page.getByLabel('Image file to upload').setInputFiles(`${local}.xz`);
    await page.getByRole('heading', { name: 'Choose the drive' }).waitFor();
    await page.getByText('needs 8.0 MiB on the drive').waitFor();
    // The upload landed in the server's staging folder, in a folder of its own.
    const shown = await page.locator('code').first().innerText();
    expect(shown).toMatch(new RegExp(`${join(app.dir, 'out', 'uploads')}/up-[^/]+/picked\\.img\\.xz$`));
    const { stdout } = await execa('sh', ['-c', `xz -dc '${shown}' | sha256sum`]);
    expect(stdout.split(' ')[0]).toBe((await execa('sh', ['-c', `xz -dc '${local}.xz' | sha256sum`])).stdout.split(' ')[0]);
    await expect(page.getByRole('checkbox', { name: new RegExp(small.device) }).isDisabled()).resolves.toBe(false);

    // No Origin (another program), a wrong Origin, no cookie, or not an image name: refused.
    const url = new URL(app.server.url);
    const cookie = `nexus_token=${app.server.token}`;
    const post = (name: string, headers: Record<string, string>) =>
      fetch(`${url.origin}/upload?name=${name}`, { method: 'POST', body: Buffer.from('x'), headers });
    expect((await post('a.img', { Cookie: cookie })).status).toBe(403);
    expect((await post('a.img', { Cookie: cookie, Origin: 'http://evil.example' })).status).toBe(403);
    expect((await post('a.img', { Origin: url.origin })).status).toBe(403);
    expect((await post('notes.txt', { Cookie: cookie, Origin: url.origin })).status).toBe(400);
    expect((await post('a.img', { Cookie: cookie, Origin: url.origin })).status).toBe(200);

    // From a URL: downloaded and checked first on request, then judged by its real size (a wrong checksum is refused).
    const served = await serveDirectory(home);
    try {
      const sha = (await execa('sha256sum', [`${local}.xz`])).stdout.split(' ')[0]!;
      for (const [checksum, expectOk] of [
        ['0'.repeat(64), false],
        [sha, true],
      ] as const) {
        const p2 = await app.newPage();
        await p2.goto(app.server.url);
        await p2.getByRole('textbox', { name: 'Or image URL' }).fill(`${served.url}/picked.img.xz`);
        await p2.getByRole('textbox', { name: 'SHA-256 of the download' }).fill(checksum);
        await p2.getByRole('button', { name: 'Use this image' }).click();
        await p2.getByRole('heading', { name: 'Choose the drive' }).waitFor();
        await p2.getByRole('button', { name: 'Download and check it first' }).click();
        if (expectOk) await p2.getByText('needs 8.0 MiB on the drive').waitFor();
        else await p2.getByText(/has SHA-256 [0-9a-f]{64}, expected 0{64}/).waitFor();
        await p2.close();
      }
    } finally {
      await served.close();
    }
  }, 120_000);
});
