/**
 * The whole path in Debian's Chromium against `nexus serve` with the real engine: tinybox on qemu-x86_64,
 * built from the Debian-based test feed (served over loopback HTTP), written and verified onto a loop device
 * through the NEXUS_EXTRA_DRIVES hook, walking the wizard with the keyboard only. Then the error paths:
 * a failing mirror, cancelling a build, cancelling a write, too-small and write-protected drives.
 */
import { createHash, generateKeyPairSync } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasChromium } from '../support/e2e/browser';
import { fetchHistory, startE2eApp, type E2eApp } from '../support/e2e/app-fixture';
import { arrowTo, press, tabTo, typeInto } from '../support/e2e/keyboard';
import { shot } from '../support/e2e/screenshots';
import { serveDirectory } from '../support/http-server';
import { LoopSet, type Loop } from '../support/loop-devices';

const MiB = 1024 * 1024;
const isRoot = process.getuid?.() === 0;

function sshPublicKey(): string {
  const der = generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'der' });
  const raw = der.subarray(der.length - 32);
  const str = (b: Buffer) => Buffer.concat([Buffer.from([0, 0, 0, b.length]), b]);
  return `ssh-ed25519 ${Buffer.concat([str(Buffer.from('ssh-ed25519')), str(raw)]).toString('base64')} e2e@nexus`;
}

async function sha256Prefix(path: string, bytes: number): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path, { start: 0, end: bytes - 1 })) h.update(chunk as Buffer);
  return h.digest('hex');
}

describe.skipIf(!hasChromium() || !isRoot)('wizard end to end (real engine, loop devices)', () => {
  let app: E2eApp;
  const loops = new LoopSet();
  let good: Loop;
  let small: Loop;
  let readOnly: Loop;
  let built: { image: string; sha256: string; size: number } | null = null;

  beforeAll(async () => {
    // Sparse files: only the image's mapped blocks are ever written.
    good = await loops.create(192 * MiB);
    small = await loops.create(16 * MiB);
    readOnly = await loops.create(192 * MiB, { readOnly: true });
    process.env.NEXUS_EXTRA_DRIVES = loops.devices().join(',');
    app = await startE2eApp({ withFeed: true });
  });

  afterAll(async () => {
    await app?.close();
    await loops.detachAll();
    delete process.env.NEXUS_EXTRA_DRIVES;
  });

  it('keyboard only: tinybox on qemu-x86_64 → build from the test feed → verified write onto a loop device', async () => {
    const page = await app.newPage();
    await page.goto(app.server.url);
    await page.getByRole('heading', { name: 'Choose a Box' }).waitFor();
    await expect(page.getByRole('button', { name: /^(tinybox|cryptobox|dragonbox|nexbox|linbox|openbox):/ }).count()).resolves.toBe(6);
    await shot(page, '01-choose-a-box');

    const tinybox = page.getByRole('button', { name: /^tinybox:/ });
    await press(page, tinybox);
    await expect(tinybox.getAttribute('aria-pressed')).resolves.toBe('true');
    await press(page, page.getByRole('button', { name: 'Next: architecture and board' }));

    // Architecture and board: only valid combinations; the VisionFive 2 note.
    await page.getByRole('heading', { name: 'Architecture and board' }).waitFor();
    await expect(page.getByRole('button', { name: 'x86_64', exact: true }).getAttribute('aria-pressed')).resolves.toBe('true');
    // The architectures are a toggle group: Tab reaches the selected one, arrows move inside.
    const arch = (name: string) => page.getByRole('button', { name, exact: true });
    await tabTo(page, arch('x86_64'));
    await arrowTo(page, arch('riscv64'), 'ArrowRight');
    await page.keyboard.press('Space');
    await expect(arch('riscv64').getAttribute('aria-pressed')).resolves.toBe('true');
    await press(page, page.getByRole('button', { name: /VisionFive 2/ }));
    await page.getByText(/Boot-mode switches/).waitFor();
    await shot(page, '02-board-visionfive2');
    // Another architecture keeps the kind of board (hardware: the PC); the architecture follows a board picked.
    await tabTo(page, arch('riscv64'));
    await arrowTo(page, arch('x86_64'), 'ArrowLeft');
    await page.keyboard.press('Space');
    await expect(page.getByRole('button', { name: /^PC/ }).getAttribute('aria-pressed')).resolves.toBe('true');
    await press(page, page.getByRole('button', { name: /Raspberry Pi 5/ }));
    await expect(arch('arm64').getAttribute('aria-pressed')).resolves.toBe('true');
    const qemu = page.getByRole('button', { name: /QEMU virtual machine \(x86_64/ });
    await press(page, qemu);
    await expect(qemu.getAttribute('aria-pressed')).resolves.toBe('true');
    await expect(arch('x86_64').getAttribute('aria-pressed')).resolves.toBe('true');
    await shot(page, '02-architecture-and-board');
    await press(page, page.getByRole('button', { name: 'Next: customize' }));

    // Customize with inline validation (the same zod schemas as the CLI).
    await page.getByRole('heading', { name: 'Customize' }).waitFor();
    const host = page.getByRole('textbox', { name: 'Host name' });
    await typeInto(page, host, 'bad_host!');
    await expect(host.getAttribute('aria-invalid')).resolves.toBe('true');
    await expect(page.getByRole('button', { name: 'Next: build' }).isDisabled()).resolves.toBe(true);
    await shot(page, '03-customize-validation');
    await typeInto(page, host, 'nexus-e2e');
    await expect(host.getAttribute('aria-invalid')).resolves.toBe('false');
    await typeInto(page, page.getByRole('textbox', { name: 'User name' }), 'alice');
    await typeInto(page, page.getByLabel('Password', { exact: true }), 'correct horse battery');
    await typeInto(page, page.getByLabel('Repeat password'), 'correct horse battery');
    await typeInto(page, page.getByRole('textbox', { name: 'SSH public keys' }), sshPublicKey());
    // A key turns on the ssh add-on (with a note); this feed has no SSH server, so it is turned off again.
    const ssh = page.getByRole('checkbox', { name: /^ssh — / });
    await page.getByText(/"ssh" add-on was turned on/).waitFor();
    await expect(ssh.isChecked()).resolves.toBe(true);
    await press(page, ssh, 'Space');
    await expect(ssh.isChecked()).resolves.toBe(false);
    await shot(page, '03-customize');
    await press(page, page.getByRole('button', { name: 'Next: build' }));

    // Build with the real engine.
    await page.getByRole('heading', { name: 'Build' }).waitFor();
    // A key without an SSH server cannot work: ranked first, before building.
    await page.getByRole('region', { name: 'Before you build' }).getByText('Needs your attention').waitFor();
    await press(page, page.getByRole('button', { name: 'Start build' }));
    await page.getByText('Image ready').waitFor({ timeout: 180_000 });
    await expect(page.getByRole('list', { name: 'Build stages' }).getByRole('listitem').count()).resolves.toBeGreaterThanOrEqual(5);
    await press(page, page.getByRole('button', { name: /Live log/ }));
    await page.getByRole('log', { name: 'Build log' }).waitFor();
    await press(page, page.getByRole('button', { name: /Details: files and checksum/ }));
    const files = page.getByRole('table', { name: 'Output files' });
    await expect(files.getByRole('cell', { name: /^Block map/ }).count()).resolves.toBe(1);
    await shot(page, '04-build');
    // "Try in a VM" is offered for this VM board; its real boot with the live console is test/e2e/vm-console.test.ts.
    await expect(page.getByRole('button', { name: 'Try in a VM' }).count()).resolves.toBe(existsSync('/usr/bin/qemu-system-x86_64') ? 1 : 0);
    const history = await fetchHistory(app);
    expect(history[0]).toMatchObject({ box: 'tinybox', arch: 'x86_64', board: 'qemu-x86_64', present: true });
    built = { image: history[0]!.image, sha256: history[0]!.sha256, size: history[0]!.size };
    await press(page, page.getByRole('button', { name: 'Next: choose the drive' }));

    // Choose the drive: too small and write-protected are disabled with the reason.
    await page.getByRole('heading', { name: 'Choose the drive' }).waitFor();
    const drives = page.getByRole('list', { name: 'Drives' });
    const box = (l: Loop) => drives.getByRole('checkbox', { name: new RegExp(`^${l.device} `) });
    await box(good).waitFor();
    await expect(box(small).isDisabled()).resolves.toBe(true);
    await expect(box(readOnly).isDisabled()).resolves.toBe(true);
    await expect(drives.getByText(/needs .* \(\d+ bytes\)/).count()).resolves.toBeGreaterThanOrEqual(1);
    await expect(drives.getByText(/write-protected/).count()).resolves.toBeGreaterThanOrEqual(1);
    await expect(drives.getByText(/lock switch/).count()).resolves.toBeGreaterThanOrEqual(1);
    await press(page, box(good), 'Space');
    await expect(box(good).isChecked()).resolves.toBe(true);
    // Loop devices are not ejectable media.
    await press(page, page.getByRole('checkbox', { name: 'Eject when done' }), 'Space');
    await page.getByRole('button', { name: 'Write', exact: true, disabled: false }).waitFor();
    await shot(page, '05-choose-the-drive');
    await press(page, page.getByRole('button', { name: 'Write', exact: true }));
    const dialog = page.getByRole('dialog', { name: 'Erase and write?' });
    await dialog.getByText(good.device).waitFor();
    await press(page, dialog.getByRole('button', { name: 'Erase and write' }));

    // Write and verify, then the board's next steps.
    await page.getByText(/written and verified/).waitFor({ timeout: 120_000 });
    await expect(page.getByRole('list', { name: 'Next steps' }).getByRole('listitem').count()).resolves.toBeGreaterThan(0);
    await shot(page, '06-write-and-verify');
    expect(await sha256Prefix(good.device, built.size)).toBe(built.sha256);
    await page.close();
  }, 300_000);

  it('remembers choices between runs but never the password; a failing mirror shows the error with its hint', async () => {
    await app.freshCache();
    app.mirror!.faults.push({ path: /.*/, status: 503 });
    try {
      const page = await app.newPage();
      await page.goto(app.server.url);
      await expect(page.getByRole('button', { name: /^tinybox:/ }).getAttribute('aria-pressed')).resolves.toBe('true');
      await page.getByRole('button', { name: 'Next: architecture and board' }).click();
      await page.getByRole('button', { name: 'Next: customize' }).click();
      await expect(page.getByRole('textbox', { name: 'Host name' }).inputValue()).resolves.toBe('nexus-e2e');
      await expect(page.getByRole('textbox', { name: 'User name' }).inputValue()).resolves.toBe('alice');
      await expect(page.getByLabel('Password', { exact: true }).inputValue()).resolves.toBe('');
      // Only that a password was set is remembered: the wizard asks again (here: goes on without one, explicitly).
      await page.getByRole('alert').filter({ hasText: 'You set a password for alice' }).getByRole('button', { name: 'No password' }).click();
      await page.getByRole('button', { name: 'Next: build' }).click();
      await page.getByRole('button', { name: 'Start build' }).click();
      const alert = page.getByRole('alert').filter({ hasText: 'The build failed' });
      await alert.waitFor({ timeout: 60_000 });
      await expect(alert.getByText('What to try:').count()).resolves.toBe(1);
      await shot(page, '07-build-failed');
      await page.close();
    } finally {
      app.mirror!.faults.length = 0;
    }
  }, 120_000);

  it('cancels a build (with confirmation) while it waits for the mirror', async () => {
    await app.freshCache();
    app.mirror!.faults.push({ path: /.*/, delayMs: 60_000 });
    try {
      const page = await app.newPage();
      await page.goto(app.server.url);
      await page.getByRole('button', { name: 'Next: architecture and board' }).click();
      await page.getByRole('button', { name: 'Next: customize' }).click();
      await page.getByRole('button', { name: 'Next: build' }).click();
      await page.getByRole('button', { name: 'Start build' }).click();
      await page.getByRole('button', { name: 'Cancel build' }).click();
      const dialog = page.getByRole('dialog', { name: 'Cancel the build?' });
      await dialog.getByRole('button', { name: 'Cancel build' }).click();
      await page.getByText('The build was cancelled').waitFor({ timeout: 20_000 });
      await shot(page, '08-build-cancelled');
      await page.close();
    } finally {
      app.mirror!.faults.length = 0;
    }
  }, 120_000);

  it('writes an existing image from a URL, and cancels the write (with confirmation)', async () => {
    expect(built, 'needs the image of the first test').not.toBeNull();
    const images = await serveDirectory(join(built!.image, '..'), { faults: [{ path: /.*/, delayMs: 60_000 }] });
    try {
      const page = await app.newPage();
      await page.goto(app.server.url);
      await page.getByRole('textbox', { name: 'Or image URL' }).fill(`${images.url}/${built!.image.split('/').at(-1)}`);
      await page.getByRole('textbox', { name: 'SHA-256 of the download' }).fill(built!.sha256);
      await page.getByRole('button', { name: 'Use this image' }).click();
      await page.getByRole('heading', { name: 'Choose the drive' }).waitFor();
      await page.getByRole('checkbox', { name: new RegExp(`^${good.device} `) }).check();
      await page.getByRole('checkbox', { name: 'Eject when done' }).uncheck();
      await page.getByRole('button', { name: 'Write', exact: true }).click();
      await page.getByRole('dialog', { name: 'Erase and write?' }).getByRole('button', { name: 'Erase and write' }).click();
      await page.getByRole('button', { name: 'Cancel writing' }).click();
      await page.getByRole('dialog', { name: 'Stop writing?' }).getByRole('button', { name: 'Stop writing' }).click();
      await page.getByText(/Writing was cancelled/).waitFor({ timeout: 30_000 });
      await shot(page, '09-write-cancelled');
      await page.close();
    } finally {
      await images.close();
    }
  }, 120_000);
});
