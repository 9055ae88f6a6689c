/**
 * The official-image recipe: take an operating system's own signed release image, verify it, and
 * deliver it with prepared installer answers. Used for openbox (OpenBSD); build.ts dispatches OfficialPlans here.
 *
 *   checksums  fetch SHA256.sig (mirror URL or local mirror directory), verify it with the shipped
 *              signify key (key number first, then Ed25519), parse the `SHA256 (file) = hex` list
 *   image      take the image from the content-addressed cache or fetch it; its SHA-256 must equal
 *              the signed list's line, else it is deleted and the build fails
 *   answers    generate the autoinstall(8) install.conf from the plan's customization
 *   output     copy the cached image to a partial name next to the output (re-hashing while copying), write
 *              .sha256, install.conf and manifest.json the same way, then publish all together (outputs.ts)
 *
 * Nothing that has not passed verification leaves a stage: the output image is always a byte-exact
 * copy of the file the OpenBSD project signed.
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { chmod, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { CancelledError, NexusError } from '../../../src-shared/errors';
import { errorMessage } from '../../../src-shared/narrow';
import { asBuffer } from '../byte-chunks';
import type { OfficialPlan } from '../../../src-shared/plan';
import type { BuildOptions, BuildOutputFile, BuildResult } from '../build-types';
import { resourcesDir } from '../paths';
import { Pipeline, type StageContext } from '../runner';
import { generateAutoinstall, type Autoinstall, type AutoinstallOptions } from './autoinstall';
import { download } from '../net/download';
import { isRemote, LOCAL_MIRROR_LAYOUT, mirrorPath } from './mirrors';
import { expectedSha256, parseChecksumList, parseEmbedded, parsePublicKey, verifySignature, type ChecksumEntry, type SignifyPublicKey } from './signify';
import { OfficialStore } from './store';
import { OutputSet } from '../outputs';

export { generateAutoinstall } from './autoinstall';
export { serveAnswers, lanAddresses } from './serve';
export { OfficialStore } from './store';
export * from './signify';

/** Largest image accepted (OpenBSD install images are under 1.5 GB). */
const MAX_IMAGE_BYTES = 8 * 1024 ** 3;
const MAX_LIST_BYTES = 4 * 1024 ** 2;

export interface OfficialBuildExtras {
  /** Cache root (default cacheDir()); tests use a temporary one. */
  cacheRoot?: string;
  autoinstall?: AutoinstallOptions;
}

interface ListState {
  entries: ChecksumEntry[];
  key: SignifyPublicKey;
  keyFile: string;
  listSha256: string;
  listSource: string;
  signatureComment: string;
  expected: string;
  warnings: string[];
}

interface ImageState extends ListState {
  size: number;
  imageSource: string;
  fromCache: boolean;
}

interface AnswersState extends ImageState {
  answers: Autoinstall;
}

export async function loadTrustedKey(plan: OfficialPlan, keysDir?: string): Promise<{ key: SignifyPublicKey; file: string }> {
  const o = plan.official;
  if (!o.signifyKey)
    throw new NexusError('TRUSTED_KEY_MISSING', `${o.release} ${o.version} names no signify key.`, 'Add signifyKey to the release in profiles/releases/.');
  const file = keysDir ? join(keysDir, basename(o.signifyKey)) : join(resourcesDir(), o.signifyKey);
  let text: Buffer;
  try {
    text = await readFile(file);
  } catch {
    throw new NexusError(
      'TRUSTED_KEY_MISSING',
      `The trusted key ${file} is missing.`,
      keysDir
        ? `Put ${basename(o.signifyKey)} into ${keysDir}, or drop --keys to use the shipped keys.`
        : 'Reinstall Nexus: the shipped OpenBSD keys live in resources/keys/openbsd/.',
    );
  }
  return { key: parsePublicKey(text), file };
}

function releaseMirrors(plan: OfficialPlan, options: BuildOptions): string[] {
  return options.mirror ? [options.mirror] : plan.official.mirrors;
}

/** Applies the verification chain to SHA256.sig bytes; returns the parsed, verified list. */
function verifyList(bytes: Buffer, key: SignifyPublicKey, what: string): { entries: ChecksumEntry[]; comment: string } {
  const { signature, message } = parseEmbedded(bytes);
  verifySignature(key, signature, message, what);
  return { entries: parseChecksumList(message), comment: signature.comment };
}

const severity = (e: unknown) => (e instanceof NexusError && /^(SIGNIFY|CHECKSUM)_/.test(e.code) ? 2 : 1);

function checksumsStage(plan: OfficialPlan, options: BuildOptions, store: OfficialStore) {
  const o = plan.official;
  return {
    id: 'official-checksums',
    title: `Verify ${o.checksumFile} (signify)`,
    async run(_: unknown, ctx: StageContext): Promise<ListState> {
      const { key, file: keyFile } = await loadTrustedKey(plan, options.keysDir);
      ctx.log('info', `trusted key ${keyFile}: ${key.comment} (keynum ${key.keynum})`);
      const warnings: string[] = [];
      const finish = (entries: ChecksumEntry[], listSha256: string, listSource: string, comment: string): ListState => {
        const expected = expectedSha256(entries, o.image);
        ctx.log('info', `${o.checksumFile} verified: ${entries.length} files listed, ${o.image} = ${expected}`);
        return { entries, key, keyFile, listSha256, listSource, signatureComment: comment, expected, warnings };
      };
      const fromCache = async (why: string): Promise<ListState | null> => {
        const ref = await store.getRef(o.os, o.version, o.arch);
        const bytes = ref ? await store.getBytes(ref.checksumFileSha256) : null;
        if (!ref || !bytes) return null;
        const { entries, comment } = verifyList(bytes, key, `the cached ${o.checksumFile}`);
        warnings.push(`${why}: using the ${o.checksumFile} cached from ${ref.source} (${ref.fetchedAt}), verified again with ${basename(keyFile)}.`);
        return finish(entries, ref.checksumFileSha256, ref.source, comment);
      };
      if (options.offline) {
        const cached = await fromCache('Offline');
        if (cached) return cached;
        throw new NexusError(
          'OFFLINE_MISSING',
          `Offline build, but the cache has no verified ${o.checksumFile} for ${o.os} ${o.version} ${o.arch}.`,
          'Build once with network access (or a local --mirror), or import a cache with "nexus cache import".',
        );
      }
      const errors: unknown[] = [];
      for (const mirror of releaseMirrors(plan, options)) {
        ctx.throwIfCancelled();
        const src = mirrorPath(mirror, o.version, o.arch, o.checksumFile);
        const tmp = await store.tempPath('.sig');
        try {
          await download(src, tmp, {
            signal: ctx.signal,
            maxBytes: MAX_LIST_BYTES,
            resume: false,
            retries: isRemote(mirror) ? 3 : 0,
            backoffMs: 300,
            localLayoutHint: LOCAL_MIRROR_LAYOUT,
            retryHint: 'Check the network connection or try another mirror (--mirror).',
          });
          const bytes = await readFile(tmp);
          const { entries, comment } = verifyList(bytes, key, `${o.checksumFile} from ${src}`);
          const listSha256 = await store.putBytes(bytes);
          await store.putRef({
            os: o.os,
            version: o.version,
            arch: o.arch,
            checksumFileSha256: listSha256,
            keynum: key.keynum,
            source: src,
            fetchedAt: new Date().toISOString(),
          });
          for (const e of errors) warnings.push(`Skipped a mirror: ${errorMessage(e)}`);
          return finish(entries, listSha256, src, comment);
        } catch (err) {
          if (err instanceof CancelledError || ctx.signal.aborted) throw err;
          ctx.log('warn', `${src}: ${errorMessage(err)}`);
          errors.push(err);
        } finally {
          await store.discard(tmp);
        }
      }
      const worst = [...errors].sort((a, b) => severity(b) - severity(a))[0];
      if (severity(worst) === 1) {
        const cached = await fromCache('No mirror answered');
        if (cached) return cached;
      }
      throw worst ?? new NexusError('NO_MIRROR', 'No mirror is configured for this release.', 'Pass --mirror.');
    },
  };
}

function imageStage(plan: OfficialPlan, options: BuildOptions, store: OfficialStore) {
  const o = plan.official;
  return {
    id: 'official-image',
    title: `Fetch ${o.image}`,
    async run(list: ListState, ctx: StageContext): Promise<ImageState> {
      if (await store.hasBlob(list.expected)) {
        ctx.progress({ message: 'checking the cached image' });
        if (await store.checkBlob(list.expected, ctx.signal)) {
          const size = (await stat(store.blobPath(list.expected))).size;
          ctx.log('info', `${o.image} is in the cache (${list.expected})`);
          return { ...list, size, imageSource: 'cache', fromCache: true };
        }
        ctx.log('warn', `the cached copy of ${o.image} was damaged and has been removed`);
      }
      if (options.offline)
        throw new NexusError(
          'OFFLINE_MISSING',
          `Offline build, but ${o.image} (${list.expected}) is not in the cache.`,
          'Build once with network access (or a local --mirror), or import a cache with "nexus cache import".',
        );
      const errors: unknown[] = [];
      const listMirror = releaseMirrors(plan, options).find((m) => list.listSource.startsWith(isRemote(m) ? m.replace(/\/+$/, '') : mirrorPath(m)));
      const mirrors = [...new Set([...(listMirror ? [listMirror] : []), ...releaseMirrors(plan, options)])];
      // Downloads go to a partial file named by the expected hash, so an interrupted download resumes
      // (HTTP Range, also across runs); the file enters blobs/ only after its SHA-256 matched.
      const partial = store.partialPath(list.expected);
      await store.lease(); // the download in progress is kept by `nexus cache clean`
      await mkdir(dirname(partial), { recursive: true });
      for (const mirror of mirrors) {
        ctx.throwIfCancelled();
        const src = mirrorPath(mirror, o.version, o.arch, o.image);
        try {
          let done = 0;
          await download(src, partial, {
            signal: ctx.signal,
            maxBytes: MAX_IMAGE_BYTES,
            retries: isRemote(mirror) ? 4 : 0,
            localLayoutHint: LOCAL_MIRROR_LAYOUT,
            onBytes: (delta) => ctx.progress({ bytesDone: (done += delta), message: `downloading ${o.image}` }),
          });
          ctx.progress({ message: `checking ${o.image} against the signed list` });
          const { sha256, size } = await hashFile(partial, ctx.signal);
          if (sha256 !== list.expected) {
            await store.discard(partial);
            throw new NexusError(
              'CHECKSUM_MISMATCH',
              `${o.image} from ${src} has SHA-256 ${sha256}, but the signed ${o.checksumFile} says ${list.expected}: the image was altered or damaged.`,
              'The file was deleted and nothing was written. Try another mirror.',
            );
          }
          await store.promoteBlob(partial, list.expected);
          for (const e of errors) list.warnings.push(`Skipped a mirror: ${errorMessage(e)}`);
          return { ...list, size, imageSource: src, fromCache: false };
        } catch (err) {
          if (err instanceof CancelledError || ctx.signal.aborted) throw err instanceof CancelledError ? err : new CancelledError();
          if (!(err instanceof NexusError && err.code === 'DOWNLOAD_FAILED')) await store.discard(partial);
          ctx.log('warn', `${src}: ${errorMessage(err)}`);
          errors.push(err);
        }
      }
      throw (
        [...errors].sort((a, b) => severity(b) - severity(a))[0] ?? new NexusError('NO_MIRROR', 'No mirror is configured for this release.', 'Pass --mirror.')
      );
    },
  };
}

function answersStage(plan: OfficialPlan, extras: OfficialBuildExtras) {
  return {
    id: 'official-answers',
    title: 'Prepare install.conf (autoinstall)',
    async run(state: ImageState, ctx: StageContext): Promise<AnswersState> {
      const answers = await generateAutoinstall(plan, extras.autoinstall ?? {});
      for (const w of answers.warnings) ctx.log('warn', w);
      return { ...state, answers };
    },
  };
}

async function hashFile(path: string, signal: AbortSignal): Promise<{ sha256: string; size: number }> {
  const h = createHash('sha256');
  let size = 0;
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20, signal })) {
    const bytes = asBuffer(chunk);
    h.update(bytes);
    size += bytes.length;
  }
  return { sha256: h.digest('hex'), size };
}

async function copyVerified(src: string, dest: string, expected: string, signal: AbortSignal, onBytes: (n: number) => void): Promise<void> {
  const h = createHash('sha256');
  let done = 0;
  await pipeline(
    createReadStream(src, { highWaterMark: 1 << 20 }),
    async function* (source: AsyncIterable<Buffer>) {
      for await (const chunk of source) {
        h.update(chunk);
        done += chunk.length;
        onBytes(done);
        yield chunk;
      }
    },
    createWriteStream(dest, { mode: 0o644 }),
    { signal },
  );
  const got = h.digest('hex');
  if (got !== expected)
    throw new NexusError(
      'CHECKSUM_MISMATCH',
      `The cached image changed while it was copied (SHA-256 ${got}, expected ${expected}).`,
      'Run the build again; the damaged cache entry is checked and replaced.',
    );
}

function outputStage(plan: OfficialPlan, options: BuildOptions, store: OfficialStore) {
  const o = plan.official;
  return {
    id: 'official-output',
    title: 'Write the verified image, checksum, answers and manifest',
    async run(state: AnswersState, ctx: StageContext): Promise<BuildResult> {
      const out = plan.outputs.image;
      await mkdir(dirname(out), { recursive: true });
      // Every output under a partial name, published together (image last) or not at all, as composed builds do.
      const outputs = new OutputSet(out, plan.outputs.manifest, { force: !!options.force });
      ctx.onCleanup(() => outputs.discard());
      const writeOutput = async (final: string, data: string, mode = 0o644) => {
        const tmp = await outputs.open(final);
        await writeFile(tmp, data, { mode });
        await chmod(tmp, mode);
      };

      const tmpImage = await outputs.open(out, { image: true });
      await copyVerified(store.blobPath(state.expected), tmpImage, state.expected, ctx.signal, (n) =>
        ctx.progress({ bytesDone: n, bytesTotal: state.size, message: 'copying the verified image' }),
      );

      const answersPath = plan.outputs.answers;
      const warnings = [...state.warnings, ...state.answers.warnings];
      if (options.bootTest) warnings.push('No boot test for official images: the OpenBSD installer runs on the board (or in a VM you start yourself).');
      if (options.compress?.length) warnings.push('Compressed copies are not made for official images (OpenBSD publishes them uncompressed).');
      if (options.lockFile) warnings.push('--lock does not apply to official images (the release is pinned by its signed checksum list).');

      const manifest = {
        schemaVersion: 1,
        kind: 'official-image',
        planHash: plan.planHash,
        box: plan.box,
        board: plan.board,
        arch: plan.arch,
        fragments: plan.fragments,
        official: {
          os: o.os,
          release: o.release,
          version: o.version,
          arch: o.arch,
          image: { file: o.image, sha256: state.expected, size: state.size, source: state.imageSource, fromCache: state.fromCache },
          checksumFile: {
            file: o.checksumFile,
            sha256: state.listSha256,
            source: state.listSource,
            signatureComment: state.signatureComment,
            entries: state.entries.length,
          },
          verification: {
            method: o.verification,
            key: { file: basename(state.keyFile), comment: state.key.comment, keynum: state.key.keynum, base64: state.key.base64 },
          },
        },
        answers: {
          file: basename(answersPath),
          sha256: createHash('sha256').update(state.answers.text).digest('hex'),
          delivery:
            'HTTP on the local network: "nexus serve-answers FILE", then answer the installer\'s "Response file location?" with the printed URL (see docs/openbox.md)',
        },
        packagesAfterInstall: state.answers.packagesAfterInstall,
        notes: [...plan.notes, ...o.notes],
        warnings: warnings.filter((w) => !w.includes('temporary password')),
      };

      const checksumPath = plan.outputs.checksum;
      await writeOutput(checksumPath, `${state.expected}  ${basename(out)}\n`);
      await writeOutput(answersPath, state.answers.text, 0o600);
      await writeOutput(plan.outputs.manifest, JSON.stringify(manifest, null, 2) + '\n');
      if (ctx.signal.aborted) throw new CancelledError();
      await outputs.commit();

      const files: BuildOutputFile[] = [];
      for (const [kind, path] of [
        ['image', out],
        ['checksum', checksumPath],
        ['answers', answersPath],
        ['manifest', plan.outputs.manifest],
      ] as const) {
        files.push({ kind, path, size: (await stat(path)).size });
      }
      for (const w of warnings.filter((x) => !state.answers.warnings.includes(x))) ctx.log('warn', w);
      return { plan, image: out, sha256: state.expected, size: state.size, files, packageCount: 0, warnings };
    },
  };
}

/** Builds an official-image plan: verified release image + install.conf + .sha256 + manifest. */
export async function buildOfficial(plan: OfficialPlan, options: BuildOptions = {}, extras: OfficialBuildExtras = {}): Promise<BuildResult> {
  const o = plan.official;
  if (o.verification !== 'signify') {
    throw new NexusError(
      'RECIPE_UNSUPPORTED',
      `${o.os} images are verified with "${o.verification}", which Nexus does not implement.`,
      'Only signify-verified releases (OpenBSD) are built; see docs/openbox.md for why DragonFly BSD is left out.',
    );
  }
  const store = new OfficialStore(extras.cacheRoot);
  const pipeline = Pipeline.start<unknown>()
    .then(checksumsStage(plan, options, store))
    .then(imageStage(plan, options, store))
    .then(answersStage(plan, extras))
    .then(outputStage(plan, options, store));
  return pipeline.run(undefined, { ...(options.signal ? { signal: options.signal } : {}), ...(options.onEvent ? { onEvent: options.onEvent } : {}) });
}
export { officialExportEntries, importOfficialEntries, isOfficialEntryName, type BundleEntry } from './bundle';
