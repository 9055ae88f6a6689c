/**
 * Loads profiles/ into a validated Catalog. Every error names the file and line, so a typo in a YAML
 * file is fixed in seconds. Box inheritance is resolved here (see mergeLayers) and validated after merging.
 */
import { readdir, readFile } from 'node:fs/promises';
import { basename, join, relative } from 'node:path';
import { LineCounter, parseDocument, isNode, type Document } from 'yaml';
import type { ZodError, ZodType } from 'zod';
import { BoardSchema, BoxFileSchema, BoxSchema, FeedSchema, FragmentSchema, ReleaseSchema, type Box, type Catalog } from '../../../src-shared/catalog';
import { NexusError } from '../../../src-shared/errors';
import { errnoCode, errorMessage, isRecord } from '../../../src-shared/narrow';
import { didYouMean } from '../../../src-shared/suggest';
import { profilesDir } from '../paths';
import { mergeLayers } from './merge';

interface LoadedFile {
  file: string;
  doc: Document;
  lines: LineCounter;
  data: unknown;
}

async function readYaml(file: string, root: string): Promise<LoadedFile> {
  const text = await readFile(file, 'utf8');
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: true, uniqueKeys: true });
  const rel = relative(root, file) || basename(file);
  const [e] = doc.errors;
  if (e) {
    const pos = e.linePos?.[0];
    throw new NexusError('CATALOG_SYNTAX', `${rel}${pos ? `:${pos.line}:${pos.col}` : ''}: ${e.message.split('\n')[0]}`, 'Fix the YAML syntax at that line.');
  }
  let data: unknown;
  try {
    data = doc.toJS();
  } catch (err) {
    // yaml refuses alias bombs ("billion laughs") here with a ReferenceError.
    throw new NexusError(
      'CATALOG_SYNTAX',
      `${rel}: ${errorMessage(err).split('\n')[0]}`,
      'Profiles need no YAML aliases that expand this much: write the values out.',
      { cause: err },
    );
  }
  const proto = findKey(data, '__proto__');
  if (proto) {
    // Merging would make it the prototype of the Box, smuggling keys past the strict schema.
    throw new NexusError('CATALOG_INVALID', `${rel}: ${proto}: "__proto__" is not a valid key.`, 'Remove that key; the schemas are in src-shared/catalog.ts.');
  }
  return { file: rel, doc, lines, data };
}

/** The dotted path of the first own key named `key` in parsed YAML (iterative: nesting depth is the file's choice). */
function findKey(root: unknown, key: string): string | null {
  const stack: Array<[unknown, string]> = [[root, '']];
  for (let item = stack.pop(); item; item = stack.pop()) {
    const [v, path] = item;
    if (!v || typeof v !== 'object') continue;
    for (const [k, child] of Object.entries(v)) {
      const at = path ? `${path}.${k}` : k;
      if (k === key) return at;
      stack.push([child, at]);
    }
  }
  return null;
}

/** Formats zod issues with the YAML line each one points at. */
function schemaError(loaded: LoadedFile, err: ZodError): NexusError {
  const msgs = err.issues.slice(0, 5).map((issue) => {
    const path = issue.path.filter((p): p is string | number => typeof p !== 'symbol');
    let line: number | undefined;
    for (let n = path.length; n >= 0 && line === undefined; n--) {
      const node = path.length === 0 ? loaded.doc.contents : loaded.doc.getIn(path.slice(0, n), true);
      if (isNode(node) && node.range) line = loaded.lines.linePos(node.range[0]).line;
    }
    const where = path.length ? path.join('.') : '(top level)';
    return `${loaded.file}${line ? `:${line}` : ''}: ${where}: ${issue.message}`;
  });
  const more = err.issues.length > 5 ? ` (and ${err.issues.length - 5} more)` : '';
  return new NexusError(
    'CATALOG_INVALID',
    msgs.join('\n') + more,
    'Fix the field named above; the schemas are in src-shared/catalog.ts and profiles/README.md explains the files.',
  );
}

function validate<T>(loaded: LoadedFile, schema: ZodType<T>): T {
  const r = schema.safeParse(loaded.data);
  if (!r.success) throw schemaError(loaded, r.error);
  return r.data;
}

async function yamlFiles(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir))
      .filter((f) => f.endsWith('.yaml') || f.endsWith('.yml'))
      .sort()
      .map((f) => join(dir, f));
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return [];
    throw err;
  }
}

async function loadKind<T extends { name: string }>(root: string, sub: string, schema: ZodType<T>): Promise<Map<string, T>> {
  const out = new Map<string, T>();
  for (const file of await yamlFiles(join(root, sub))) {
    const loaded = await readYaml(file, root);
    const value = validate(loaded, schema);
    checkFileName(loaded.file, value.name);
    if (out.has(value.name)) throw new NexusError('CATALOG_DUPLICATE', `${loaded.file}: "${value.name}" is defined twice.`, 'Rename one of them.');
    out.set(value.name, value);
  }
  return out;
}

function checkFileName(file: string, name: string) {
  const stem = basename(file).replace(/\.ya?ml$/, '');
  if (stem !== name)
    throw new NexusError('CATALOG_INVALID', `${file}: the file is named "${stem}" but declares name "${name}".`, 'Make the file name match the name field.');
}

/** Resolves `extends` chains, root first, refusing cycles and unknown parents. */
export function inheritanceChain(name: string, raw: Map<string, Record<string, unknown>>): string[] {
  const chain: string[] = [];
  let current: string | undefined = name;
  while (current !== undefined) {
    if (chain.includes(current))
      throw new NexusError(
        'CATALOG_CYCLE',
        `Box inheritance has a cycle: ${[...chain, current].join(' → ')}.`,
        'Remove one of the "extends" lines so the chain ends.',
      );
    const box = raw.get(current);
    if (!box) {
      const child = chain.at(-1);
      throw new NexusError(
        'CATALOG_UNKNOWN_PARENT',
        `Box "${child}" extends "${current}", which does not exist.`,
        `${didYouMean(current, [...raw.keys()])}Check the "extends" line of profiles/boxes/${child}.yaml.`,
      );
    }
    chain.push(current);
    current = typeof box.extends === 'string' ? box.extends : undefined;
  }
  return chain.reverse();
}

export async function loadCatalog(dir: string = profilesDir()): Promise<Catalog> {
  const rawBoxes = new Map<string, Record<string, unknown>>();
  const loadedBoxes = new Map<string, LoadedFile>();
  for (const file of await yamlFiles(join(dir, 'boxes'))) {
    const loaded = await readYaml(file, dir);
    const head = validate(loaded, BoxFileSchema);
    checkFileName(loaded.file, head.name);
    if (!isRecord(loaded.data))
      throw new NexusError('CATALOG_INVALID', `${loaded.file}: a Box file must be a mapping of keys to values.`, 'Start from another file in profiles/boxes/.');
    rawBoxes.set(head.name, loaded.data);
    loadedBoxes.set(head.name, loaded);
  }
  if (rawBoxes.size === 0)
    throw new NexusError(
      'CATALOG_EMPTY',
      `No Box files found in ${join(dir, 'boxes')}.`,
      'Point NEXUS_APP_ROOT at the Nexus installation, or restore profiles/.',
    );

  const boxes = new Map<string, Box>();
  for (const [name, loaded] of loadedBoxes) {
    const chain = inheritanceChain(name, rawBoxes);
    // inheritanceChain has refused any name missing from rawBoxes.
    const merged = mergeLayers(
      chain.flatMap((n) => {
        const layer = rawBoxes.get(n);
        return layer ? [layer] : [];
      }),
    );
    const { extends: _parent, ...withoutExtends } = merged;
    const parsed = BoxSchema.safeParse({ ...withoutExtends, name, ...(chain.length > 1 ? { extends: chain.at(-2) } : {}) });
    if (!parsed.success) throw schemaError({ ...loaded, data: merged }, parsed.error);
    boxes.set(name, parsed.data);
  }

  const catalog: Catalog = {
    boxes,
    boards: await loadKind(dir, 'boards', BoardSchema),
    fragments: await loadKind(dir, 'fragments', FragmentSchema),
    feeds: await loadKind(dir, 'feeds', FeedSchema),
    releases: await loadKind(dir, 'releases', ReleaseSchema),
    rawBoxes,
  };
  checkReferences(catalog);
  return catalog;
}

/** Cross-file references: fragments that require unknown fragments, official Boxes naming unknown releases. */
function checkReferences(c: Catalog) {
  for (const f of c.fragments.values()) {
    for (const r of f.requires) {
      if (!c.fragments.has(r))
        throw new NexusError('CATALOG_INVALID', `fragments/${f.name}.yaml: requires unknown fragment "${r}".`, didYouMean(r, [...c.fragments.keys()]));
    }
  }
  for (const b of c.boxes.values()) {
    if (b.official && !c.releases.has(b.official.release))
      throw new NexusError(
        'CATALOG_INVALID',
        `boxes/${b.name}.yaml: official.release "${b.official.release}" is not in profiles/releases/.`,
        didYouMean(b.official.release, [...c.releases.keys()]),
      );
    for (const f of b.defaultFragments) {
      if (!c.fragments.has(f))
        throw new NexusError(
          'CATALOG_INVALID',
          `boxes/${b.name}.yaml: defaultFragments names unknown fragment "${f}".`,
          didYouMean(f, [...c.fragments.keys()]),
        );
    }
  }
}
