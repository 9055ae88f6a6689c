/** Screenshots of each wizard step: test-results/screenshots/ always; docs/screenshots/ when NEXUS_UPDATE_SCREENSHOTS=1. */
import { copyFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Page } from 'playwright-core';

const ROOT = join(import.meta.dirname, '..', '..', '..');
export const SHOT_DIR = join(ROOT, 'test-results', 'screenshots');
const DOCS_DIR = join(ROOT, 'docs', 'screenshots');

export async function shot(page: Page, name: string): Promise<string> {
  await mkdir(SHOT_DIR, { recursive: true });
  const file = join(SHOT_DIR, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  if (process.env.NEXUS_UPDATE_SCREENSHOTS === '1') {
    await mkdir(DOCS_DIR, { recursive: true });
    await copyFile(file, join(DOCS_DIR, `${name}.png`));
  }
  return file;
}
