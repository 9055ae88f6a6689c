/** Keyboard-only helpers: reach an element with Tab (never a click) and activate it with Enter or Space. */
import type { Locator, Page } from 'playwright-core';

export async function tabTo(page: Page, target: Locator, maxPresses = 80): Promise<void> {
  const handle = await target.elementHandle();
  if (!handle) throw new Error('tabTo: target not found');
  for (let i = 0; i < maxPresses; i++) {
    if (await handle.evaluate((el) => el === document.activeElement || el.contains(document.activeElement))) return;
    await page.keyboard.press('Tab');
  }
  throw new Error(`tabTo: not reachable with ${maxPresses} Tab presses`);
}

export async function press(page: Page, target: Locator, key: 'Enter' | 'Space' = 'Enter'): Promise<void> {
  await tabTo(page, target);
  await page.keyboard.press(key);
}

/** Replaces a text field's content by typing (or pasting, for long text). */
export async function typeInto(page: Page, target: Locator, text: string): Promise<void> {
  await tabTo(page, target);
  await page.keyboard.press('Control+A');
  await page.keyboard.press('Backspace');
  // Long text arrives as one paste, the way a user puts an SSH key in.
  if (text) await (text.length > 40 ? page.keyboard.insertText(text) : page.keyboard.type(text));
}

/** Moves inside a roving-tabindex group (toggle buttons) with an arrow key until `target` has the focus. */
export async function arrowTo(page: Page, target: Locator, key: 'ArrowRight' | 'ArrowLeft', maxPresses = 10): Promise<void> {
  const handle = await target.elementHandle();
  if (!handle) throw new Error('arrowTo: target not found');
  for (let i = 0; i < maxPresses; i++) {
    if (await handle.evaluate((el) => el === document.activeElement)) return;
    await page.keyboard.press(key);
  }
  throw new Error(`arrowTo: not reached with ${maxPresses} ${key} presses`);
}
