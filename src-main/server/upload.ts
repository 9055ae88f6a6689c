/**
 * `POST /upload?name=FILE.img.xz`: a browser hands `nexus serve` an image from the computer it runs on (a file
 * picker or a drop), streamed into the server's staging folder, then written like any image there.
 *
 * Why an upload and not a file browser over the server's disk: a browser rooted at the home directory would
 * list the user's files to anyone holding the token (and must follow no link out of it); an upload only ever
 * receives what the user picked. Guards: the token cookie, our own Origin and Host (as the WebSocket), a
 * declared Content-Length within the cap and the free space, an image name, a fresh folder per upload (no
 * name is ever reused or replaced), bytes counted against the declared length, and the partial file removed
 * on any failure or abort.
 */
import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, rename, rm, statfs } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { IMAGE_FILE_NAME } from '../../src-shared/safety';

export interface UploadOptions {
  dir: string;
  /** Largest accepted upload in bytes. */
  maxBytes: number;
}

export const DEFAULT_MAX_UPLOAD = 64 * 1024 ** 3;
const NAME = /^[^/\\\0]{1,200}$/;

function reply(res: ServerResponse, status: number, body: unknown, headers: Record<string, string>): void {
  if (res.headersSent) return void res.destroy();
  res.writeHead(status, { ...headers, 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store' });
  res.end(JSON.stringify(body));
}

const refuse = (res: ServerResponse, status: number, code: string, message: string, hint: string, headers: Record<string, string>) =>
  reply(res, status, { ok: false, error: { code, message, hint } }, headers);

export async function handleUpload(req: IncomingMessage, res: ServerResponse, url: URL, o: UploadOptions, headers: Record<string, string>): Promise<void> {
  const name = url.searchParams.get('name') ?? '';
  if (!NAME.test(name) || name.startsWith('.') || !IMAGE_FILE_NAME.test(name)) {
    return refuse(
      res,
      400,
      'NOT_AN_IMAGE',
      `${name.slice(0, 80) || 'The file'} does not look like a disk image.`,
      'Choose a .img, .iso, .raw, .xz, .gz, .zst or .zip file.',
      headers,
    );
  }
  const declared = Number(req.headers['content-length']);
  if (!Number.isSafeInteger(declared) || declared <= 0 || req.headers['transfer-encoding']) {
    return refuse(res, 411, 'UPLOAD_LENGTH_REQUIRED', 'The upload did not say its size.', 'Reload the page and pick the file again.', headers);
  }
  if (declared > o.maxBytes) {
    return refuse(
      res,
      413,
      'UPLOAD_TOO_LARGE',
      `${name} is larger than the ${Math.round(o.maxBytes / 1024 ** 3)} GiB an upload may be.`,
      'Copy the image to the computer running Nexus Imager and type its path instead.',
      headers,
    );
  }
  await mkdir(o.dir, { recursive: true, mode: 0o700 });
  const fs = await statfs(o.dir);
  if (declared > fs.bavail * fs.bsize) {
    return refuse(
      res,
      507,
      'UPLOAD_NO_SPACE',
      `There is not enough free space for ${name} in ${o.dir}.`,
      'Free some space, or type the path of the image instead.',
      headers,
    );
  }
  const folder = await mkdtemp(join(o.dir, 'up-'));
  const partial = join(folder, `${name}.partial`);
  let seen = 0;
  const count = new Transform({
    transform(chunk: Buffer, _enc, done) {
      seen += chunk.length;
      done(seen > declared ? new Error('more bytes than declared') : null, chunk);
    },
  });
  try {
    await pipeline(req, count, createWriteStream(partial, { flags: 'wx', mode: 0o600 }));
    if (seen !== declared) throw new Error(`${seen} of ${declared} bytes arrived`);
    const path = join(folder, name);
    await rename(partial, path);
    reply(res, 200, { ok: true, value: { path, size: seen } }, headers);
  } catch (err) {
    await rm(folder, { recursive: true, force: true });
    refuse(res, 400, 'UPLOAD_FAILED', `The upload of ${name} did not complete: ${(err as Error).message}.`, 'Pick the file again.', headers);
  }
}
