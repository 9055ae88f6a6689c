/**
 * An image from a URL with its published SHA-256: downloaded (resumable, with retries) into a staging folder
 * named by the checksum, then hashed; only a file whose SHA-256 matches gets its final name. The wizard then
 * writes it like any local file, so its size is known and too-small cards are refused before the confirmation
 * (streaming the URL straight onto the card can only find that out while writing).
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { CancelledError, NexusError } from '../../../src-shared/errors';
import { IMAGE_FILE_NAME } from '../../../src-shared/safety';
import { download } from '../net/download';

export interface FetchImageOptions {
  signal?: AbortSignal;
  /** Downloaded bytes so far (and the announced total when the server sent one: unknown here, 0). */
  onBytes?: (done: number) => void;
  maxBytes?: number;
}

async function sha256File(path: string, signal?: AbortSignal): Promise<string> {
  const h = createHash('sha256');
  for await (const c of createReadStream(path, { highWaterMark: 1 << 20, ...(signal ? { signal } : {}) })) h.update(c as Buffer);
  return h.digest('hex');
}

/** Downloads URL into DIR/<sha256>/<name> (reused when already there and intact); returns the path. */
export async function fetchImage(url: string, sha256: string, dir: string, o: FetchImageOptions = {}): Promise<string> {
  if (!/^https?:\/\//i.test(url)) throw new NexusError('BAD_URL', `${url} is not an http:// or https:// address.`, 'Paste the full address of the image.');
  const expected = sha256.toLowerCase();
  if (!/^[0-9a-f]{64}$/.test(expected))
    throw new NexusError('CHECKSUM_REQUIRED', 'A download needs its SHA-256 checksum (64 hex digits).', 'Copy it from the page you got the link from.');
  const name = decodeURIComponent(basename(new URL(url).pathname)) || 'image.img';
  if (!IMAGE_FILE_NAME.test(name) || /[/\\\0]/.test(name) || name.startsWith('.')) {
    throw new NexusError('NOT_AN_IMAGE', `${name} does not look like a disk image.`, 'Give the address of a .img, .iso, .raw, .xz, .gz, .zst or .zip file.');
  }
  const folder = join(dir, expected);
  const final = join(folder, name);
  if (
    await stat(final).then(
      (s) => s.isFile(),
      () => false,
    )
  ) {
    if ((await sha256File(final, o.signal)) === expected) return final;
    await rm(final, { force: true });
  }
  await mkdir(folder, { recursive: true, mode: 0o700 });
  const partial = `${final}.partial`;
  let done = 0;
  await download(url, partial, {
    ...(o.signal ? { signal: o.signal } : {}),
    maxBytes: o.maxBytes ?? 64 * 1024 ** 3,
    onBytes: (n) => o.onBytes?.((done += n)),
    retryHint: 'Check the address and the network connection; the part already downloaded is kept for the next try.',
  });
  const got = await sha256File(partial, o.signal).catch((e) => {
    throw o.signal?.aborted ? new CancelledError() : e;
  });
  if (got !== expected) {
    await rm(partial, { force: true });
    throw new NexusError(
      'SOURCE_CHECKSUM_MISMATCH',
      `The download of ${name} has SHA-256 ${got}, expected ${expected}.`,
      'The file changed on the server or was damaged in transit; check the published checksum and retry.',
    );
  }
  await rename(partial, final);
  return final;
}
