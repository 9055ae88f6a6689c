/**
 * axe-core in the page under test: the WCAG 2.1 A/AA rules on the whole document, keeping the serious and critical
 * violations. The script is evaluated through the DevTools protocol, so the app's Content-Security-Policy (which
 * allows no inline script) stays on.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Page } from 'playwright-core';

const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

export interface AxeFinding {
  step: string;
  rule: string;
  impact: string;
  help: string;
  targets: string[];
}

/** Serious or critical WCAG 2.1 A/AA violations on the page as it is now, labelled with `step`. */
export async function axeViolations(page: Page, step: string): Promise<AxeFinding[]> {
  if (!(await page.evaluate(() => 'axe' in window))) await page.evaluate(AXE_SOURCE);
  // A dialog fading in has every colour at partial opacity: check what the user sees once transitions end.
  await page.waitForFunction(
    () => document.getAnimations().every((a) => a.playState !== 'running' || a.effect?.getTiming().iterations === Infinity),
    undefined,
    { timeout: 10_000 },
  );
  const violations = await page.evaluate(async () => {
    const axe = (
      window as unknown as {
        axe: {
          run(
            ctx: Document,
            o: object,
          ): Promise<{ violations: Array<{ id: string; impact: string | null; help: string; nodes: Array<{ target: string[] }> }> }>;
        };
      }
    ).axe;
    const r = await axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] }, resultTypes: ['violations'] });
    return r.violations.map((v) => ({ rule: v.id, impact: v.impact ?? 'unknown', help: v.help, targets: v.nodes.slice(0, 5).map((n) => n.target.join(' ')) }));
  });
  return violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => ({ step, ...v }));
}

export const describeFindings = (f: AxeFinding[]) => f.map((v) => `${v.step}: ${v.rule} (${v.impact}) ${v.help} — ${v.targets.join(', ')}`).join('\n');
