/**
 * A whole-page screenshot as a user would see the page on a screen tall enough for all of it: the viewport is
 * stretched to the page's height first, so the sticky Back/Next bar sits at the bottom instead of across the middle
 * (what Playwright's fullPage capture shows). The viewport is restored afterwards.
 */
import type { Page } from 'playwright-core';
import { shot } from './screenshots';

export async function tallShot(page: Page, name: string): Promise<string> {
  const vp = page.viewportSize()!;
  const height = await page.evaluate(() => document.documentElement.scrollHeight);
  await page.setViewportSize({ width: vp.width, height: Math.max(vp.height, height) });
  try {
    return await shot(page, name);
  } finally {
    await page.setViewportSize(vp);
  }
}
