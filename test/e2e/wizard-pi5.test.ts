/**
 * A newcomer with a Raspberry Pi 5, in Debian's Chromium against `nexus serve` and the real engine: starting from
 * the device ("What is it for?"), a Box in plain words, customization with an obvious fix applied, one overall build
 * bar, a "256 MB" card refused for the 257 MiB image before any confirmation, the image written and verified onto a
 * loop device, and next steps with the real user and host names. axe-core checks every step (and the 800×600 view);
 * the clicks to a written card are counted, for the closing note's comparison with Etcher and Raspberry Pi Imager.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, readFile } from 'node:fs/promises';
import type { Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fetchHistory, startE2eApp, type E2eApp } from '../support/e2e/app-fixture';
import { axeViolations, describeFindings, type AxeFinding } from '../support/e2e/axe';
import { hasChromium } from '../support/e2e/browser';
import { tallShot } from '../support/e2e/tall-shot';
import { LoopSet, type Loop } from '../support/loop-devices';

const MiB = 1024 * 1024;
const isRoot = process.getuid?.() === 0;

async function sha256Prefix(path: string, bytes: number): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path, { start: 0, end: bytes - 1 })) h.update(chunk as Buffer);
  return h.digest('hex');
}

/** Counts what a mouse user does: every click on the way to a written card. */
function clicker() {
  const clicks: string[] = [];
  return {
    clicks,
    async click(target: Locator, what: string) {
      await target.click();
      clicks.push(what);
    },
  };
}

/** The Next/Write button stays in view (sticky) at this size. */
async function navInView(page: Page) {
  const box = await page.getByRole('navigation', { name: 'Wizard navigation' }).boundingBox();
  const vp = page.viewportSize()!;
  return box !== null && box.y >= 0 && box.y + box.height <= vp.height + 1;
}

describe.skipIf(!hasChromium() || !isRoot)('wizard: the Raspberry Pi 5 path, device first (real engine, loop devices)', () => {
  let app: E2eApp;
  const loops = new LoopSet();
  let card: Loop;
  let tooSmall: Loop;

  beforeAll(async () => {
    card = await loops.create(320 * MiB);
    // What a card sold as "256 MB" holds.
    tooSmall = await loops.create(256_000_000);
    process.env.NEXUS_EXTRA_DRIVES = loops.devices().join(',');
    app = await startE2eApp({ withFeed: { arch: 'aarch64' } });
  }, 900_000);

  afterAll(async () => {
    await app?.close();
    await loops.detachAll();
    delete process.env.NEXUS_EXTRA_DRIVES;
  });

  it('Pi 5 first → tinybox → customize → build → a too-small card refused → written and verified; axe finds nothing serious', async () => {
    const page = await app.newPage();
    await page.setViewportSize({ width: 1280, height: 800 });
    const findings: AxeFinding[] = [];
    const axe = async (step: string) => findings.push(...(await axeViolations(page, step)));
    const { clicks, click } = clicker();
    await page.goto(app.server.url);

    // 1. The device is on the first screen; picking it filters the Boxes, and the Boxes speak plainly.
    await page.getByRole('heading', { name: 'Choose a Box' }).waitFor();
    await page.getByRole('heading', { name: 'What is it for?' }).waitFor();
    expect(await navInView(page)).toBe(true);
    await axe('choose a Box');
    const pi5 = page.getByRole('button', { name: /^Raspberry Pi 5/ });
    await click(pi5, 'device: Raspberry Pi 5');
    await expect(pi5.getAttribute('aria-pressed')).resolves.toBe('true');
    const boxes = page.getByRole('group', { name: 'Boxes' });
    await expect(boxes.getByText('STC-1').count()).resolves.toBe(0);
    await expect(boxes.getByText(/EROFS|dm-verity/).count()).resolves.toBe(0);
    await click(page.getByRole('button', { name: /^tinybox:/ }), 'Box: tinybox');
    // Details hold the technical facts (not a click on the way).
    await page.getByRole('button', { name: 'Details of tinybox' }).click();
    await boxes.getByText('STC-1').waitFor();
    await axe('choose a Box (device and details)');
    await tallShot(page, '01-start-from-the-device');
    // The visible focus ring (keyboard users): 3px solid on a focused card.
    await pi5.focus();
    await page.keyboard.press('Shift+Tab');
    await page.keyboard.press('Tab');
    const ring = await pi5.evaluate((el) => {
      const s = getComputedStyle(el);
      return `${s.outlineStyle} ${s.outlineWidth}`;
    });
    expect(ring).toBe('solid 3px');
    // The board step is answered already.
    await click(page.getByRole('button', { name: 'Next: customize' }), 'Next: customize');

    // 2. Customize: dropdowns, an obvious fix with a note.
    await page.getByRole('heading', { name: 'Customize' }).waitFor();
    await expect(page.getByRole('combobox', { name: 'Time zone' }).inputValue()).resolves.not.toBe('');
    await page.getByRole('textbox', { name: 'Host name' }).fill('pi-kitchen');
    const user = page.getByRole('textbox', { name: 'User name' });
    await user.fill('Alice');
    await page.getByLabel('Password', { exact: true }).focus();
    await expect(user.inputValue()).resolves.toBe('alice');
    await page.getByText(/User names are lower-case without spaces, so "Alice" becomes "alice"/).waitFor();
    await page.getByLabel('Password', { exact: true }).fill('correct horse battery');
    await page.getByLabel('Repeat password').fill('correct horse battery');
    // The keyboard layout from the list, by typing part of its name.
    const kb = page.getByRole('combobox', { name: 'Keyboard layout' });
    await kb.fill('German');
    await page.getByRole('option', { name: 'German (de)' }).click();
    await expect(kb.inputValue()).resolves.toBe('German (de)');
    await axe('customize');
    await tallShot(page, '03-customize-dropdowns-and-fixes');
    expect(await navInView(page)).toBe(true);
    await click(page.getByRole('button', { name: 'Next: build' }), 'Next: build');

    // 3. Build: one overall bar, plain stage names, files behind Details.
    await page.getByRole('heading', { name: 'Build' }).waitFor();
    await page.getByText(/tinybox for the Raspberry Pi 5 \(arm64\)/).waitFor();
    await axe('build (before)');
    await click(page.getByRole('button', { name: 'Start build' }), 'Start build');
    const overall = page.getByRole('progressbar', { name: /%/ });
    await overall.waitFor({ timeout: 120_000 });
    await page.getByText('Image ready').waitFor({ timeout: 300_000 });
    await expect(overall.getAttribute('aria-valuenow')).resolves.toBe('100');
    const stages = page.getByRole('list', { name: 'Build stages' });
    await stages.getByRole('listitem', { name: 'Choosing the packages: done' }).waitFor();
    await expect(stages.getByText('packages-resolve', { exact: true }).count()).resolves.toBe(0);
    await page.getByText('fits cards and USB sticks of 512 MB or larger').waitFor();
    await page.getByRole('button', { name: /Details: files and checksum/ }).click();
    await page
      .getByRole('table', { name: 'Output files' })
      .getByRole('cell', { name: /^Block map/ })
      .waitFor();
    await axe('build (done)');
    await tallShot(page, '04-build-overall-progress');
    await click(page.getByRole('button', { name: 'Next: choose the drive' }), 'Next: choose the drive');

    // 4. The drive: the "256 MB" card is refused before any confirmation, with the reason.
    await page.getByRole('heading', { name: 'Choose the drive' }).waitFor();
    const drives = page.getByRole('list', { name: 'Drives' });
    const box = (l: Loop) => drives.getByRole('checkbox', { name: new RegExp(`^${l.device} `) });
    await box(card).waitFor();
    await expect(box(tooSmall).isDisabled()).resolves.toBe(true);
    await expect(box(card).isChecked()).resolves.toBe(false);
    await axe('choose the drive');
    await click(box(card), 'tick the card');
    await page.getByRole('checkbox', { name: 'Eject when done' }).uncheck();
    await tallShot(page, '05-pi5-choose-the-drive');
    await click(page.getByRole('button', { name: 'Write', exact: true }), 'Write');
    const dialog = page.getByRole('dialog', { name: 'Erase and write?' });
    await dialog.getByText(card.device).waitFor();
    await axe('confirm erase');
    await click(dialog.getByRole('button', { name: 'Erase and write' }), 'Erase and write');

    // 5. Written and verified; next steps with the real names.
    await page.getByText(/written and verified/).waitFor({ timeout: 180_000 });
    const steps = page.getByRole('list', { name: 'Next steps' });
    const stepsText = await steps.innerText();
    expect(stepsText).toMatch(/Log in as alice /);
    expect(stepsText).toMatch(/calls itself pi-kitchen/);
    await axe('write and verify');
    await tallShot(page, '06-pi5-next-steps');

    // The card holds exactly the image the build made, for the user as typed (fixed) and the layout chosen.
    const history = await fetchHistory(app);
    expect(history[0]).toMatchObject({ box: 'tinybox', arch: 'arm64', board: 'rpi5', present: true });
    expect(history[0]!.size).toBeGreaterThan(256_000_000);
    expect(await sha256Prefix(card.device, history[0]!.size)).toBe(history[0]!.sha256);
    const manifest = JSON.parse(await readFile(history[0]!.manifest!, 'utf8')) as {
      plan: { customization: { hostname: string; keyboard: string; user?: { name: string; passwordHash?: string } } };
    };
    expect(manifest.plan.customization).toMatchObject({
      hostname: 'pi-kitchen',
      keyboard: 'de',
      user: { name: 'alice', passwordHash: expect.stringMatching(/^\$6\$/) },
    });

    // Device, Box, Next, Next, Start build, Next, tick, Write, Erase and write.
    console.log(`[clicks] Pi 5 path to a written card: ${clicks.length} (${clicks.join(' → ')})`);
    expect(clicks).toHaveLength(9);

    // An existing image (the one just built, by its path) onto the same card: the clicks after choosing the file.
    await page.getByRole('button', { name: 'Start over' }).click();
    await page.getByRole('heading', { name: 'Choose a Box' }).waitFor();
    // Blank the card's first MiB (the partition table), so the verified copy below is this write's.
    const dev = await open(card.device, 'r+');
    await dev.write(Buffer.alloc(MiB), 0, MiB, 0);
    await dev.sync();
    await dev.close();
    expect(await sha256Prefix(card.device, history[0]!.size)).not.toBe(history[0]!.sha256);
    const again = clicker();
    await page.getByRole('textbox', { name: 'Image file' }).fill(history[0]!.image);
    await again.click(page.getByRole('button', { name: 'Use this image' }), 'Use this image');
    await page.getByRole('heading', { name: 'Choose the drive' }).waitFor();
    await box(card).waitFor();
    await axe('choose the drive (existing image)');
    if (!(await box(card).isChecked())) await again.click(box(card), 'tick the card');
    await page.getByRole('checkbox', { name: 'Eject when done' }).uncheck();
    await again.click(page.getByRole('button', { name: 'Write', exact: true }), 'Write');
    await again.click(page.getByRole('dialog', { name: 'Erase and write?' }).getByRole('button', { name: 'Erase and write' }), 'Erase and write');
    await page.getByText(/written and verified/).waitFor({ timeout: 180_000 });
    expect(await sha256Prefix(card.device, history[0]!.size)).toBe(history[0]!.sha256);
    console.log(`[clicks] existing image to a written card, after typing or picking its path: ${again.clicks.length} (${again.clicks.join(' → ')})`);
    expect(again.clicks).toHaveLength(4);

    // The smallest common window: Back/Next still in view on the longest step.
    await page.setViewportSize({ width: 800, height: 600 });
    await page.getByRole('button', { name: 'Start over' }).click();
    await page.getByRole('heading', { name: 'Choose a Box' }).waitFor();
    expect(await navInView(page)).toBe(true);
    await axe('choose a Box at 800×600');
    expect(findings, describeFindings(findings)).toEqual([]);
    await page.close();
  }, 600_000);
});
