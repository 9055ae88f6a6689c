/**
 * Safe extraction of a package's data member into the in-memory FsManifest. File contents go to the
 * content-addressed blob store; nothing is ever written at a path taken from the archive. Refuses
 * `..`, absolute paths, symlinks climbing above the root, hard links to anything not already in the
 * manifest, writes through symlinked directories (an entry whose parent is, or passes through, a
 * symlink or file in the manifest), links or files replacing a directory that has entries under it
 * (so no entry can ever end up below a symlink, whatever the order of the archive or the `replaces`
 * rules), and device nodes. Path conflicts between
 * packages follow apk's rules (same origin or `replaces` → overwrite), else fail naming both.
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import tar from 'tar-stream';
import { NexusError } from '../../../src-shared/errors';
import { asBuffer } from '../byte-chunks';
import { paxOf } from './tar-read';
import { entryUnder, type FsEntry, type FsManifest } from '../rootfs/entries';
import type { FeedCache } from './cache';
import type { ApkHeader } from './package-file';

/** What the conflict rules need to know about each unpacked package. */
export interface OwnerInfo {
  name: string;
  origin: string;
  replaces: string[];
}

export interface UnpackState {
  manifest: FsManifest;
  owners: Map<string, OwnerInfo>;
  /** Paths overwritten or kept by the replaces rules (for the build log). */
  replaced: Array<{ path: string; winner: string; loser: string }>;
  /**
   * User/group *names* of entries not owned by root. apk maps these names through the target's
   * /etc/passwd and /etc/group (filled by the packages' user/group effects), not the builder's numeric
   * ids in the tar header, so the rootfs stage should re-map uid/gid with these after creating users.
   */
  ownerNames: Map<string, { user: string; group: string }>;
}

export function newUnpackState(manifest: FsManifest = new Map()): UnpackState {
  return { manifest, owners: new Map(), replaced: [], ownerNames: new Map() };
}

function unsafe(pkg: string, path: string, why: string): NexusError {
  return new NexusError(
    'UNSAFE_PATH',
    `Package ${pkg} contains "${path}": ${why}; refusing to unpack it.`,
    'The package is malformed or hostile; remove it from the Box or report it to the repository maintainers.',
  );
}

/** Archive member name → absolute normalized image path, or throws. */
export function safeImagePath(pkg: string, raw: string): string {
  if (raw.startsWith('/')) throw unsafe(pkg, raw, 'absolute paths are not allowed');
  const parts = raw.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) throw unsafe(pkg, raw, '".." components are not allowed');
  if (raw.includes('\0')) throw unsafe(pkg, raw, 'NUL bytes are not allowed');
  return '/' + parts.join('/');
}

/** A relative symlink target must stay inside the image root when resolved from the link's directory. */
function checkSymlink(pkg: string, path: string, target: string): void {
  if (target === '' || target.includes('\0')) throw unsafe(pkg, path, 'empty or invalid symlink target');
  if (target.startsWith('/')) return; // absolute targets resolve inside the image root by construction
  let depth = path.split('/').length - 2; // directories above the link, root = 0
  for (const part of target.split('/')) {
    if (part === '..') depth--;
    else if (part !== '.' && part !== '') depth++;
    if (depth < 0) throw unsafe(pkg, path, `symlink target "${target}" points outside the root`);
  }
}

function conflictWinner(state: UnpackState, existing: FsEntry, incoming: OwnerInfo): 'new' | 'old' | null {
  if (existing.owner === incoming.name) return 'new';
  const old = state.owners.get(existing.owner);
  if (!old) return null;
  if (old.origin && old.origin === incoming.origin) return 'new';
  if (incoming.replaces.includes(old.name)) return 'new';
  if (old.replaces.includes(incoming.name)) return 'old';
  return null;
}

function sameContent(a: FsEntry, b: FsEntry): boolean {
  if (a.type !== b.type || a.mode !== b.mode) return false;
  if (a.type === 'symlink') return a.linkTarget === b.linkTarget;
  if (a.type === 'file') return a.content?.kind === 'blob' && b.content?.kind === 'blob' && a.content.sha256 === b.content.sha256;
  return false;
}

function place(state: UnpackState, entry: FsEntry, owner: OwnerInfo): void {
  const m = state.manifest;
  // Parents must be directories (created implicitly when the package omits them), never symlinks.
  const parts = entry.path.split('/').slice(1, -1);
  let dir = '';
  for (const part of parts) {
    dir += '/' + part;
    const p = m.get(dir);
    if (!p) {
      m.set(dir, { path: dir, type: 'dir', mode: 0o755, uid: 0, gid: 0, mtime: entry.mtime, size: 0, owner: owner.name });
    } else if (p.type === 'symlink') {
      throw unsafe(
        owner.name,
        entry.path.slice(1),
        `its parent ${dir} is a symlink (→ ${p.linkTarget ?? ''}, installed by ${p.owner}); writing through a package's symlink is not allowed`,
      );
    } else if (p.type !== 'dir') {
      throw new NexusError(
        'FILE_CONFLICT',
        `Package ${owner.name} needs ${dir} to be a directory, but ${p.owner} installs a file there.`,
        'Remove one of the two packages from the Box.',
      );
    }
  }
  const existing = m.get(entry.path);
  if (!existing) {
    m.set(entry.path, entry);
    return;
  }
  if (existing.type === 'dir' && entry.type !== 'dir') {
    // A link or file over a directory that holds entries would put them under it: the image would then
    // be written through the link (a symlink to "/some/host/dir" made by the package), whoever wins the
    // conflict (same package, same origin or `replaces`).
    const under = entryUnder(m, entry.path);
    if (under) {
      const what = entry.type === 'symlink' ? `a symlink (→ ${entry.linkTarget ?? ''})` : `a ${entry.type === 'hardlink' ? 'hard link' : 'file'}`;
      throw unsafe(
        owner.name,
        entry.path.slice(1),
        `it would replace the directory ${entry.path} with ${what}, but ${under.path} (${under.owner === owner.name ? 'from the same package' : `from ${under.owner}`}) lives under it`,
      );
    }
  }
  if (existing.type === 'dir' && entry.type === 'dir') {
    // Later packages may tighten or change directory attributes, as apk applies them on install.
    m.set(entry.path, { ...entry, owner: existing.owner });
    return;
  }
  if (sameContent(existing, entry)) return;
  const winner = conflictWinner(state, existing, owner);
  if (winner === 'new') {
    if (existing.owner !== owner.name) state.replaced.push({ path: entry.path, winner: owner.name, loser: existing.owner });
    m.set(entry.path, entry);
  } else if (winner === 'old') {
    state.replaced.push({ path: entry.path, winner: existing.owner, loser: owner.name });
  } else {
    throw new NexusError(
      'FILE_CONFLICT',
      `Packages ${existing.owner} and ${owner.name} both install ${entry.path}.`,
      `Remove one of them from the Box; apk would refuse too unless one "replaces" the other.`,
    );
  }
}

/** Files up to this size are hashed in memory and written in the background, several at a time. */
const SMALL_FILE = 4 * 1024 * 1024;
const MAX_PENDING_WRITES = 32;

/** Background blob writes with a bound on how many are in flight; the first failure is rethrown by flush(). */
class BlobWrites {
  private pending = new Set<Promise<void>>();
  private error: unknown = null;

  async add(write: Promise<void>): Promise<void> {
    const p = write.catch((err) => void (this.error ??= err)).finally(() => this.pending.delete(p));
    this.pending.add(p);
    if (this.pending.size >= MAX_PENDING_WRITES) await Promise.race(this.pending);
    if (this.error) throw this.error;
  }

  async flush(): Promise<void> {
    await Promise.all(this.pending);
    if (this.error) throw this.error;
  }
}

interface StoredBlob {
  sha256: string;
  sha1: string;
  size: number;
  path: string;
}

async function storeBlob(cache: FeedCache, body: AsyncIterable<unknown>, declaredSize: number, writes: BlobWrites): Promise<StoredBlob> {
  const h256 = createHash('sha256');
  const h1 = createHash('sha1');
  if (declaredSize <= SMALL_FILE) {
    const chunks: Buffer[] = [];
    for await (const c of body) chunks.push(asBuffer(c));
    const [only, ...more] = chunks;
    const data = only && more.length === 0 ? only : Buffer.concat(chunks);
    const sha256 = h256.update(data).digest('hex');
    await writes.add(cache.putBlob(sha256, data));
    return { sha256, sha1: h1.update(data).digest('hex'), size: data.length, path: cache.blobPath(sha256) };
  }
  const tmp = await cache.tempPath('.blob');
  let size = 0;
  try {
    // Iterate explicitly: tar-stream entries are streamx streams, which node's pipeline does not drive reliably.
    await pipeline(async function* () {
      for await (const chunk of body) {
        const c = asBuffer(chunk);
        h256.update(c);
        h1.update(c);
        size += c.length;
        yield c;
      }
    }, createWriteStream(tmp));
    const sha256 = h256.digest('hex');
    const path = cache.blobPath(sha256);
    if (await cache.has(path)) await cache.discard(tmp);
    else await cache.promote(tmp, path);
    return { sha256, sha1: h1.digest('hex'), size, path };
  } catch (err) {
    await cache.discard(tmp);
    throw err;
  }
}

function xattrsOf(pax: Record<string, string> | null | undefined): Record<string, Uint8Array> | undefined {
  if (!pax) return undefined;
  let out: Record<string, Uint8Array> | undefined;
  for (const [k, v] of Object.entries(pax)) {
    if (k.startsWith('SCHILY.xattr.')) (out ??= {})[k.slice('SCHILY.xattr.'.length)] = Buffer.from(v, 'utf8'); // tar-stream decodes PAX values as UTF-8
  }
  return out;
}

/**
 * Unpacks the data member of an already header-checked package into `state`, verifying each file's
 * PAX checksum and the data member's sha256 against the signed datahash on the way.
 */
export async function unpackApk(
  path: string,
  header: ApkHeader,
  owner: OwnerInfo,
  state: UnpackState,
  cache: FeedCache,
  signal?: AbortSignal,
): Promise<{ files: number; bytes: number }> {
  state.owners.set(owner.name, owner);
  const raw = createReadStream(path, { start: header.dataOffset, highWaterMark: 256 * 1024 });
  const dataHash = createHash('sha256');
  raw.on('data', (c) => dataHash.update(asBuffer(c)));
  const extract = tar.extract();
  const gunzip = createGunzip();
  const feeding = signal ? pipeline(raw, gunzip, extract, { signal }) : pipeline(raw, gunzip, extract);
  // Awaited below; until then a cancellation must not surface as an unhandled rejection (it would end the process).
  feeding.catch(() => undefined);
  let files = 0;
  let bytes = 0;
  const pkg = owner.name;
  const writes = new BlobWrites();
  try {
    for await (const entry of extract) {
      const h = entry.header;
      const pax = paxOf(h);
      const name = h.name.replace(/\/+$/, '');
      if (name === '' || name === '.' || name === './') {
        entry.resume();
        continue;
      }
      const imagePath = safeImagePath(pkg, name);
      const base = { path: imagePath, mode: h.mode & 0o7777, uid: h.uid, gid: h.gid, mtime: Math.floor(h.mtime.getTime() / 1000), size: 0, owner: pkg };
      const xattrs = xattrsOf(pax);
      const expected = pax?.['APK-TOOLS.checksum.SHA1'];
      let fsEntry: FsEntry;
      switch (h.type) {
        case 'file':
        case 'contiguous-file': {
          const blob = await storeBlob(cache, entry, h.size, writes);
          if (expected && expected.toLowerCase() !== blob.sha1) {
            throw new NexusError(
              'FILE_CHECKSUM_MISMATCH',
              `Package ${pkg}: ${imagePath} does not match its APK-TOOLS.checksum.SHA1.`,
              'The package is damaged; delete it from the cache (nexus cache clean) and build again.',
            );
          }
          fsEntry = { ...base, type: 'file', size: blob.size, content: { kind: 'blob', sha256: blob.sha256, path: blob.path, sha1: blob.sha1 } };
          files++;
          bytes += blob.size;
          break;
        }
        case 'directory':
          entry.resume();
          fsEntry = { ...base, type: 'dir' };
          break;
        case 'symlink': {
          entry.resume();
          checkSymlink(pkg, imagePath, h.linkname);
          if (expected && expected.toLowerCase() !== createHash('sha1').update(h.linkname).digest('hex')) {
            throw new NexusError(
              'FILE_CHECKSUM_MISMATCH',
              `Package ${pkg}: symlink ${imagePath} does not match its APK-TOOLS.checksum.SHA1.`,
              'The package is damaged; delete it from the cache and build again.',
            );
          }
          fsEntry = { ...base, type: 'symlink', mode: 0o777, linkTarget: h.linkname };
          break;
        }
        case 'link': {
          entry.resume();
          let target: string;
          try {
            target = safeImagePath(pkg, h.linkname);
          } catch {
            throw unsafe(pkg, name, `hard link to "${h.linkname}" points outside the package root`);
          }
          const t = state.manifest.get(target);
          if (!t || t.type !== 'file') throw unsafe(pkg, name, `hard link target "${h.linkname}" is not a regular file unpacked before it`);
          fsEntry = { ...base, type: 'hardlink', linkTarget: target, size: t.size };
          break;
        }
        default:
          entry.resume();
          throw unsafe(pkg, name, `${h.type} entries (device nodes, FIFOs) are not allowed in packages`);
      }
      if (xattrs) fsEntry.xattrs = xattrs;
      place(state, fsEntry, owner);
      if ((h.uname && h.uname !== 'root') || (h.gname && h.gname !== 'root'))
        state.ownerNames.set(imagePath, { user: h.uname || 'root', group: h.gname || 'root' });
      else state.ownerNames.delete(imagePath);
    }
    await feeding;
    await writes.flush();
  } catch (err) {
    raw.destroy();
    extract.destroy();
    await feeding.catch(() => {});
    await writes.flush().catch(() => {});
    throw err;
  }
  const datahash = header.pkginfo.datahash;
  if (datahash && dataHash.digest('hex') !== datahash) {
    throw new NexusError(
      'DATAHASH_MISMATCH',
      `Package ${pkg}: the data member does not match the signed datahash.`,
      'The cached file is damaged; run `nexus cache clean` and build again.',
    );
  }
  return { files, bytes };
}
