/**
 * The offline rescue path through the app, as a person without a terminal does it, in Debian's Chromium against
 * `nexus serve` with the real engine:
 *   connected: "Offline kit" → tick "Rescue stick for a PC" → see what it needs (packages, download, stick size) →
 *   prepare the kit (one file + .sha256) against the test mirror;
 *   offline (the mirror stopped, an empty cache): "Make a rescue stick" → the build fails with "no mirror answered"
 *   and offers the offline kit → import the kit (verified again; it says what it can build) → "Build from the
 *   offline kit" → put the kit on the stick too (a NEXUS-KIT partition) → write and verify onto a loop device the
 *   size of a 256 MB stick, and read the kit back from the stick.
 * The feed is the Debian-based test feed with the "rescue" replica pack (test/support/replica-packs/rescue.ts).
 */
import { execa } from 'execa';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasChromium } from '../support/e2e/browser';
import { fetchHistory, startE2eApp, type E2eApp } from '../support/e2e/app-fixture';
import { shot } from '../support/e2e/screenshots';
import { debianTestFeed } from '../support/debian-test-feed';
import { LoopSet, type Loop } from '../support/loop-devices';

const isRoot = process.getuid?.() === 0;
/** A stick sold as "256 MB" holds 256×10⁶ bytes: the smallest one still sold, and what the rescue stick needs. */
const STICK_256MB = 256_000_000;

async function sha256Prefix(path: string, bytes: number): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path, { start: 0, end: bytes - 1 })) h.update(chunk as Buffer);
  return h.digest('hex');
}

describe.skipIf(!hasChromium() || !isRoot)('offline kit: prepare online, import and build a rescue stick offline (real engine, loop device)', () => {
  let app: E2eApp;
  const loops = new LoopSet();
  let stick: Loop;

  beforeAll(async () => {
    stick = await loops.create(STICK_256MB);
    process.env.NEXUS_EXTRA_DRIVES = loops.devices().join(',');
    const feed = await debianTestFeed('x86_64', { packs: ['rescue'] });
    app = await startE2eApp({ mirror: feed.mirror, keysDir: feed.keysDir });
  }, 900_000);

  afterAll(async () => {
    await app?.close();
    await loops.detachAll();
    delete process.env.NEXUS_EXTRA_DRIVES;
  });

  it('prepares a kit for "Rescue stick for a PC", then with the mirror stopped and an empty cache imports it, builds tinybox + rescue for the PC and writes it', async () => {
    const page = await app.newPage();
    await page.goto(app.server.url);
    await page.getByRole('heading', { name: 'Choose a Box' }).waitFor();

    // Connected: prepare the kit.
    await page.getByRole('button', { name: 'Offline kit' }).click();
    const dialog = page.getByRole('dialog', { name: 'Offline kit' });
    const choices = dialog.getByRole('group', { name: 'Choices for the kit' });
    for (const box of await choices.getByRole('checkbox', { checked: true }).all()) await box.uncheck();
    await choices.getByRole('checkbox', { name: /^Rescue stick for a PC/ }).check();
    await dialog.getByRole('button', { name: 'Show what it needs' }).click();
    const contents = dialog.getByRole('table', { name: 'Kit contents' });
    const row = contents.getByRole('row', { name: /tinybox \+ rescue on pc/ });
    await row.waitFor({ timeout: 120_000 });
    // Alpine's closure of the rescue tools on the PC board, and the smallest stick it fits.
    const cells = await row.getByRole('cell').allInnerTexts();
    expect(Number(cells[1])).toBeGreaterThan(60);
    expect(cells[3]).toMatch(/^256 MB \(image /);
    const planned = await dialog.getByLabel('Kit size').innerText();
    console.log(`[offline-kit] kit plan: ${cells.join(' | ')}; ${planned}`);
    await shot(page, 'offline-1-kit-plan');
    await dialog.getByRole('button', { name: 'Prepare the kit' }).click();
    await dialog.getByText('Kit ready').waitFor({ timeout: 300_000 });
    const kitFile = (await dialog.getByLabel('Prepared kit file').innerText()).trim();
    const kitBytes = (await stat(kitFile)).size;
    const sidecar = await readFile(`${kitFile}.sha256`, 'utf8');
    expect(sidecar).toMatch(new RegExp(`^[0-9a-f]{64}  ${kitFile.replace(/^.*\//, '').replace(/[.]/g, '\\.')}\\n$`));
    console.log(`[offline-kit] kit file ${kitFile}: ${kitBytes} bytes`);
    await shot(page, 'offline-2-kit-ready');
    await dialog.getByRole('button', { name: 'Close' }).click();

    // Offline: no mirror answers, and this machine's cache is empty.
    await app.mirror!.close();
    await app.freshCache();
    await page.reload();
    await page.getByRole('heading', { name: 'Choose a Box' }).waitFor();
    await page.getByRole('button', { name: 'Make a rescue stick' }).click();
    await page.getByRole('heading', { name: 'Customize' }).waitFor();
    await expect(page.getByRole('checkbox', { name: /^rescue — Rescue tools/ }).isChecked()).resolves.toBe(true);
    await page.getByRole('button', { name: 'Next: build' }).click();
    await page.getByRole('heading', { name: 'Build' }).waitFor();
    await page.getByRole('button', { name: 'Start build' }).click();
    await page.getByRole('alert').filter({ hasText: 'The build failed' }).getByText('MIRROR_UNREACHABLE').waitFor({ timeout: 120_000 });
    await page.getByText('No network? Build without a mirror').waitFor();
    await page.getByText(/Not everything is here yet .*import an offline kit first/).waitFor();
    await shot(page, 'offline-3-build-offer');

    const importStarted = Date.now();
    await page.getByRole('button', { name: 'Import an offline kit…' }).click();
    await dialog.getByRole('textbox', { name: 'Kit file' }).fill(kitFile);
    await dialog.getByRole('button', { name: 'Import', exact: true }).click();
    await dialog.getByText('Kit imported').waitFor({ timeout: 300_000 });
    await dialog.getByText(/the file matched its checksum/).waitFor();
    const canBuild = dialog.getByRole('list', { name: 'What this computer can build offline' });
    await canBuild.getByText('Can build tinybox + rescue on pc offline.').waitFor();
    const imported = Date.now();
    await shot(page, 'offline-4-kit-imported');
    await dialog.getByRole('button', { name: 'Close' }).click();

    await page.getByText('This computer has everything this build needs.').waitFor();
    await page.getByRole('button', { name: 'Build from the offline kit' }).click();
    await page.getByText('Image ready').waitFor({ timeout: 300_000 });
    await page.getByText(/fits cards and USB sticks of 256 MB or larger/).waitFor();
    await shot(page, 'offline-5-build-done');
    // The stick carries the kit too: a NEXUS-KIT partition on a copy of the image, which the next steps write.
    await page.getByRole('button', { name: 'Offline kit' }).click();
    await dialog.getByRole('button', { name: 'Put the kit on the stick too' }).click();
    await dialog.getByText('The stick image carries the kit').waitFor({ timeout: 120_000 });
    await dialog.getByText(/fits cards and USB sticks of 256 MB or larger/).waitFor();
    await shot(page, 'offline-6-kit-on-the-stick');
    await dialog.getByRole('button', { name: 'Close' }).click();
    const built = Date.now();
    await page.getByRole('button', { name: 'Next: choose the drive' }).click();

    await page.getByRole('heading', { name: 'Choose the drive' }).waitFor();
    const drive = page.getByRole('list', { name: 'Drives' }).getByRole('checkbox', { name: new RegExp(`^${stick.device} `) });
    await drive.check();
    const eject = page.getByRole('checkbox', { name: 'Eject when done' });
    if (await eject.isChecked()) await eject.uncheck();
    await page.getByRole('button', { name: 'Write', exact: true, disabled: false }).click();
    const confirm = page.getByRole('dialog', { name: 'Erase and write?' });
    await confirm.getByRole('button', { name: 'Erase and write' }).click();
    await page.getByText(/written and verified/).waitFor({ timeout: 180_000 });
    const written = Date.now();
    await shot(page, 'offline-7-rescue-stick-written');

    const history = await fetchHistory(app);
    expect(history[0]).toMatchObject({ box: 'tinybox', arch: 'x86_64', board: 'pc', fragments: ['rescue'], present: true });
    expect(history[0]!.image).toMatch(/-with-kit\.img$/);
    expect(await sha256Prefix(stick.device, history[0]!.size)).toBe(history[0]!.sha256);
    // On the stick: partition 2, NEXUS-KIT, holding the kit byte for byte.
    const { stdout: info } = await execa('sgdisk', ['-i', '2', stick.device]);
    expect(info).toMatch(/Partition name: 'NEXUS-KIT'/);
    const start = Number(/First sector: (\d+)/.exec(info)![1]);
    await execa('mcopy', ['-i', `${stick.device}@@${start * 512}`, `::/${kitFile.replace(/^.*\//, '')}`, `${kitFile}.from-stick`], {
      env: { MTOOLS_SKIP_CHECK: '1' },
    });
    expect(
      createHash('sha256')
        .update(await readFile(`${kitFile}.from-stick`))
        .digest('hex'),
    ).toBe(sidecar.slice(0, 64));
    console.log(
      `[offline-kit] import ${((imported - importStarted) / 1000).toFixed(1)} s, offline build + kit partition ${((built - imported) / 1000).toFixed(1)} s, write+verify ${((written - built) / 1000).toFixed(1)} s: import to written stick ${((written - importStarted) / 1000).toFixed(1)} s (image ${history[0]!.size} bytes)`,
    );
    await page.close();
  }, 900_000);
});
