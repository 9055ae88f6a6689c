/**
 * Reads every entry of a (multi-member) .tar.gz — Alpine minirootfs tarballs and .apk files alike (an .apk is
 * signature + control + data tar streams concatenated, the first two without end-of-archive blocks).
 */
import { readFile } from 'node:fs/promises';
import { gunzipSync } from 'node:zlib';
import { extract } from 'tar-stream';

export interface TarEntry {
  name: string;
  type: string;
  linkname?: string;
  mode: number;
  uid: number;
  gid: number;
  /** Seconds since the epoch, from the header. */
  mtime: number;
  data: Buffer;
}

export async function tarEntries(file: string): Promise<TarEntry[]> {
  const raw = gunzipSync(await readFile(file));
  const out: TarEntry[] = [];
  // Split at end-of-archive-less boundaries by parsing with tar-stream repeatedly is unnecessary: tar-stream reads
  // concatenated archives when they carry no zero blocks between them, which is how apk writes them.
  const ex = extract();
  const done = new Promise<void>((resolve, reject) => {
    ex.on('entry', (h, stream, next) => {
      const chunks: Buffer[] = [];
      stream.on('data', (c: unknown) => chunks.push(c as Buffer));
      stream.on('end', () => {
        out.push({
          name: h.name.replace(/^\.\//, ''),
          type: h.type ?? 'file',
          ...(h.linkname ? { linkname: h.linkname } : {}),
          mode: h.mode ?? 0,
          uid: h.uid ?? 0,
          gid: h.gid ?? 0,
          mtime: Math.floor((h.mtime?.getTime() ?? 0) / 1000),
          data: Buffer.concat(chunks),
        });
        next();
      });
      stream.on('error', reject);
    });
    ex.on('finish', () => resolve());
    ex.on('error', reject);
  });
  ex.end(raw);
  await done;
  return out;
}
