import { describe, expect, it } from 'vitest';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { loadCatalog, inheritanceChain } from '../../../src-main/engine/catalog/load';
import { mergeLayers } from '../../../src-main/engine/catalog/merge';
import { profilesDir } from '../../../src-main/engine/paths';
import { withCatalogCopy, writeYaml } from '../../support/catalog-fixture';

const expectError = async (p: Promise<unknown>, code: string, message: RegExp) => {
  await expect(p).rejects.toMatchObject({ code, message: expect.stringMatching(message) });
};

describe('the shipped catalog', () => {
  it("validates every file and has the spec's Boxes, boards and fragments", async () => {
    const c = await loadCatalog();
    expect([...c.boxes.keys()].sort()).toEqual(['cryptobox', 'dragonbox', 'linbox', 'nexbox', 'openbox', 'tinybox']);
    expect([...c.boards.keys()].sort()).toEqual(['pc', 'qemu-arm64', 'qemu-riscv64', 'qemu-x86_64', 'rpi5', 'visionfive2']);
    for (const f of ['base', 'mesh', 'media', 'ssh', 'wifi', 'debug']) expect(c.fragments.has(f)).toBe(true);
    // every file on disk was loaded (nothing silently skipped)
    for (const sub of ['boxes', 'boards', 'fragments'] as const) {
      const files = (await readdir(join(profilesDir(), sub))).filter((f) => f.endsWith('.yaml'));
      const map = sub === 'boxes' ? c.boxes : sub === 'boards' ? c.boards : c.fragments;
      expect(files.length).toBe(map.size);
    }
  });

  it('layers the Boxes as the spec says, with tiers, nicknames and budgets', async () => {
    const c = await loadCatalog();
    const spec = {
      tinybox: ['STC-1', 'The Spark', undefined],
      cryptobox: ['STC-2', 'The Vault', 'tinybox'],
      dragonbox: ['STC-3', 'The Swarm', 'cryptobox'],
      nexbox: ['STC-4', 'The Forge', 'dragonbox'],
      linbox: ['STC-5', 'The Station', 'nexbox'],
    } as const;
    for (const [name, [tier, nickname, parent]] of Object.entries(spec)) {
      const b = c.boxes.get(name)!;
      expect([b.tier, b.nickname, b.extends]).toEqual([tier, nickname, parent]);
      expect(b.recipe).toBe('compose');
    }
    // The seed's "< 5" and "< 15" are met by what those Boxes name; their closures on Alpine's real indexes are
    // larger for reasons their notes give (checked against real data by test/integration/feeds/real-boxes.test.ts).
    expect(c.boxes.get('tinybox')!.packages).toHaveLength(2);
    expect(c.boxes.get('tinybox')!.budgets.packages.max).toBe(9);
    expect(c.boxes.get('cryptobox')!.budgets.packages.max).toBe(21);
    for (const box of ['tinybox', 'cryptobox']) expect(c.boxes.get(box)!.notes.join(' ')).toMatch(/Alpine's real v3\.24|Alpine v3\.24/);
    expect(c.boxes.get('dragonbox')!.budgets.packages.max).toBeLessThan(80);
    expect(c.boxes.get('nexbox')!.budgets.packages.max).toBeLessThan(150);
    expect(c.boxes.get('linbox')!.budgets.packages).toEqual({ min: 501 });
    expect(c.boxes.get('openbox')!.recipe).toBe('official-image');
    // inheritance: cryptobox has tinybox's packages plus its own; nexbox overrides the root filesystem (scalar override)
    expect(c.boxes.get('cryptobox')!.packages).toEqual(expect.arrayContaining(['busybox', 'dinit', 'cryptsetup', 'wireguard-tools-wg']));
    expect(c.boxes.get('cryptobox')!.filesystems!.root).toMatchObject({ type: 'erofs', verity: true });
    expect(c.boxes.get('nexbox')!.filesystems!.root).toMatchObject({ type: 'ext4', verity: false });
    expect(c.boxes.get('nexbox')!.filesystems!.vault).toBeDefined();
    // the nip slot exists and is empty by default
    expect(c.boxes.get('cryptobox')!.slots).toEqual([expect.objectContaining({ name: 'nip', packages: [] })]);
  });

  it('merges layers: scalars override, lists append, an explicit empty list resets, budgets replace', () => {
    const merged = mergeLayers([
      { a: 1, list: ['x', 'y'], obj: { k: 1, j: 2 }, services: [{ name: 's', command: 'old' }], budgets: { packages: { max: 4 } } },
      { a: 2, list: ['y', 'z'], obj: { k: 3 }, services: [{ name: 's', command: 'new' }], budgets: { packages: { min: 500 } } },
    ]);
    expect(merged).toEqual({
      a: 2,
      list: ['x', 'y', 'z'],
      obj: { k: 3, j: 2 },
      services: [{ name: 's', command: 'new' }],
      budgets: { packages: { min: 500 } },
    });
    expect(mergeLayers([{ list: ['x'] }, { list: [] }, { list: ['q'] }])).toEqual({ list: ['q'] });
  });
});

describe('catalog errors name the file and line', () => {
  it('reports a schema error with its line', async () => {
    await withCatalogCopy(
      (d) => writeYaml(d, 'boards/rpi5.yaml', 'name: rpi5\ntitle: Pi\narch: arm65\nkind: hardware\n'),
      (d) => expectError(loadCatalog(d), 'CATALOG_INVALID', /boards\/rpi5\.yaml:3: arch: /),
    );
  });

  it('reports YAML syntax errors with line and column', async () => {
    await withCatalogCopy(
      (d) => writeYaml(d, 'fragments/debug.yaml', 'name: debug\ndescription: [unclosed\n'),
      (d) => expectError(loadCatalog(d), 'CATALOG_SYNTAX', /fragments\/debug\.yaml:\d+:\d+/),
    );
  });

  it('refuses an extends cycle, naming the chain', async () => {
    await withCatalogCopy(
      async (d) => {
        const { readFile, writeFile } = await import('node:fs/promises');
        const p = join(d, 'boxes/tinybox.yaml');
        await writeFile(p, `${await readFile(p, 'utf8')}\nextends: linbox\n`);
      },
      (d) => expectError(loadCatalog(d), 'CATALOG_CYCLE', /tinybox → linbox → nexbox → dragonbox → cryptobox → tinybox|cycle/),
    );
    expect(() =>
      inheritanceChain(
        'a',
        new Map([
          ['a', { extends: 'b' }],
          ['b', { extends: 'a' }],
        ]),
      ),
    ).toThrow(/a → b → a/);
  });

  it('refuses an unknown parent with a suggestion', async () => {
    await withCatalogCopy(
      async (d) => {
        const { readFile, writeFile } = await import('node:fs/promises');
        const p = join(d, 'boxes/cryptobox.yaml');
        await writeFile(p, (await readFile(p, 'utf8')).replace('extends: tinybox', 'extends: tinybx'));
      },
      (d) => expect(loadCatalog(d)).rejects.toMatchObject({ code: 'CATALOG_UNKNOWN_PARENT', hint: expect.stringContaining('Did you mean "tinybox"') }),
    );
  });

  it('refuses a file whose name does not match its name field, and unknown keys', async () => {
    await withCatalogCopy(
      (d) => writeYaml(d, 'fragments/extra.yaml', 'name: other\ndescription: x\n'),
      (d) => expectError(loadCatalog(d), 'CATALOG_INVALID', /extra\.yaml: the file is named "extra" but declares name "other"/),
    );
    await withCatalogCopy(
      (d) => writeYaml(d, 'fragments/extra.yaml', 'name: extra\ndescription: x\npackagez: [a]\n'),
      (d) => expectError(loadCatalog(d), 'CATALOG_INVALID', /extra\.yaml:1: .*packagez/),
    );
  });

  it('refuses a fragment requiring an unknown fragment', async () => {
    await withCatalogCopy(
      (d) => writeYaml(d, 'fragments/extra.yaml', 'name: extra\ndescription: x\nrequires: [bsae]\n'),
      (d) => expect(loadCatalog(d)).rejects.toMatchObject({ code: 'CATALOG_INVALID', hint: expect.stringContaining('"base"') }),
    );
  });
});
