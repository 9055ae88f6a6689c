/**
 * "Back up a card" in Debian's Chromium against `nexus serve`: a loop-device card holding a real GPT disk
 * (FAT32 ESP + ext4 with files) is backed up from the dialog (only used blocks read, verified), the backup is
 * written through the normal drive step onto a second card, and the two cards are compared byte for byte.
 */
import { execa } from 'execa';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasChromium } from '../support/e2e/browser';
import { startE2eApp, type E2eApp } from '../support/e2e/app-fixture';
import { shot } from '../support/e2e/screenshots';
import { LoopSet, patternBytes, type Loop } from '../support/loop-devices';

const MiB = 1024 * 1024;
const isRoot = process.getuid?.() === 0;

async function sha256(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const c of createReadStream(path)) h.update(c as Buffer);
  return h.digest('hex');
}

describe.skipIf(!hasChromium() || !isRoot)('back up a card in the app and write the backup to another card', () => {
  let app: E2eApp;
  const loops = new LoopSet();
  let source: Loop;
  let target: Loop;

  beforeAll(async () => {
    const dir = await loops.workDir();
    const root = join(dir, 'root');
    await mkdir(join(root, 'home/ada'), { recursive: true });
    await writeFile(join(root, 'home/ada/photo.raw'), patternBytes(6 * MiB, 11));
    const disk = join(dir, 'disk.img');
    await writeFile(disk, '');
    await execa('truncate', ['-s', `${96 * MiB}`, disk]);
    await execa('sfdisk', ['-q', disk], { input: 'label: gpt\nstart=2048, size=69632, type=U\nstart=71680, size=122880, type=L\n' });
    await execa('mkfs.vfat', ['-F', '32', '--offset=2048', disk, String(69632 / 2)]);
    await execa('mke2fs', ['-q', '-t', 'ext4', '-d', root, '-E', `offset=${71680 * 512}`, disk, `${122880 / 2}k`]);
    source = await loops.create(96 * MiB);
    target = await loops.create(128 * MiB);
    await execa('dd', [`if=${disk}`, `of=${source.device}`, 'bs=4M', 'oflag=direct', 'status=none']);
    process.env.NEXUS_EXTRA_DRIVES = loops.devices().join(',');
    app = await startE2eApp();
  }, 120_000);

  afterAll(async () => {
    await app?.close();
    await loops.detachAll();
    delete process.env.NEXUS_EXTRA_DRIVES;
  });

  it('backs up, restores through the drive step, and the cards match', async () => {
    const page = await app.newPage();
    await page.goto(app.server.url);
    await page.getByRole('button', { name: 'Back up a card' }).click();
    const dialog = page.getByRole('dialog', { name: 'Back up a card' });
    await dialog.getByRole('radio', { name: new RegExp(source.device) }).check();
    await expect(dialog.getByRole('textbox', { name: 'Backup file name' }).inputValue()).resolves.toMatch(/^loop\d+-\d{4}-\d\d-\d\d\.img\.zst$/);
    await dialog.getByRole('button', { name: 'Back up', exact: true }).click();
    await dialog.getByText('Backup ready and verified').waitFor({ timeout: 60_000 });
    const summary = await dialog.getByRole('status').innerText();
    const read = /read ([\d.]+) MiB of the 96\.0 MiB drive/.exec(summary);
    expect(read, summary).not.toBeNull();
    expect(Number(read![1])).toBeLessThan(20);
    await shot(page, '10-backup-done');

    await dialog.getByRole('button', { name: 'Write this backup to a card' }).click();
    await page.getByRole('heading', { name: 'Choose the drive' }).waitFor();
    await page.getByText('needs 96.0 MiB on the drive').waitFor();
    await page.getByRole('checkbox', { name: new RegExp(target.device) }).check();
    await page.getByRole('button', { name: 'Write', exact: true }).click();
    await page.getByRole('dialog', { name: 'Erase and write?' }).getByRole('button', { name: 'Erase and write' }).click();
    await page.getByText(/written and verified/).waitFor({ timeout: 60_000 });

    await execa('blockdev', ['--flushbufs', target.device]);
    const head = await execa('sh', ['-c', `head -c ${96 * MiB} ${target.device} | sha256sum`]);
    expect(head.stdout.split(' ')[0]).toBe(await sha256(source.device));
  }, 180_000);
});
