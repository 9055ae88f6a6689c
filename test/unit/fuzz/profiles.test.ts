/**
 * Property-based fuzzing of profile loading (catalog/load.ts): one file of a copy of the real profiles/ is replaced by
 * an edit of itself, by its data with random values planted at random places, or by hostile YAML (alias bombs, deep
 * nesting, __proto__ keys, tags, duplicate keys, control characters). Loading gives a catalog whose paths stay inside
 * the image and the boot partition, or a typed CATALOG_* error naming a file of the profile directory — never a
 * TypeError, a RangeError, a ReferenceError or a path outside it.
 */
import { cp, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { parseDocument, stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { imagePathProblem, type Catalog } from '../../../src-shared/catalog';
import { NexusError } from '../../../src-shared/errors';
import { loadCatalog } from '../../../src-main/engine/catalog/load';
import { profilesDir } from '../../../src-main/engine/paths';
import { expectTypedError, params, timeout } from './fuzz';

let dir: string;
let files: Array<{ rel: string; text: string }>;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'nexus-fuzz-profiles-'));
  await cp(profilesDir(), dir, { recursive: true });
  files = [];
  for (const sub of ['boxes', 'boards', 'fragments', 'feeds', 'releases']) {
    for (const f of (await readdir(join(dir, sub))).filter((x) => x.endsWith('.yaml')).sort())
      files.push({ rel: `${sub}/${f}`, text: await readFile(join(dir, sub, f), 'utf8') });
  }
});
afterAll(() => rm(dir, { recursive: true, force: true }));

/** What a loaded catalog must satisfy: plain objects only, and every profile path inside the image / boot partition. */
function checkCatalog(c: Catalog): void {
  const walk = (v: unknown, depth: number): void => {
    expect(depth).toBeLessThan(200);
    if (Array.isArray(v)) v.forEach((x) => walk(x, depth + 1));
    else if (v && typeof v === 'object' && !(v instanceof Map)) {
      expect([Object.prototype, null]).toContain(Object.getPrototypeOf(v));
      Object.values(v).forEach((x) => walk(x, depth + 1));
    }
  };
  for (const m of [c.boxes, c.boards, c.fragments, c.feeds, c.releases]) for (const v of m.values()) walk(v, 0);
  for (const b of c.boxes.values()) for (const f of b.files ?? []) expect(imagePathProblem(f.path)).toBeNull();
  for (const f of c.fragments.values()) for (const x of f.files) expect(imagePathProblem(x.path)).toBeNull();
  for (const board of c.boards.values()) {
    for (const f of board.boot.files) {
      expect(f.dest.startsWith('/') || f.dest.split('/').some((s) => s === '..' || s === '.')).toBe(false);
      expect(f.dest).toMatch(/^[A-Za-z0-9._+/-]+$/);
    }
  }
}

async function loadWith(rel: string, text: string): Promise<Catalog | undefined> {
  const original = files.find((f) => f.rel === rel)!.text;
  await writeFile(join(dir, rel), text);
  try {
    const c = await loadCatalog(dir);
    checkCatalog(c);
    return c;
  } catch (err) {
    expectTypedError(err, ['CATALOG_SYNTAX', 'CATALOG_INVALID', 'CATALOG_DUPLICATE', 'CATALOG_CYCLE', 'CATALOG_UNKNOWN_PARENT', 'CATALOG_EMPTY']);
    const msg = (err as NexusError).message;
    // Errors name files of the profile directory by their relative path, never a path outside it.
    const first = /^([^\s:]+\.ya?ml)/.exec(msg)?.[1];
    if (first)
      expect(
        files.some((f) => f.rel === first),
        `error names ${first}`,
      ).toBe(true);
    return undefined;
  } finally {
    await writeFile(join(dir, rel), original);
  }
}

const scalar = fc.oneof(
  fc.string({ maxLength: 30 }),
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.constantFrom(
    '/../../../../tmp/x',
    '../../etc/passwd',
    '/etc/../etc/shadow',
    'EFI//BOOT',
    './x',
    'a\nb',
    '/',
    '',
    '~',
    '0o777',
    '1e400',
    '__proto__',
    'constructor',
    '.nan',
  ),
);
const value = fc.letrec((tie) => ({
  v: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    scalar,
    fc.array(tie('v'), { maxLength: 3 }),
    fc.dictionary(
      fc.oneof(fc.string({ maxLength: 10 }), fc.constantFrom('name', 'path', 'dest', 'from', 'files', 'extends', 'mountpoint', '__proto__')),
      tie('v'),
      { maxKeys: 3 },
    ),
  ),
})).v;

/** Sets `v` at a random place of a parsed document (an existing key path, or a new key). */
function plant(text: string, path: number[], key: string, v: unknown): string {
  const data = parseDocument(text).toJS() as unknown;
  let node = data as Record<string, unknown> | unknown[];
  for (const i of path) {
    const keys = Object.keys(node);
    if (keys.length === 0) break;
    const k = keys[i % keys.length]!;
    const child = (node as Record<string, unknown>)[k];
    if (!child || typeof child !== 'object') {
      (node as Record<string, unknown>)[k] = v;
      return stringify(data);
    }
    node = child as Record<string, unknown>;
  }
  if (Array.isArray(node)) node.push(v);
  else Object.defineProperty(node, key, { value: v, enumerable: true, writable: true, configurable: true });
  return stringify(data);
}

const HOSTILE = [
  // Billion laughs: each level multiplies the aliases (yaml's toJS throws a ReferenceError past its alias budget).
  'name: tinybox\na: &a [x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: [*c,*c,*c,*c,*c,*c,*c,*c,*c]\n',
  'name: tinybox\npackages: ' + '['.repeat(5000) + ']'.repeat(5000) + '\n',
  'name: tinybox\nnotes: ' + '{a: '.repeat(3000) + '1' + '}'.repeat(3000) + '\n',
  '__proto__: {recipe: official-image}\nname: tinybox\n',
  'name: tinybox\nconstructor: {prototype: {x: 1}}\n',
  'name: tinybox\nname: tinybox\n',
  'name: !!binary aGVsbG8=\n',
  'name: !!js/function "function(){}"\n',
  'name: tinybox\nfiles: !!set {a, b}\n',
  '<<: {name: tinybox}\n',
  'name: tinybox\nextends: ../../../etc/passwd\n',
  'name: "\\0\\x01"\n',
  '\uFEFFname: tinybox\n',
  'name: tinybox\n\tpackages: [a]\n',
  '- just\n- a\n- list\n',
  '42\n',
  '',
  '---\nname: a\n---\nname: b\n',
  'name: &x tinybox\nextends: *x\n',
  'name: tinybox\nfiles: [{path: /etc/x, content: *undefined}]\n',
];

/** Line-level edits of the real file: delete, duplicate, re-indent, or replace a value. */
const lineEdits = fc.array(fc.tuple(fc.constantFrom('del', 'dup', 'indent', 'dedent', 'value'), fc.nat(), scalar), { minLength: 1, maxLength: 4 });
function editLines(text: string, edits: Array<[string, number, unknown]>): string {
  const lines = text.split('\n');
  for (const [kind, at, v] of edits) {
    const i = at % lines.length;
    if (kind === 'del') lines.splice(i, 1);
    else if (kind === 'dup') lines.splice(i, 0, lines[i]!);
    else if (kind === 'indent') lines[i] = `  ${lines[i]}`;
    else if (kind === 'dedent') lines[i] = lines[i]!.replace(/^ {1,2}/, '');
    else lines[i] = lines[i]!.replace(/:\s.*$/, `: ${JSON.stringify(v) ?? 'null'}`);
  }
  return lines.join('\n');
}

describe('fuzz: profile loading', () => {
  it('the unmodified copy loads', async () => {
    checkCatalog(await loadCatalog(dir));
  });

  it(
    'line edits of a real profile file: a sane catalog or a typed CATALOG_* error',
    async () => {
      await fc.assert(
        fc.asyncProperty(fc.nat(), lineEdits, async (pick, edits) => {
          const f = files[pick % files.length]!;
          await loadWith(f.rel, editLines(f.text, edits));
        }),
        params(25),
      );
    },
    timeout,
  );

  it(
    'random values planted anywhere in a real profile file: a sane catalog or a typed CATALOG_* error',
    async () => {
      await fc.assert(
        fc.asyncProperty(fc.nat(), fc.array(fc.nat(), { maxLength: 4 }), fc.string({ minLength: 1, maxLength: 12 }), value, async (pick, path, key, v) => {
          const f = files[pick % files.length]!;
          await loadWith(f.rel, plant(f.text, path, key, v));
        }),
        params(35),
      );
    },
    timeout,
  );

  it(
    'hostile YAML in any profile file: a typed error, never a crash',
    async () => {
      // Each hostile text once, in a file of another kind each time (boxes are merged, the rest validated alone).
      for (const [i, text] of HOSTILE.entries()) await loadWith(files[(i * 7) % files.length]!.rel, text);
    },
    timeout,
  );

  it('regressions found by the fuzzer', async () => {
    // An alias bomb crashed the loader with yaml's raw ReferenceError ("Excessive alias count…").
    await expect(
      loadWith(
        'boxes/tinybox.yaml',
        'name: tinybox\na: &a [x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: [*c,*c,*c,*c,*c,*c,*c,*c,*c]\n',
      ),
    ).resolves.toBeUndefined();
    await expect(
      loadCatalogWith(
        'boxes/tinybox.yaml',
        'name: tinybox\na: &a [x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: [*c,*c,*c,*c,*c,*c,*c,*c,*c]\n',
      ),
    ).rejects.toMatchObject({ code: 'CATALOG_SYNTAX', message: expect.stringMatching(/^boxes\/tinybox\.yaml: .*alias/) });
    // A "__proto__" key became the prototype of the merged Box when merged (smuggling keys past the strict schema).
    await expect(
      loadCatalogWith('boxes/tinybox.yaml', `${files.find((f) => f.rel === 'boxes/tinybox.yaml')!.text}\n__proto__: {recipe: official-image}\n`),
    ).rejects.toMatchObject({ code: 'CATALOG_INVALID', message: expect.stringMatching(/__proto__/) });
  });

  it('board boot files stay on the boot partition (the boot stage writes them under a host staging directory)', async () => {
    const rpi = files.find((f) => f.rel === 'boards/rpi5.yaml')!.text;
    const withFile = (line: string) => rpi.replace('    - { dest: config.txt,', `    - ${line}\n    - { dest: config.txt,`);
    for (const [line, field] of [
      ["{ dest: ../../../../tmp/nexus-escape, from: 'generated:config.txt' }", 'dest'],
      ["{ dest: /etc/cron.d/x, from: 'kernel' }", 'dest'],
      ["{ dest: 'EFI//BOOT', from: 'kernel' }", 'dest'],
      ["{ dest: 'a\\b', from: 'kernel' }", 'dest'],
      ["{ dest: x/, from: 'kernel' }", 'dest'],
      ["{ dest: x, from: 'package:linux-rpi:/boot/../../etc/shadow' }", 'from'],
      ["{ dest: x, from: 'file:/etc/shadow' }", 'from'],
    ] as const) {
      await expect(loadCatalogWith('boards/rpi5.yaml', withFile(line)), line).rejects.toMatchObject({
        code: 'CATALOG_INVALID',
        message: expect.stringContaining(`boot.files.0.${field}`),
      });
    }
    const vf2 = files.find((f) => f.rel === 'boards/visionfive2.yaml')!.text;
    await expect(
      loadCatalogWith('boards/visionfive2.yaml', vf2.replace("from: 'package:u-boot-starfive:/usr/share/", "from: 'package:u-boot-starfive:/usr/../share/")),
    ).rejects.toMatchObject({ code: 'CATALOG_INVALID', message: expect.stringMatching(/boot\.raw\.\d\.from/) });
    // What the shipped boards use stays valid: nested paths and a package directory copied to a directory.
    expect(
      (await loadCatalogWith('boards/rpi5.yaml', withFile("{ dest: overlays2/, from: 'package:linux-rpi:/boot/overlays/' }"))).boards.get('rpi5')!.boot
        .files[0]!.dest,
    ).toBe('overlays2/');
  });
});

async function loadCatalogWith(rel: string, text: string): Promise<Catalog> {
  const original = files.find((f) => f.rel === rel)!.text;
  await writeFile(join(dir, rel), text);
  try {
    return await loadCatalog(dir);
  } finally {
    await writeFile(join(dir, rel), original);
  }
}
