/** Reads small in-memory tars (signature, control and index members) with tar-stream. */
import tar from 'tar-stream';
import { NexusError } from '../../../src-shared/errors';
import { isRecord } from '../../../src-shared/narrow';
import { asBuffer } from '../byte-chunks';

export interface TarEntry {
  header: tar.Header;
  data: Buffer;
}

/** All entries of a (possibly "cut", EOF-less) tar held in memory. */
export function readTar(buf: Buffer, what: string): Promise<TarEntry[]> {
  return new Promise((resolve, rejectRaw) => {
    const reject = (err: Error) =>
      rejectRaw(
        err instanceof NexusError ? err : new NexusError('BAD_TAR', `${what}: ${err.message}.`, 'Delete the file and download it again.', { cause: err }),
      );
    const entries: TarEntry[] = [];
    const ex = tar.extract();
    ex.on('entry', (header, stream, next) => {
      const chunks: Buffer[] = [];
      stream.on('data', (c: unknown) => void chunks.push(asBuffer(c)));
      stream.on('end', () => {
        const [only, ...more] = chunks;
        entries.push({ header, data: only && more.length === 0 ? only : Buffer.concat(chunks) });
        next();
      });
      stream.on('error', reject);
    });
    ex.on('finish', () => resolve(entries));
    ex.on('error', reject);
    try {
      ex.end(buf);
    } catch (err) {
      reject(err instanceof Error ? err : new Error(String(err)));
    }
  });
}

/** A tar entry's PAX records, which tar-stream decodes (as UTF-8 strings) into an untyped `pax`; null when it has none. */
export function paxOf(header: { pax?: unknown }): Record<string, string> | null {
  if (!isRecord(header.pax)) return null;
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(header.pax)) if (typeof v === 'string') out[k] = v;
  return out;
}
