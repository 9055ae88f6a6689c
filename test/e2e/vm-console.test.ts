/**
 * "Try in a VM" in Debian's Chromium against `nexus serve`: tinybox for qemu-x86_64 built from the test feed in
 * the wizard, booted in QEMU (TCG) with its serial console streamed live into the page; the boot marker's line
 * is highlighted, then the user does what comes next on that console: logs in with the account made in the
 * Customize step and runs a command, and Stop ends the VM. A hardware board's image is not offered a VM.
 */
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasChromium } from '../support/e2e/browser';
import { startE2eApp, type E2eApp } from '../support/e2e/app-fixture';
import { shot } from '../support/e2e/screenshots';

const PASSWORD = 'correct horse battery';

describe.skipIf(!hasChromium() || !existsSync('/usr/bin/qemu-system-x86_64'))('live VM console (real build, real QEMU boot)', () => {
  let app: E2eApp;

  beforeAll(async () => {
    app = await startE2eApp({ withFeed: true });
  }, 300_000);

  afterAll(async () => {
    await app?.close();
  });

  it('streams the console, highlights the boot marker, takes a login and a command, and stops', async () => {
    const page = await app.newPage();
    await page.goto(app.server.url);
    await page.getByRole('heading', { name: 'Choose a Box' }).waitFor();
    await page.getByRole('button', { name: /^tinybox:/ }).click();
    await page.getByRole('button', { name: 'Next: architecture and board' }).click();
    await page.getByRole('heading', { name: 'Architecture and board' }).waitFor();
    await page.getByRole('button', { name: /QEMU virtual machine \(x86_64/ }).click();
    await page.getByRole('button', { name: 'Next: customize' }).click();
    await page.getByRole('heading', { name: 'Customize' }).waitFor();
    await page.getByRole('textbox', { name: 'User name' }).fill('ada');
    await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
    await page.getByLabel('Repeat password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Next: build' }).click();
    await page.getByRole('button', { name: 'Start build' }).click();
    await page.getByText('Image ready').waitFor({ timeout: 240_000 });

    await page.getByRole('button', { name: 'Try in a VM' }).click();
    const consoleView = page.getByRole('log', { name: 'VM console' });
    // Firmware and kernel text arrive while it boots, before any marker.
    await consoleView.waitFor({ timeout: 60_000 });
    const marker = consoleView.locator('mark[data-boot-marker]');
    await marker.waitFor({ timeout: 180_000 });
    expect(await marker.innerText()).toContain('NEXUS-BOOT');
    await page.getByText('Booted. Log in on the console below.').waitFor();

    // What a user does next: log in on that console and run a command.
    const input = page.getByRole('textbox', { name: 'Type on the console' });
    // dinit may still print a status line ("[  OK  ] nexus-ready") right after getty's prompt, on the same line.
    await expect.poll(() => consoleView.innerText(), { timeout: 90_000 }).toMatch(/login: /);
    await input.fill('ada');
    await input.press('Enter');
    await expect.poll(() => consoleView.innerText(), { timeout: 60_000 }).toMatch(/Password:/);
    await input.fill(PASSWORD);
    await input.press('Enter');
    await expect.poll(() => consoleView.innerText(), { timeout: 60_000 }).toMatch(/[$#] *$/m);
    await input.fill('id; echo hostname=$(hostname)');
    await input.press('Enter');
    await expect.poll(() => consoleView.innerText(), { timeout: 60_000 }).toMatch(/uid=\d+\(ada\)/);
    // Escape sequences never reach the view.
    const shown = await consoleView.innerText();
    expect(shown.includes(String.fromCharCode(27))).toBe(false);
    expect(shown).not.toMatch(/\[\d+;\d+H|\[0m|\[6n|\[2J/);
    await shot(page, '08-try-in-a-vm');

    await page.getByRole('button', { name: 'Stop the VM' }).click();
    await page.getByText('The VM stopped (it had booted).').waitFor({ timeout: 30_000 });
    await expect(page.getByRole('button', { name: 'Start the VM again' }).isVisible()).resolves.toBe(true);
  }, 600_000);
});
