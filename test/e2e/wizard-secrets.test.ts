/**
 * Secrets are never stored and never silently dropped: a user enters a password and a Wi-Fi passphrase, the page is
 * reloaded, and the wizard asks for both again before it lets the build start (no image without the password or with
 * an open-network entry by accident). Also: "UK" becomes GB with a note, a Wi-Fi network turns on the wifi add-on
 * (turned off again here, and the build then ranks the missing Wi-Fi service as blocking), and the re-entered secrets
 * reach the image (its manifest). Real engine and test feed, Debian's Chromium; axe-core on each screen.
 */
import { readFile } from 'node:fs/promises';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REDACTED } from '../../src-shared/plan';
import { fetchHistory, startE2eApp, type E2eApp } from '../support/e2e/app-fixture';
import { axeViolations, describeFindings, type AxeFinding } from '../support/e2e/axe';
import { hasChromium } from '../support/e2e/browser';
import { tallShot } from '../support/e2e/tall-shot';

const PASSWORD = 'correct horse battery';
const PASSPHRASE = 'wifi passphrase 1';

describe.skipIf(!hasChromium())('wizard: secrets after a reload (real engine)', () => {
  let app: E2eApp;
  beforeAll(async () => {
    app = await startE2eApp({ withFeed: true });
  }, 600_000);
  afterAll(() => app?.close());

  const findings: AxeFinding[] = [];
  const toCustomize = async (page: Page) => {
    await page.getByRole('heading', { name: 'Choose a Box' }).waitFor();
    await page.getByRole('button', { name: /^Next: / }).click();
    await page.getByRole('heading', { name: /^(Architecture and board|Customize)$/ }).waitFor();
    if (await page.getByRole('heading', { name: 'Architecture and board' }).isVisible()) {
      findings.push(...(await axeViolations(page, 'architecture and board')));
      await page.getByRole('button', { name: 'Next: customize' }).click();
    }
    await page.getByRole('heading', { name: 'Customize' }).waitFor();
  };

  it('asks for the password and Wi-Fi passphrase again after a reload, before building; the image gets them', async () => {
    const page = await app.newPage();
    await page.goto(app.server.url);
    await page.getByRole('heading', { name: 'What is it for?' }).waitFor({ timeout: 60_000 });
    await page.getByRole('button', { name: /^Try in a virtual machine/ }).click();
    await page.getByRole('button', { name: /^tinybox:/ }).click();
    await page.getByRole('button', { name: 'Next: customize' }).click();
    await page.getByRole('heading', { name: 'Customize' }).waitFor();

    await page.getByRole('textbox', { name: 'User name' }).fill('alice');
    await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
    await page.getByLabel('Repeat password').fill(PASSWORD);
    await page.getByRole('textbox', { name: 'Wi-Fi network (SSID)' }).fill('homenet');
    // A network turns on the add-on it needs, and says so.
    const wifi = page.getByRole('checkbox', { name: /^wifi — / });
    await expect(wifi.isChecked()).resolves.toBe(true);
    await page.getByText(/"wifi" add-on was turned on/).waitFor();
    await page.getByLabel('Wi-Fi passphrase').fill(PASSPHRASE);
    // "UK" is what people type; ISO 3166 says GB.
    const country = page.getByRole('combobox', { name: 'Wi-Fi country' });
    await country.fill('UK');
    await page.getByRole('option', { name: 'United Kingdom (GB)' }).waitFor();
    await country.press('Enter');
    await expect(country.inputValue()).resolves.toBe('United Kingdom (GB)');
    await page.getByText(/"UK" is written "GB" in ISO 3166/).waitFor();
    // The test feed has no Wi-Fi daemon: turn the add-on off (respected: it is not turned on again).
    await wifi.uncheck();
    await page.getByLabel('Wi-Fi passphrase').fill(PASSPHRASE);
    await expect(wifi.isChecked()).resolves.toBe(false);
    findings.push(...(await axeViolations(page, 'customize with secrets')));
    await page.getByRole('button', { name: 'Next: build' }).click();
    await page.getByRole('heading', { name: 'Build' }).waitFor();

    // Reload: the choices come back, the secrets do not, and the wizard says so instead of building without them.
    await page.reload();
    await toCustomize(page);
    await expect(page.getByRole('textbox', { name: 'User name' }).inputValue()).resolves.toBe('alice');
    await expect(page.getByLabel('Password', { exact: true }).inputValue()).resolves.toBe('');
    await page.getByRole('alert').filter({ hasText: 'You set a password for alice before the page was reloaded' }).waitFor();
    await page.getByRole('alert').filter({ hasText: 'You entered a passphrase for "homenet"' }).waitFor();
    await expect(page.getByRole('button', { name: 'Next: build' }).isDisabled()).resolves.toBe(true);
    findings.push(...(await axeViolations(page, 'customize after reload')));
    await tallShot(page, '03-customize-secrets-after-reload');

    // Typed again: the build goes ahead, and what cannot work is ranked first.
    await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
    await page.getByLabel('Repeat password').fill(PASSWORD);
    await page.getByLabel('Wi-Fi passphrase').fill(PASSPHRASE);
    await page.getByRole('button', { name: 'Next: build', disabled: false }).click();
    await page.getByRole('heading', { name: 'Build' }).waitFor();
    const before = page.getByRole('region', { name: 'Before you build' });
    await before.getByText('Needs your attention').waitFor();
    await before.getByText(/has no Wi-Fi service/).waitFor();
    findings.push(...(await axeViolations(page, 'build with a blocking warning')));
    await page.getByRole('button', { name: 'Start build' }).click();
    await page.getByText('Image ready').waitFor({ timeout: 240_000 });
    findings.push(...(await axeViolations(page, 'build done')));

    const history = await fetchHistory(app);
    const manifest = JSON.parse(await readFile(history[0]!.manifest!, 'utf8')) as {
      plan: { customization: { user?: { name: string; passwordHash?: string }; wifi?: { ssid: string; country: string; passphrase?: string } } };
    };
    expect(manifest.plan.customization.user).toMatchObject({ name: 'alice', passwordHash: expect.stringMatching(/^\$6\$/) });
    // The manifest never holds the passphrase, but says one was there.
    expect(manifest.plan.customization.wifi).toEqual({ ssid: 'homenet', country: 'GB', passphrase: REDACTED });

    // Giving a secret up is an explicit choice.
    await page.reload();
    await toCustomize(page);
    await page.getByRole('alert').filter({ hasText: 'You set a password' }).getByRole('button', { name: 'No password' }).click();
    await page.getByRole('alert').filter({ hasText: 'You entered a passphrase' }).getByRole('button', { name: 'Open network' }).click();
    await page.getByRole('button', { name: 'Next: build', disabled: false }).waitFor();
    // The same screen in dark mode (the app follows the OS).
    await page.emulateMedia({ colorScheme: 'dark' });
    findings.push(...(await axeViolations(page, 'customize, dark mode')));
    expect(findings, describeFindings(findings)).toEqual([]);
    await page.close();
  }, 420_000);
});
