/**
 * `depmod`, emulated: modules.dep, modules.alias and modules.softdep computed from the modules' own .modinfo
 * (`depends=`, `alias=`, `softdep=`), in kmod's formats. Alpine's busybox trigger runs `busybox depmod` for
 * /lib/modules/*; we compute the same over the modules that are really in the image (after pruning and
 * decompression), so the files always name what is there.
 */
import { modinfoValues as values, normalizeModule } from './kernel-modules';

export interface ModuleInfo {
  /** Path relative to the module directory ("kernel/fs/ext4/ext4.ko"). */
  rel: string;
  depends: string[];
  aliases: string[];
  /** Raw softdep= values ("pre: crc32c post: foo"). */
  softdeps: string[];
}

/** Reads the .modinfo strings of an uncompressed module. */
export function moduleInfo(rel: string, ko: Uint8Array): ModuleInfo {
  return {
    rel,
    depends: (values(ko, 'depends')[0] ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean)
      .map(normalizeModule),
    aliases: values(ko, 'alias'),
    softdeps: values(ko, 'softdep')
      .map((s) => s.trim())
      .filter(Boolean),
  };
}

const nameOf = (rel: string) =>
  normalizeModule(
    rel
      .split('/')
      .pop()!
      .replace(/\.ko(\.(gz|xz|zst))?$/, ''),
  );

export interface DepmodFiles {
  'modules.dep': string;
  'modules.alias': string;
  'modules.softdep': string;
  /** Dependencies named in .modinfo that no module provides (built in, or pruned). */
  unresolved: string[];
}

export function depmod(modules: ModuleInfo[]): DepmodFiles {
  const byName = new Map(modules.map((m) => [nameOf(m.rel), m]));
  const unresolved = new Set<string>();
  const sorted = [...modules].sort((a, b) => (a.rel < b.rel ? -1 : a.rel > b.rel ? 1 : 0));
  const dep = sorted.map((m) => {
    // kmod's order: loading from the end of the list works (the deepest dependency is last).
    const post: string[] = [];
    const seen = new Set<string>([nameOf(m.rel)]);
    const visit = (n: string) => {
      if (seen.has(n)) return;
      seen.add(n);
      const d = byName.get(n);
      if (!d) {
        unresolved.add(n);
        return;
      }
      for (const x of d.depends) visit(x);
      post.push(d.rel);
    };
    for (const x of m.depends) visit(x);
    return `${m.rel}:${post.length ? ' ' + post.reverse().join(' ') : ''}`;
  });
  const alias = sorted.flatMap((m) => m.aliases.map((a) => `alias ${a} ${nameOf(m.rel)}`));
  const softdep = sorted.flatMap((m) => m.softdeps.map((s) => `softdep ${nameOf(m.rel)} ${s}`));
  const text = (lines: string[], header: string) => [header, ...lines].join('\n') + '\n';
  return {
    'modules.dep': dep.join('\n') + (dep.length ? '\n' : ''),
    'modules.alias': text(alias, '# Aliases extracted from modules themselves.'),
    'modules.softdep': text(softdep, '# Soft dependencies extracted from modules themselves.'),
    unresolved: [...unresolved].sort(),
  };
}
