/**
 * Output files of a build, written safely:
 *  - `checkOutputTargets`: before anything is built (and again just before publishing), every output path must be
 *    absent or a regular file. Directories, symlinks, device nodes, FIFOs and sockets are refused always; an
 *    existing regular file is replaced only when it belongs to a previous Nexus output (the manifest next to it names
 *    the image) or with `force`.
 *  - `OutputSet`: every output is written under a hidden ".partial" name in the same directory; `commit()` re-checks
 *    the targets and renames them all (the image last), rolling back the ones already renamed if a rename fails, so a
 *    build never leaves sidecars without their image. `discard()` removes the partial files.
 */
import { lstat, readFile, rename, rm, stat } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { basename, dirname, resolve } from 'node:path';
import { NexusError } from '../../src-shared/errors';

export interface OutputGuardOptions {
  /** Replace existing regular files even when they do not look like a previous Nexus output. */
  force?: boolean;
}

/** A hidden name next to `p`; `id` keeps two builds to the same output from sharing partial files. */
export function partialPath(p: string, id = ''): string {
  return `${dirname(p)}/.${basename(p)}${id ? `.${id}` : ''}.partial`;
}

async function lstatOrNull(p: string) {
  try {
    return await lstat(p);
  } catch (err) {
    if ((err as { code?: string }).code === 'ENOENT') return null;
    throw err;
  }
}

/** True when `manifestPath` is a regular file holding a Nexus manifest that names `image` (same directory). */
export async function isPreviousNexusOutput(image: string, manifestPath: string): Promise<boolean> {
  const st = await lstatOrNull(manifestPath);
  if (!st?.isFile() || st.size > 64 * 1024 * 1024) return false;
  try {
    const m = JSON.parse(await readFile(manifestPath, 'utf8')) as { nexus?: unknown; image?: { file?: unknown }; kind?: unknown; planHash?: unknown };
    // Composed images name their file; official images (official/index.ts) say what they are.
    if (m.kind === 'official-image' && typeof m.planHash === 'string') return true;
    return typeof m.nexus === 'object' && m.nexus !== null && m.image?.file === basename(image);
  } catch {
    return false;
  }
}

function kindOf(st: NonNullable<Awaited<ReturnType<typeof lstatOrNull>>>): string {
  if (st.isSymbolicLink()) return 'a symbolic link';
  if (st.isDirectory()) return 'a directory';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isFIFO()) return 'a FIFO (named pipe)';
  if (st.isSocket()) return 'a socket';
  return 'not a regular file';
}

/**
 * Refuses output paths that must not be written (see the module comment). `image` is the main output; `manifest`
 * the manifest path used to recognise a previous Nexus output; `targets` every path that will be written.
 */
export async function checkOutputTargets(image: string, manifest: string | null, targets: string[], o: OutputGuardOptions = {}): Promise<void> {
  const dir = dirname(resolve(image));
  const d = await stat(dir).catch(() => null);
  if (d && !d.isDirectory()) {
    throw new NexusError(
      'OUTPUT_NOT_REGULAR',
      `The output directory ${dir} is not a directory.`,
      'Choose an --output path inside an existing or new directory.',
    );
  }
  let previous: boolean | undefined;
  for (const t of [image, ...targets.filter((x) => x !== image)]) {
    const st = await lstatOrNull(t);
    if (!st) continue;
    if (st.isDirectory() && !st.isSymbolicLink()) {
      throw new NexusError(
        'OUTPUT_IS_DIRECTORY',
        `The output ${t} is a directory; nothing was written.`,
        t === image
          ? `Give --output a file name, for example --output=${t.replace(/\/+$/, '')}/image.img`
          : 'Move the directory away or choose another --output.',
      );
    }
    if (!st.isFile()) {
      throw new NexusError(
        'OUTPUT_NOT_REGULAR',
        `Refusing to overwrite ${t}: it is ${kindOf(st)}; nothing was written.`,
        'Nexus writes images only to regular files. To write an image to a drive, build to a file and use "nexus flash IMAGE --drive DEV".',
      );
    }
    if (o.force) continue;
    previous ??= manifest !== null && (await isPreviousNexusOutput(image, manifest));
    if (!previous) {
      throw new NexusError(
        'OUTPUT_EXISTS',
        `${t} already exists and is not a previous Nexus output; nothing was written.`,
        'Choose another --output, remove the file, or pass --force to replace it.',
      );
    }
  }
}

/** A set of output files written under partial names and published together. */
export class OutputSet {
  private readonly pairs: Array<{ partial: string; final: string; image: boolean; sealed?: boolean }> = [];
  private committed = false;
  private readonly id = randomBytes(4).toString('hex');

  constructor(
    readonly image: string,
    readonly manifest: string | null,
    readonly o: OutputGuardOptions = {},
  ) {}

  /** Registers `final` as an output and returns the partial path to write it to. */
  add(final: string, opts: { image?: boolean } = {}): string {
    const existing = this.pairs.find((p) => p.final === final);
    if (existing) return existing.partial;
    const partial = partialPath(final, this.id);
    this.pairs.push({ partial, final, image: !!opts.image });
    return partial;
  }

  /** `add`, and removes whatever stale file (or planted symlink) sits at the partial name before it is written. */
  async open(final: string, opts: { image?: boolean } = {}): Promise<string> {
    const partial = this.add(final, opts);
    await rm(partial, { force: true, recursive: true });
    return partial;
  }

  /** Where the bytes of `final` are now (its partial name until committed). */
  current(final: string): string {
    return this.committed ? final : (this.pairs.find((p) => p.final === final)?.partial ?? final);
  }

  get finals(): string[] {
    return this.pairs.map((p) => p.final);
  }

  async check(): Promise<void> {
    await checkOutputTargets(this.image, this.manifest, this.finals, this.o);
  }

  /**
   * Marks every output registered so far as complete and self-consistent (the image and its sidecars after the pack
   * stage): `commitSealed` publishes them even when a later stage (compression, boot test) fails or is cancelled.
   */
  seal(): void {
    for (const p of this.pairs) p.sealed = true;
  }

  /** After a later stage failed: publishes the sealed outputs (all or none) and removes every other partial. */
  async commitSealed(): Promise<void> {
    const sealed = this.pairs.filter((p) => p.sealed);
    await Promise.all(this.pairs.filter((p) => !p.sealed).map((p) => rm(p.partial, { force: true })));
    if (sealed.length) await this.commit(sealed);
  }

  /** Re-checks the targets, then renames every registered partial into place (images last); all or none. */
  async commit(pairs = this.pairs): Promise<void> {
    await checkOutputTargets(
      this.image,
      this.manifest,
      pairs.map((p) => p.final),
      this.o,
    );
    const order = [...pairs.filter((p) => !p.image), ...pairs.filter((p) => p.image)];
    const done: string[] = [];
    try {
      for (const p of order) {
        await rename(p.partial, p.final);
        done.push(p.final);
      }
    } catch (err) {
      // Roll back: no sidecar may stay without its image.
      await Promise.all(done.map((f) => rm(f, { force: true })));
      await this.discard();
      throw err;
    }
    this.committed = true;
  }

  async discard(): Promise<void> {
    await Promise.all(this.pairs.map((p) => rm(p.partial, { force: true })));
  }
}
