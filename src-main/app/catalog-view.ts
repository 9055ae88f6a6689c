/** The catalog as the UI sees it: plain data, board illustrations inlined as SVG markup. */
import { readFile } from 'node:fs/promises';
import { join, normalize } from 'node:path';
import type { Catalog } from '../../src-shared/catalog';
import type { CatalogView } from '../../src-shared/contract';

async function readIllustration(resources: string, rel: string | undefined): Promise<string | null> {
  if (!rel) return null;
  const clean = normalize(rel);
  if (clean.startsWith('..') || clean.startsWith('/') || !clean.endsWith('.svg')) return null;
  try {
    return await readFile(join(resources, clean), 'utf8');
  } catch {
    return null;
  }
}

export async function catalogView(catalog: Catalog, resources: string): Promise<CatalogView> {
  const boxes = [...catalog.boxes.values()].map((b) => ({
    name: b.name,
    tier: b.tier,
    nickname: b.nickname,
    philosophy: b.philosophy,
    description: b.description,
    users: b.users,
    recipe: b.recipe,
    architectures: b.architectures,
    packages: b.packages,
    budgets: b.budgets,
    defaultFragments: b.defaultFragments,
    notes: b.notes,
  }));
  const tierOrder = (t: string) => (t === 'BSD' ? 9 : Number(t.slice(4)));
  boxes.sort((a, b) => tierOrder(a.tier) - tierOrder(b.tier) || a.name.localeCompare(b.name));
  const boards = await Promise.all(
    [...catalog.boards.values()].map(async (b) => ({
      name: b.name,
      title: b.title,
      arch: b.arch,
      kind: b.kind,
      console: b.console,
      illustrationSvg: await readIllustration(resources, b.illustration ?? (b.kind === 'vm' ? 'boards/vm.svg' : undefined)),
      notes: b.notes,
      nextSteps: b.nextSteps,
      openbsd: b.openbsd ? { supported: b.openbsd.supported, notes: b.openbsd.notes, nextSteps: b.openbsd.nextSteps } : null,
    })),
  );
  const fragments = [...catalog.fragments.values()].map((f) => ({ name: f.name, description: f.description, requires: f.requires }));
  const feedDef = [...catalog.feeds.values()][0];
  const feed = feedDef ? { name: feedDef.name, branch: feedDef.branch, branches: feedDef.branches } : null;
  return { boxes, boards, fragments, feed };
}
